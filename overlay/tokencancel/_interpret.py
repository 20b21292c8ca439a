"""Turn a provider's answer into a normalised outcome or a typed error.

Each provider puts its outcome somewhere else (PROVIDERS.md, "Across the three"): KBank in the
body's `statusCode` under HTTP 200, Solidgate in the body under HTTP 200, Xendit in the HTTP
status and `error_code`. The answer is read from its status and its decoded JSON, with every
field type-checked here, because the generated models cast without checking; the generated model
is still what a result carries. Nothing a provider sends raises anything but a TokenCancelError.

Outcome mapping (also in docs/overlay.md):

KBank (HTTP 200, body `statusCode`):
    "00" and the token's status `CANCELLED` -> CANCELLED; "00" with another or no token status
    -> UnexpectedResponseError. Other codes are failures, by `errorCode` (the sandbox's
    conventions; KBank publishes no table): TOKEN_ALREADY_CANCELLED -> ALREADY_INACTIVE,
    TOKEN_NOT_FOUND -> NotFoundError, AUTHENTICATION_FAILED -> AuthenticationError,
    INVALID_REQUEST -> ProviderInvalidRequestError, KP9999 -> ProviderServerError, any other
    -> ProviderError. HTTP 429 -> RateLimitedError, 503 -> ProviderServerError (both retried);
    any other status or a non-JSON body -> UnexpectedResponseError.
Solidgate (HTTP 200, body `status` or `error`):
    `processing` -> CANCELLATION_PENDING; 1.01 -> AuthenticationError; 2.01 by its messages:
    "not found" -> NotFoundError, "already cancelled" -> ALREADY_INACTIVE, "already processing"
    -> CANCELLATION_PENDING, anything else -> ProviderInvalidRequestError; 5.07 ->
    RateLimitedError (retried); other 2.x -> ProviderInvalidRequestError, 6.x ->
    ProviderServerError, other codes -> ProviderError. HTTP 429 -> RateLimitedError and 503 ->
    ProviderServerError (both retried); any other status -> UnexpectedResponseError.
Xendit (HTTP status, body `error_code`):
    200 with token status CANCELED -> CANCELLED, EXPIRED or FAILED -> ALREADY_INACTIVE, any other
    (ACTIVE, PENDING, REQUIRES_ACTION, unknown) -> UnexpectedResponseError: the token was not
    cancelled and nothing says why. 400 INACTIVE_PAYMENT_REQUEST -> ALREADY_INACTIVE,
    TEMPORARILY_UNAVAILABLE -> ProviderServerError, other codes -> ProviderInvalidRequestError;
    401 -> AuthenticationError, 403 -> PermissionDeniedError, 404 -> NotFoundError, 429 ->
    RateLimitedError with `Rate-Limit-Reset` (retried), 500 -> ProviderServerError, 503 ->
    ProviderServerError (retried); 502, 504 and any other status -> UnexpectedResponseError.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from typing import Any

import attrs
import httpx2
from tokencancel_kbank_client.models.cancel_token_response import (
    CancelTokenResponse as KBankResponse,
)
from tokencancel_solidgate_client.models.revoke_token_accepted import RevokeTokenAccepted
from tokencancel_solidgate_client.models.revoke_token_failed import RevokeTokenFailed
from tokencancel_xendit_client.models.bad_request_error import BadRequestError as XenditBadRequest
from tokencancel_xendit_client.models.payment_token import PaymentToken

from ._errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    TokenCancelError,
    UnexpectedResponseError,
)
from ._provider import Provider
from ._result import CancelOutcome, ProviderResponse

__all__ = ["Answer", "Verdict", "interpret"]

_NOT_JSON = object()
_MESSAGE_LIMIT = 300


@attrs.frozen
class Answer:
    """What came back for one request: status, headers, bytes, and the generated parse if any."""

    status: int
    headers: httpx2.Headers
    body: bytes
    parsed: object | None

    @functools.cached_property
    def decoded(self) -> object:
        """The body as JSON, or `_NOT_JSON` for an HTML page, empty or broken body (read once)."""
        content_type = self.headers.get("content-type", "").lower()
        if "html" in content_type or not self.body.strip():
            return _NOT_JSON
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, absurd nesting
            return _NOT_JSON


@attrs.frozen
class Verdict:
    """A non-refusal outcome, with the provider's own word for it and the generated model."""

    outcome: CancelOutcome
    provider_status: str | None
    parsed: ProviderResponse


@attrs.frozen
class _Context:
    provider: Provider
    answer: Answer
    token_id: str
    request_id: str | None

    def fail(
        self,
        error_type: type[TokenCancelError],
        message: str,
        *,
        code: str | None = None,
        retryable: bool = False,
    ) -> TokenCancelError:
        return error_type(
            message,
            provider=self.provider,
            http_status=self.answer.status,
            error_code=code,
            raw_body=self.answer.body,
            request_id=self.request_id,
            retryable=retryable,
        )

    def rate_limited(
        self, message: str, *, code: str | None, reset_after: float | None
    ) -> RateLimitedError:
        return RateLimitedError(
            message,
            reset_after=reset_after,
            provider=self.provider,
            http_status=self.answer.status,
            error_code=code,
            raw_body=self.answer.body,
            request_id=self.request_id,
            retryable=True,
        )

    def unexpected(self, why: str) -> TokenCancelError:
        return self.fail(UnexpectedResponseError, f"unexpected answer: {why}")

    def verdict(
        self, outcome: CancelOutcome, provider_status: str | None, model: type[Any]
    ) -> Verdict:
        parsed = self.answer.parsed
        if not isinstance(parsed, model):
            raise self.unexpected(f"the body does not match the spec's {model.__name__}")
        return Verdict(outcome=outcome, provider_status=provider_status, parsed=parsed)


def interpret(
    provider: Provider, answer: Answer, *, token_id: str, request_id: str | None = None
) -> Verdict:
    """Return the outcome of cancelling `token_id` from `answer`, or raise the error it means."""
    context = _Context(provider=provider, answer=answer, token_id=token_id, request_id=request_id)
    if provider is Provider.KBANK:
        return _interpret_kbank(context)
    if provider is Provider.SOLIDGATE:
        return _interpret_solidgate(context)
    return _interpret_xendit(context)


# -- reading bodies -----------------------------------------------------------------------------


def _json_object(answer: Answer) -> dict[str, Any] | None:
    data = answer.decoded
    return data if isinstance(data, dict) else None


def _describe_body(answer: Answer) -> str:
    data = answer.decoded
    if data is _NOT_JSON:
        if not answer.body.strip():
            return "an empty body"
        content_type = answer.headers.get("content-type", "no content type")
        return f"a body that is not JSON ({content_type}, {len(answer.body)} bytes)"
    return f"a JSON {type(data).__name__} the spec does not describe"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _flatten_messages(value: object, *, depth: int = 0) -> list[str]:
    """Collect the strings in Solidgate's `messages`: a list, an object of lists, or a string."""
    if depth > 4:  # noqa: PLR2004 -- deeper nesting than any documented shape carries no text
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _flatten_messages(item, depth=depth + 1)]
    if isinstance(value, Mapping):
        found: list[str] = []
        for key, item in value.items():
            found.extend(f"{key}: {text}" for text in _flatten_messages(item, depth=depth + 1))
        return found
    return []


def _seconds(value: str | None) -> float | None:
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


def _with_detail(summary: str, detail: str | None) -> str:
    return f"{summary}: {detail}" if detail else summary


# -- KBank --------------------------------------------------------------------------------------

_KBANK_ERRORS: dict[str, type[ProviderError]] = {
    "AUTHENTICATION_FAILED": AuthenticationError,
    "TOKEN_NOT_FOUND": NotFoundError,
    "INVALID_REQUEST": ProviderInvalidRequestError,
    "KP9999": ProviderServerError,
}
_KBANK_ALREADY_INACTIVE = frozenset({"TOKEN_ALREADY_CANCELLED"})


def _interpret_kbank(context: _Context) -> Verdict:
    data = _body_of_ok_answer(context)
    status_code = _text(data.get("statusCode"))
    if status_code is None:
        raise context.unexpected("no statusCode string in the body")
    if status_code == "00":
        state = _kbank_state(data.get("tokenList"), context)
        if state == "CANCELLED":
            return context.verdict(CancelOutcome.CANCELLED, state, KBankResponse)
        raise context.unexpected(f"statusCode 00 but the token's status is {state!r}")
    error_code = _text(data.get("errorCode"))
    description = _text(data.get("errorDesc"))
    if error_code in _KBANK_ALREADY_INACTIVE:
        return context.verdict(CancelOutcome.ALREADY_INACTIVE, error_code, KBankResponse)
    error_type = _KBANK_ERRORS.get(error_code or "", ProviderError)
    raise context.fail(
        error_type,
        _with_detail(f"refused with statusCode {status_code}", description),
        code=error_code,
    )


def _kbank_state(token_list: object, context: _Context) -> str | None:
    """Return the status of the requested token in `tokenList`, or None when it is absent."""
    if not isinstance(token_list, list):
        return None
    entries = [entry for entry in token_list if isinstance(entry, dict)]
    for entry in entries:
        if entry.get("tokenId") == context.token_id:
            return _text(entry.get("status"))
    # Every field may be null: a lone entry without a tokenId is taken to be ours; a lone entry
    # naming another token is not.
    if len(entries) == 1 and entries[0].get("tokenId") is None:
        return _text(entries[0].get("status"))
    return None


# -- Solidgate ----------------------------------------------------------------------------------


def _interpret_solidgate(context: _Context) -> Verdict:
    data = _body_of_ok_answer(context)
    if "error" in data and "status" not in data:
        return _solidgate_error(context, data["error"])
    if "status" in data and "error" not in data:
        status = _text(data["status"])
        if status == "processing":
            return context.verdict(CancelOutcome.CANCELLATION_PENDING, status, RevokeTokenAccepted)
        raise context.unexpected(f"undocumented status {status!r}")
    raise context.unexpected("a body with neither a status nor an error alone")


def _solidgate_error(context: _Context, error: object) -> Verdict:
    if not isinstance(error, dict):
        raise context.unexpected("an error that is not an object")
    raw_code = error.get("code")
    if raw_code is not None and not isinstance(raw_code, str):
        raise context.unexpected(f"an error code that is not a string ({raw_code!r})")
    code = _text(raw_code)
    messages = _flatten_messages(error.get("messages"))
    recommended = _text(error.get("recommended_message_for_user"))
    detail = "; ".join(messages) or recommended
    text = " ".join(messages).lower()
    if code == "1.01":
        raise context.fail(
            AuthenticationError, _with_detail("authentication failed", detail), code=code
        )
    if code == "2.01":
        if "not found" in text:
            raise context.fail(NotFoundError, _with_detail("token not found", detail), code=code)
        if "already cancel" in text:
            return context.verdict(CancelOutcome.ALREADY_INACTIVE, detail, RevokeTokenFailed)
        if "already processing" in text or "cancellation processing" in text:
            return context.verdict(CancelOutcome.CANCELLATION_PENDING, detail, RevokeTokenFailed)
        raise context.fail(
            ProviderInvalidRequestError, _with_detail("invalid data", detail), code=code
        )
    if code == "5.07":
        raise context.rate_limited(
            _with_detail("rate limited", detail),
            code=code,
            reset_after=_seconds(context.answer.headers.get("retry-after")),
        )
    family = code.split(".", 1)[0] if code else ""
    if family == "2":
        raise context.fail(
            ProviderInvalidRequestError, _with_detail("invalid data", detail), code=code
        )
    if family == "6":
        raise context.fail(ProviderServerError, _with_detail("gateway error", detail), code=code)
    raise context.fail(ProviderError, _with_detail("Solidgate declined", detail), code=code)


# -- Xendit -------------------------------------------------------------------------------------

_XENDIT_STATUS_ERRORS: dict[int, tuple[type[ProviderError], str]] = {
    401: (AuthenticationError, "authentication failed"),
    403: (PermissionDeniedError, "the secret key lacks the permission"),
    404: (NotFoundError, "token not found"),
    500: (ProviderServerError, "Xendit server error"),
}
_XENDIT_INACTIVE_STATUSES = frozenset({"EXPIRED", "FAILED"})


def _interpret_xendit(context: _Context) -> Verdict:
    answer = context.answer
    data = _json_object(answer)
    code = _text(data.get("error_code")) if data else None
    if answer.status == httpx2.codes.OK:
        if data is None:
            raise context.unexpected(_describe_body(answer))
        state = _text(data.get("status"))
        if state == "CANCELED":
            return context.verdict(CancelOutcome.CANCELLED, state, PaymentToken)
        if state in _XENDIT_INACTIVE_STATUSES:
            return context.verdict(CancelOutcome.ALREADY_INACTIVE, state, PaymentToken)
        raise context.unexpected(f"the token's status after cancelling is {state!r}")
    detail = _xendit_detail(data)  # only refusals carry one
    if answer.status == httpx2.codes.BAD_REQUEST:
        if code is None:
            raise context.unexpected(f"no error code, {_describe_body(answer)}")
        if code == "INACTIVE_PAYMENT_REQUEST":
            return context.verdict(CancelOutcome.ALREADY_INACTIVE, code, XenditBadRequest)
        if code == "TEMPORARILY_UNAVAILABLE":
            raise context.fail(
                ProviderServerError, _with_detail("temporarily unavailable", detail), code=code
            )
        raise context.fail(
            ProviderInvalidRequestError, _with_detail("invalid request", detail), code=code
        )
    if answer.status == httpx2.codes.TOO_MANY_REQUESTS:
        raise context.rate_limited(
            _with_detail("rate limited", detail),
            code=code,
            reset_after=_seconds(answer.headers.get("rate-limit-reset"))
            or _seconds(answer.headers.get("retry-after")),
        )
    if answer.status == httpx2.codes.SERVICE_UNAVAILABLE:
        raise context.fail(
            ProviderServerError, _with_detail("unavailable", detail), code=code, retryable=True
        )
    known = _XENDIT_STATUS_ERRORS.get(answer.status)
    if known is not None:
        error_type, summary = known
        raise context.fail(error_type, _with_detail(summary, detail), code=code)
    raise context.unexpected(f"undocumented HTTP status, with {_describe_body(answer)}")


def _xendit_detail(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    parts = [text for text in [_text(data.get("message"))] if text]
    errors = data.get("errors")
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                path, message = _text(item.get("path")), _text(item.get("message"))
                if message:
                    parts.append(f"{path}: {message}" if path else message)
    return "; ".join(parts) or None


# -- shared -------------------------------------------------------------------------------------


def _body_of_ok_answer(context: _Context) -> dict[str, Any]:
    """Return the JSON object of an answer from a provider that answers everything with 200.

    KBank and Solidgate put every outcome in an HTTP 200 body; past the 429 and 503 met outside
    their docs, any other status, or a body that is not a JSON object, is an unexpected answer.
    """
    _common_status_errors(context)
    answer = context.answer
    if answer.status != httpx2.codes.OK:
        name = context.provider.display_name
        raise context.unexpected(f"an HTTP status {name} does not send (it answers 200)")
    data = _json_object(answer)
    if data is None:
        raise context.unexpected(_describe_body(answer))
    return data


def _common_status_errors(context: _Context) -> None:
    """Map the statuses every provider may send outside its docs: 429 and 503, both retried."""
    answer = context.answer
    if answer.status == httpx2.codes.TOO_MANY_REQUESTS:
        data = _json_object(answer)
        error = data.get("error") if data else None
        code = _text(error.get("code")) if isinstance(error, dict) else None
        detail = (
            "; ".join(_flatten_messages(error.get("messages"))) if isinstance(error, dict) else ""
        )
        raise context.rate_limited(
            _with_detail("rate limited", detail),
            code=code,
            reset_after=_seconds(answer.headers.get("retry-after")),
        )
    if answer.status == httpx2.codes.SERVICE_UNAVAILABLE:
        raise context.fail(
            ProviderServerError,
            f"{context.provider.display_name} is temporarily unavailable",
            retryable=True,
        )
