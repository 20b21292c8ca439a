"""Reading one answer: the tools every provider's outcome table is written with.

`AnswerReader` turns an answer into a `Verdict` (an outcome, the generated model, the rule's
source) or a typed error carrying the answer's facts; operator outcome rules apply where no
documented rule does (`by_operator_rule`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .._errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    TokenCancelError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from .._result import CancelOutcome
from .._rules import OutcomeRules, RuleOutcome
from .._transport import NOT_JSON, Answer

__all__ = [
    "AnswerReader",
    "PreparedCancel",
    "Verdict",
    "flatten_messages",
    "header_seconds",
    "text_or_none",
    "with_detail",
]

ParsedT = TypeVar("ParsedT")

_TOO_MANY_REQUESTS = 429
_SERVICE_UNAVAILABLE = 503
_OK = 200
_MAX_MESSAGE_DEPTH = 4


class _Provider(Protocol):
    """What reading an answer needs of its provider (a `ProviderAdapter`)."""

    @property
    def name(self) -> str:
        """The provider's name."""
        ...

    @property
    def display_name(self) -> str:
        """The name as people write it."""
        ...

    @property
    def provider(self) -> str:
        """The name as errors and results carry it."""
        ...


@attrs.frozen
class PreparedCancel:
    """One cancel, checked and ready to send as many times as retries need.

    Attributes:
        provider: The provider's name.
        token_id: The token, as the caller gave it.
        request_id: The id the provider knows this cancel by (KBank's `partnerTxnUid`).
        fields: The provider's other per-token values, checked (KBank's `reference1`).
    """

    provider: str
    token_id: str
    request_id: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Verdict(Generic[ParsedT]):
    """A non-refusal outcome: the provider's own word for it, the model, and the rule's source."""

    outcome: CancelOutcome
    provider_status: str | None
    parsed: ParsedT | None
    parse_error: str | None
    rule_source: str
    accepted: bool = False  # the provider took this request (not: it reported an earlier state)


# -- reading answers --------------------------------------------------------------------------


@attrs.frozen
class AnswerReader:
    """One answer to one prepared cancel, and the ways to turn it into a verdict or an error."""

    adapter: _Provider
    answer: Answer
    prepared: PreparedCancel
    rules: OutcomeRules = attrs.field(factory=OutcomeRules)

    @property
    def body(self) -> dict[str, Any] | None:
        """The answer's JSON object, or None."""
        return self.answer.json_object

    def fail(
        self,
        error_type: type[TokenCancelError],
        message: str,
        *,
        code: str | None = None,
        source: str | None = None,
    ) -> TokenCancelError:
        """An error of `error_type` carrying this answer's facts and the rule's source."""
        return error_type(
            message,
            provider=self.adapter.provider,
            http_status=self.answer.status,
            error_code=code,
            raw_body=self.answer.body,
            request_id=self.prepared.request_id,
            rule_source=source,
        )

    def rate_limited(
        self,
        message: str,
        *,
        code: str | None,
        reset_after: float | None,
        source: str | None = None,
    ) -> RateLimitedError:
        """A rate-limit error with the provider's requested wait, if any."""
        return RateLimitedError(
            message,
            reset_after=reset_after,
            provider=self.adapter.provider,
            http_status=self.answer.status,
            error_code=code,
            raw_body=self.answer.body,
            request_id=self.prepared.request_id,
            rule_source=source,
        )

    def by_operator_rule(
        self,
        code: str | None,
        text: str,
        model: Callable[[dict[str, Any]], ParsedT],
        *,
        provider_status: str | None = None,
        ambiguous_not_found: str | None = None,
    ) -> Verdict[ParsedT]:
        """Apply the operator's rule for `code` (and `text`), or report the code unrecognised.

        Called where the built-in table has no documented rule for an answer; never returns a
        final outcome without a rule that says so. `ambiguous_not_found` names what else a
        provider's "not found" can mean (KBank: a wrong reference1); such a `NotFoundError` is
        `ambiguous` and not final.
        """
        rule = self.rules.lookup(self.adapter.name, code, text)
        if rule is None:
            raise self.fail(
                UnrecognizedAnswerError,
                with_detail(
                    f"unrecognised answer: no documented rule or outcome rule explains code "
                    f"{code!r}, so the token's state is unknown",
                    text,
                ),
                code=code,
            )
        detail = text or None
        outcome = rule.outcome
        status = provider_status or code
        if outcome is RuleOutcome.ALREADY_INACTIVE:
            return self.verdict(CancelOutcome.ALREADY_INACTIVE, status, model, source=rule.source)
        if outcome is RuleOutcome.CANCELLATION_PENDING:
            return self.verdict(
                CancelOutcome.CANCELLATION_PENDING, status, model, source=rule.source
            )
        if outcome is RuleOutcome.RATE_LIMITED:
            raise self.rate_limited(
                with_detail("rate limited", detail), code=code, reset_after=None, source=rule.source
            )
        error_type, summary = _RULE_ERRORS[outcome]
        ambiguous = error_type is NotFoundError and ambiguous_not_found is not None
        if ambiguous:
            summary = f"{summary} ({ambiguous_not_found})"
        error = self.fail(error_type, with_detail(summary, detail), code=code, source=rule.source)
        if isinstance(error, NotFoundError):
            # The provider answers a wrong reference the same way: the token may still be active.
            error.ambiguous = ambiguous
        raise error

    def unexpected(self, why: str) -> TokenCancelError:
        """An UnexpectedResponseError: the outcome of this answer is unknown."""
        return self.fail(UnexpectedResponseError, f"unexpected answer: {why}")

    def verdict(
        self,
        outcome: CancelOutcome,
        provider_status: str | None,
        model: Callable[[dict[str, Any]], ParsedT],
        *,
        source: str,
        accepted: bool = False,
    ) -> Verdict[ParsedT]:
        """The verdict `outcome`, with the body parsed by the generated `model` if it fits.

        The outcome was decided from the fields the rule reads; a field around them that the
        generated model cannot take (a `created` of null, say) does not change it: the problem
        is kept as `parse_error` instead.
        """
        parsed: ParsedT | None = None
        parse_error: str | None = None
        body = self.body
        if body is None:
            parse_error = "the body is not a JSON object"
        else:
            try:
                parsed = model(body)
            except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
                parse_error = f"{type(exc).__name__} while building the generated model"
        return Verdict(outcome, provider_status, parsed, parse_error, source, accepted)

    def describe_body(self) -> str:
        """A short description of a body the rules do not read: empty, not JSON, or odd."""
        data = self.answer.decoded
        if data is NOT_JSON:
            if not self.answer.body.strip():
                return "an empty body"
            content_type = self.answer.headers.get("content-type", "no content type")
            return f"a body that is not JSON ({content_type}, {len(self.answer.body)} bytes)"
        return f"a JSON {type(data).__name__} the spec does not describe"

    def body_of_ok_answer(self) -> dict[str, Any]:
        """The JSON object of an answer from a provider that answers everything with HTTP 200.

        Past the 429 and 503 met outside the docs, any other status, or a body that is not a
        JSON object, is an unexpected answer.
        """
        self.raise_for_common_statuses()
        if self.answer.status != _OK:
            raise self.unexpected(
                f"an HTTP status {self.adapter.display_name} does not send (it answers 200); "
                "check the base URL"
            )
        data = self.body
        if data is None:
            raise self.unexpected(self.describe_body())
        return data

    def raise_for_common_statuses(self) -> None:
        """Map the statuses any provider may send outside its docs: 429 and 503."""
        if self.answer.status == _TOO_MANY_REQUESTS:
            data = self.body
            error = data.get("error") if data else None
            code = text_or_none(error.get("code")) if isinstance(error, dict) else None
            detail = (
                "; ".join(flatten_messages(error.get("messages")))
                if isinstance(error, dict)
                else ""
            )
            raise self.rate_limited(
                with_detail("rate limited", detail),
                code=code,
                reset_after=header_seconds(self.answer.headers.get("retry-after")),
            )
        if self.answer.status == _SERVICE_UNAVAILABLE:
            raise self.fail(
                ProviderServerError, f"{self.adapter.display_name} is temporarily unavailable"
            )


_RULE_ERRORS: dict[RuleOutcome, tuple[type[TokenCancelError], str]] = {
    RuleOutcome.NOT_FOUND: (NotFoundError, "token not found"),
    RuleOutcome.AUTHENTICATION_FAILED: (AuthenticationError, "authentication failed"),
    RuleOutcome.PERMISSION_DENIED: (PermissionDeniedError, "permission denied"),
    RuleOutcome.INVALID_REQUEST: (ProviderInvalidRequestError, "invalid request"),
    RuleOutcome.SERVER_ERROR: (ProviderServerError, "provider error"),
}


def text_or_none(value: object) -> str | None:
    """`value` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def flatten_messages(value: object, *, depth: int = 0) -> list[str]:
    """Collect the strings in a `messages` value: a list, an object of lists, or a string."""
    if depth > _MAX_MESSAGE_DEPTH:  # deeper nesting than any documented shape carries no text
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in flatten_messages(item, depth=depth + 1)]
    if isinstance(value, Mapping):
        found: list[str] = []
        for key, item in value.items():
            found.extend(f"{key}: {text}" for text in flatten_messages(item, depth=depth + 1))
        return found
    return []


def header_seconds(value: str | None) -> float | None:
    """Parse a header of (possibly fractional) seconds; None when absent or nonsense."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def with_detail(summary: str, detail: str | None) -> str:
    """`summary: detail`, or the summary alone."""
    return f"{summary}: {detail}" if detail else summary
