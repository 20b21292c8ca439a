"""The sandbox's own conventions: codes and texts it answers with that no provider published.

KBank publishes no error-code table for K PLUS: the only code in its docs is `KP9999` ("kbank
internal error"), and its sibling QR API uses lower-case codes (`authentication_error`,
`duplicate_request`, `internal_error`). Solidgate's API reference lists the cases of a `2.01`
answer to Revoke token (token not found, unsupported method, token already cancelled,
cancellation already processing, cancellation already concurrently processing) but gives one
message verbatim: `recurring token was not found`.

Where the sandbox must say more than the providers published, it says it with the names below.
They are the sandbox's invention, not the providers' vocabulary: a client that hard-codes them
works against the sandbox and nowhere else. `outcome-rules.toml`, shipped beside this module
(`OUTCOME_RULES_PATH`, exported to clients as `TOKENCANCEL_OUTCOME_RULES`), tells a client what
each one means; the sandbox's tests check that the file and `CONVENTIONS` agree.

This module imports nothing outside the standard library: the CLI and the pytest plugin read it
before they know whether the sandbox's optional dependencies are installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONVENTIONS",
    "OUTCOMES",
    "OUTCOME_RULES_PATH",
    "PROVIDER_TEXTS",
    "Convention",
]

#: The outcome-rules file: what the sandbox's own codes and texts mean, for the client.
OUTCOME_RULES_PATH = Path(__file__).resolve().with_name("outcome-rules.toml")

#: The outcomes a rule may name (the client's vocabulary of meanings).
OUTCOMES = (
    "already_inactive",
    "cancellation_pending",
    "not_found",
    "authentication_failed",
    "permission_denied",
    "invalid_request",
    "server_error",
    "rate_limited",
)

# -- KBank: `errorCode` values, with `statusCode` "10" --------------------------------------------

# (Ruff's S105 reads "TOKEN" in a name as a credential: these are error codes.)
KBANK_TOKEN_ALREADY_CANCELLED = "TOKEN_ALREADY_CANCELLED"  # noqa: S105
KBANK_TOKEN_NOT_FOUND = "TOKEN_NOT_FOUND"  # noqa: S105
KBANK_AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
KBANK_INVALID_REQUEST = "INVALID_REQUEST"
KBANK_TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
#: KBank's own token status for a token no cancel has touched: KBank's answers only ever report
#: `CANCELLED` (and Inquiry Token reports a payment status), so `ACTIVE` is the sandbox's word.
KBANK_ACTIVE = "ACTIVE"

# -- Solidgate: `2.01` messages -------------------------------------------------------------------

SOLIDGATE_ALREADY_CANCELLED = "recurring token already cancelled"
SOLIDGATE_ALREADY_PROCESSING = "recurring token cancellation already processing"
SOLIDGATE_UNSUPPORTED_METHOD = "recurring token payment method does not support cancellation"
#: Solidgate's token states are not published at all: these four are the sandbox's model of a
#: recurring token (`processing` is the cancellation status of Solidgate's own answer).
SOLIDGATE_TOKEN_STATES = ("active", "processing", "cancelled", "unsupported")


@dataclass(frozen=True)
class Convention:
    """One code or text of the sandbox's own, and what it means.

    `text` is the message the sandbox sends (Solidgate `2.01`), None where the code alone
    carries the meaning (KBank). `when` says when the sandbox answers with it.
    """

    provider: str
    error_code: str
    text: str | None
    outcome: str
    when: str


CONVENTIONS: tuple[Convention, ...] = (
    Convention(
        "kbank", KBANK_TOKEN_ALREADY_CANCELLED, None, "already_inactive", "the token is cancelled"
    ),
    Convention(
        "kbank",
        KBANK_TOKEN_NOT_FOUND,
        None,
        "not_found",
        "no token with this tokenId (and reference1, when the token was created with one)",
    ),
    Convention(
        "kbank",
        KBANK_AUTHENTICATION_FAILED,
        None,
        "authentication_failed",
        "the partner credentials are missing, wrong, or disagree between headers and body",
    ),
    Convention(
        "kbank",
        KBANK_INVALID_REQUEST,
        None,
        "invalid_request",
        "the request breaks the spec or the sandbox's requestDt setting",
    ),
    Convention(
        "kbank",
        KBANK_TOO_MANY_REQUESTS,
        None,
        "rate_limited",
        "a configured rate limit or the 429 fault (HTTP 429, with Retry-After)",
    ),
    Convention(
        "solidgate",
        "2.01",
        SOLIDGATE_ALREADY_CANCELLED,
        "already_inactive",
        "the token is cancelled",
    ),
    Convention(
        "solidgate",
        "2.01",
        SOLIDGATE_ALREADY_PROCESSING,
        "cancellation_pending",
        "an earlier cancel was accepted and the token has not settled yet",
    ),
    Convention(
        "solidgate",
        "2.01",
        SOLIDGATE_UNSUPPORTED_METHOD,
        "invalid_request",
        "the token's payment method cannot be revoked (only alipay, mbway and wechatpay can)",
    ),
    Convention(
        "solidgate",
        "2.01",
        "token must be of type string",
        "invalid_request",
        "the request breaks the spec: one message per field, naming the rule it breaks",
    ),
)

#: Texts that are the provider's own (verbatim, or a case its API reference lists): a client
#: knows them without the rules file, and no rule may claim them.
PROVIDER_TEXTS: dict[str, tuple[str, ...]] = {
    "solidgate": (
        "recurring token was not found",
        "cancellation is already concurrently processing",
    ),
}
