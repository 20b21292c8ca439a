"""The normalised outcome of a cancellation, the same shape for every provider."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Generic, TypeVar

import attrs

__all__ = ["CancelOutcome", "CancelResult", "ParsedT_co"]

ParsedT_co = TypeVar("ParsedT_co", covariant=True)
"""The generated model a provider's successful answer parses into."""


class CancelOutcome(StrEnum):
    """What became of the token, normalised across providers.

    - CANCELLED: the provider says the token is now cancelled (KBank `CANCELLED`, Xendit
      `CANCELED`).
    - CANCELLATION_PENDING: the provider accepted the cancellation and finishes it later
      (Solidgate `processing`, or Solidgate's "cancellation already processing").
    - ALREADY_INACTIVE: the token could not be used any more before this call (already
      cancelled, expired or failed). For a caller who wants the token dead, this is success too.
    """

    CANCELLED = "cancelled"
    CANCELLATION_PENDING = "cancellation_pending"
    ALREADY_INACTIVE = "already_inactive"


@attrs.frozen
class CancelResult(Generic[ParsedT_co]):
    """A cancellation the provider answered without refusing it.

    Attributes:
        provider: Where the token lives (a `Provider` for the built-in providers).
        token_id: The token the caller asked to cancel.
        outcome: The normalised outcome.
        http_status: The HTTP status of the provider's answer.
        provider_status: The provider's own word for the outcome: KBank's token status (or error
            code), Solidgate's status (or error message), Xendit's token status (or error code).
        parsed: The provider's answer as the generated model, or None when the answer decided
            the outcome but a field around it did not fit the model (see `parse_error`).
        raw_body: The provider's answer as received (secrets it echoed are redacted).
        attempts: How many requests it took (1 without retries).
        request_id: KBank's `partnerTxnUid` for this cancellation, else None.
        parse_error: Why the generated model could not be built, when it could not.
        rule_source: Where the rule that decided the outcome comes from (a provider's doc, or an
            operator's outcome rule), as listed in docs/providers.md.
    """

    provider: str
    token_id: str
    outcome: CancelOutcome
    http_status: int
    provider_status: str | None
    parsed: ParsedT_co | None = attrs.field(repr=False)
    raw_body: bytes = attrs.field(repr=False)
    attempts: int = 1
    request_id: str | None = None
    parse_error: str | None = None
    rule_source: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary: the normalised fields and the provider's decoded answer."""
        try:
            response: Any = json.loads(self.raw_body)
        except ValueError:  # results are only built from JSON answers; keep the summary total
            response = None
        return {
            "provider": str(self.provider),
            "token_id": self.token_id,
            "outcome": self.outcome.value,
            "http_status": self.http_status,
            "provider_status": self.provider_status,
            "attempts": self.attempts,
            "request_id": self.request_id,
            "parse_error": self.parse_error,
            "rule_source": self.rule_source,
            "response": response,
        }
