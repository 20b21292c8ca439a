"""Xendit, Payments API v3: cancel a payment token. Everything this package knows of Xendit.

Operation: `POST {base}/v3/payment_tokens/{payment_token_id}/cancel`, no body; HTTP Basic with
the secret key as user name; the outcome is in the HTTP status and the body's `error_code`.
Every rule below names its source; docs/providers.md lists them all with their links.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import Final, Self
from urllib.parse import quote

import attrs
import httpx2
from tokencancel_xendit_client.models.bad_request_error import BadRequestError
from tokencancel_xendit_client.models.payment_token import PaymentToken

from .._checks import (
    check_base_url,
    check_credential,
    env_value,
    required_env,
    strip_slash,
    validated_credential,
    validated_url,
)
from .._errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderInvalidRequestError,
    ProviderServerError,
    TokenCancelError,
    raised_detached,
    with_detached_errors,
)
from .._rate import Rate
from .._redact import register_secret
from .._result import CancelOutcome
from .._transport import OutgoingRequest
from ._base import (
    AnswerReader,
    CredentialAuth,
    CredentialPlacement,
    EnvVar,
    PreparedCancel,
    ProviderAdapter,
    Verdict,
    header_seconds,
    text_or_none,
    with_detail,
)
from ._check import CheckProbe

__all__ = [
    "XENDIT",
    "XENDIT_API_VERSION",
    "XENDIT_DEFAULT_BASE_URL",
    "XenditAdapter",
    "XenditAuth",
    "XenditResult",
    "XenditSettings",
    "xendit_authorization",
    "xendit_credentials",
]

XENDIT_DEFAULT_BASE_URL: Final = "https://api.xendit.co"
XENDIT_API_VERSION: Final = "2024-11-11"
XENDIT_TOKEN_ID_LENGTH: Final = 39
CHECK_TOKEN_ID: Final = "pt-00000000-0000-0000-0000-000000000000"  # noqa: S105 -- cannot exist

# Sources (docs/providers.md, "Xendit").
CANCEL_DOC: Final = "https://docs.xendit.co/apidocs/cancel-payment-token"
RATE_LIMITS_DOC: Final = "https://docs.xendit.co/apidocs/rate-limits"
AUTH_DOC: Final = "https://docs.xendit.co/api-integration/api-keys/"

XenditResult = PaymentToken | BadRequestError
"""What a Xendit `CancelResult.parsed` holds: the token (200) or the 400 error body."""


def xendit_authorization(secret_key: str) -> str:
    """Return Xendit's `Authorization` value: Basic, secret key as user, empty password."""
    token = base64.b64encode(f"{secret_key}:".encode()).decode("ascii")
    return f"Basic {token}"


# A refused value reaches the caller detached: no frame of the checks, holding the secrets, is
# left in its traceback for a renderer of local variables to show.
@with_detached_errors
@attrs.frozen
class XenditSettings:
    """Secret key and endpoint for Xendit's Payments API v3."""

    secret_key: str = attrs.field(
        repr=False, validator=validated_credential("secret_key", secret=True)
    )
    base_url: str = attrs.field(
        default=XENDIT_DEFAULT_BASE_URL, converter=strip_slash, validator=validated_url("base_url")
    )

    def __attrs_post_init__(self) -> None:
        register_secret(self.secret_key)
        authorization = xendit_authorization(self.secret_key)
        register_secret(authorization)
        register_secret(authorization.removeprefix("Basic "))

    @classmethod
    @raised_detached
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        """Read XENDIT_SECRET_KEY and XENDIT_BASE_URL."""
        secret_key = check_credential(
            required_env(env, "XENDIT_SECRET_KEY"), "XENDIT_SECRET_KEY", secret=True
        )
        base_url = check_base_url(
            env_value(env, "XENDIT_BASE_URL") or XENDIT_DEFAULT_BASE_URL, "XENDIT_BASE_URL"
        )
        return cls(secret_key=secret_key, base_url=base_url)


def xendit_credentials(settings: XenditSettings) -> CredentialPlacement:
    """Xendit's credentials: HTTP Basic, the secret key as user name, an empty password."""
    return CredentialPlacement(headers={"Authorization": xendit_authorization(settings.secret_key)})


class XenditAuth(CredentialAuth):
    """HTTP Basic with the secret key as user name and an empty password."""

    def __init__(self, settings: XenditSettings) -> None:
        super().__init__(xendit_credentials(settings))


# Xendit's 400 codes and what each means (CANCEL_DOC lists them with these meanings).
_BAD_REQUEST_ERRORS: Final[
    dict[str, tuple[type[ProviderServerError | ProviderInvalidRequestError], str]]
] = {
    "TEMPORARILY_UNAVAILABLE": (ProviderServerError, "temporarily unavailable"),
    "API_VALIDATION_ERROR": (ProviderInvalidRequestError, "invalid request"),
    "INELIGIBLE_TRANSACTION_STATUS": (
        ProviderInvalidRequestError,
        "not allowed in the token's status",
    ),
}
# Token statuses after a cancel that leave the token unusable (the PaymentToken status enum).
_INACTIVE_STATUSES: Final = frozenset({"EXPIRED", "FAILED"})
_OK, _BAD_REQUEST, _UNAUTHORIZED, _FORBIDDEN, _NOT_FOUND = 200, 400, 401, 403, 404
_TOO_MANY_REQUESTS, _SERVER_ERROR, _UNAVAILABLE = 429, 500, 503


class XenditAdapter(ProviderAdapter[XenditSettings, XenditResult]):
    """Xendit's cancel: request, outcome table and pacing."""

    name = "xendit"
    display_name = "Xendit"
    operation_path = "/v3/payment_tokens/{payment_token_id}/cancel"
    settings_type = XenditSettings
    env_vars = (
        EnvVar(
            "XENDIT_SECRET_KEY",
            "secret API key (xnd_development_... or xnd_production_...)",
            secret=True,
            selects_provider=True,
        ),
        EnvVar("XENDIT_BASE_URL", f"server URL (default {XENDIT_DEFAULT_BASE_URL})", base_url=True),
    )
    token_argument = "payment_token_id"  # noqa: S105 -- a parameter name, not a secret
    check_auth_order = (
        "Xendit answers a request with a wrong or missing key 401 INVALID_API_KEY, whatever "
        f"it asks for ({AUTH_DOC}); an answer about the token itself (404 DATA_NOT_FOUND) is "
        "given to an authenticated request, so the key was accepted"
    )

    def settings_from_env(self, env: Mapping[str, str]) -> XenditSettings:
        """Read XENDIT_SECRET_KEY and XENDIT_BASE_URL."""
        return XenditSettings.from_env(env)

    def credentials(self, settings: XenditSettings) -> CredentialPlacement:
        """HTTP Basic: `xendit_credentials`."""
        return xendit_credentials(settings)

    def auth(self, settings: XenditSettings) -> httpx2.Auth:
        """HTTP Basic with the secret key."""
        return XenditAuth(settings)

    def default_rate(self, settings: XenditSettings) -> Rate:
        """60/min per endpoint with a test key, 600/min with a live key (RATE_LIMITS_DOC)."""
        live = settings.secret_key.startswith("xnd_production_")
        return Rate(600 if live else 60, 60.0)

    def check_token(self, token_id: object) -> str:
        """The spec's `payment_token_id`: exactly 39 characters (CANCEL_DOC)."""
        checked = super().check_token(token_id)
        if len(checked) != XENDIT_TOKEN_ID_LENGTH:
            raise InvalidRequestError(
                f"payment_token_id must be exactly {XENDIT_TOKEN_ID_LENGTH} characters "
                f"(like pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1), got {len(checked)}",
                provider=self.provider,
            )
        return checked

    def check_probe(self, settings: XenditSettings) -> CheckProbe:
        """Cancel `pt-` + the nil UUID: 39 characters as the spec wants, never issued.

        Xendit's ids are `pt-` and a random (version 4) UUID; the nil UUID is not one, so no
        token can be cancelled by this call, and Xendit's documented answer is 404
        DATA_NOT_FOUND (CANCEL_DOC).
        """
        del settings
        return CheckProbe(
            token_id=CHECK_TOKEN_ID,
            why_harmless="pt- and the nil UUID, which Xendit's random (v4) ids never are",
        )

    def build_request(self, settings: XenditSettings, prepared: PreparedCancel) -> OutgoingRequest:
        """`POST /v3/payment_tokens/{id}/cancel` with `api-version`, the one place it is set."""
        return OutgoingRequest(
            method="POST",
            url=settings.base_url
            + self.operation_path.format(payment_token_id=quote(prepared.token_id, safe="")),
            headers={"api-version": XENDIT_API_VERSION},
        )

    def interpret(self, reader: AnswerReader) -> Verdict[XenditResult]:
        """Xendit's outcome table (docs/providers.md, "Xendit outcomes")."""
        status = reader.answer.status
        if status == _OK:
            return _cancelled(reader)
        data = reader.body
        code = text_or_none(data.get("error_code")) if data else None
        detail = _detail(data)
        if status == _BAD_REQUEST:
            return _bad_request(reader, code, detail)
        if status == _NOT_FOUND:
            if code == "DATA_NOT_FOUND":  # "ID specified in request cannot be found."
                raise reader.fail(
                    NotFoundError,
                    with_detail("token not found", detail),
                    code=code,
                    source=CANCEL_DOC,
                )
            found = reader.describe_body() if code is None else f"code {code!r}"
            raise reader.unexpected(
                f"HTTP 404 without Xendit's DATA_NOT_FOUND ({found}): the path does not exist "
                "there; check XENDIT_BASE_URL"
            )
        if status == _TOO_MANY_REQUESTS:
            headers = reader.answer.headers
            raise reader.rate_limited(
                with_detail("rate limited", detail),
                code=code,
                reset_after=header_seconds(headers.get("rate-limit-reset"))
                or header_seconds(headers.get("retry-after")),
                source=RATE_LIMITS_DOC,
            )
        known = _STATUS_ERRORS.get(status)
        if known is None:
            raise reader.unexpected(f"HTTP {status}, with {reader.describe_body()}")
        error_type, summary, source = known
        raise reader.fail(error_type, with_detail(summary, detail), code=code, source=source)


def _cancelled(reader: AnswerReader) -> Verdict[XenditResult]:
    """HTTP 200: the token, whose status says what became of it."""
    data = reader.body
    if data is None:
        raise reader.unexpected(reader.describe_body())
    state = text_or_none(data.get("status"))
    if state == "CANCELED":
        return reader.verdict(
            CancelOutcome.CANCELLED,
            state,
            PaymentToken.from_dict,
            source=CANCEL_DOC,
            accepted=True,
        )
    if state in _INACTIVE_STATUSES:
        return reader.verdict(
            CancelOutcome.ALREADY_INACTIVE, state, PaymentToken.from_dict, source=CANCEL_DOC
        )
    raise reader.unexpected(f"the token's status after cancelling is {state!r}")


def _bad_request(
    reader: AnswerReader, code: str | None, detail: str | None
) -> Verdict[XenditResult]:
    """HTTP 400: the documented codes, or the operator's rules for any other."""
    if code is None:
        raise reader.unexpected(f"no error code, {reader.describe_body()}")
    if code == "INACTIVE_PAYMENT_REQUEST":  # "Payment request is already inactive."
        return reader.verdict(
            CancelOutcome.ALREADY_INACTIVE, code, BadRequestError.from_dict, source=CANCEL_DOC
        )
    known = _BAD_REQUEST_ERRORS.get(code)
    if known is None:
        return reader.by_operator_rule(code, detail or "", BadRequestError.from_dict)
    error_type, summary = known
    raise reader.fail(error_type, with_detail(summary, detail), code=code, source=CANCEL_DOC)


# The other statuses Xendit answers with, whatever the body: 500 and 503 are documented
# (SERVER_ERROR, CHANNEL_UNAVAILABLE; a gateway page in front of Xendit means the same: nothing
# was done, and 503 is retried); 401 and 403 are what Xendit answers every API with.
_STATUS_ERRORS: Final[dict[int, tuple[type[TokenCancelError], str, str]]] = {
    _UNAUTHORIZED: (AuthenticationError, "authentication failed", AUTH_DOC),
    _FORBIDDEN: (PermissionDeniedError, "the secret key lacks the permission", AUTH_DOC),
    _SERVER_ERROR: (ProviderServerError, "Xendit server error", CANCEL_DOC),
    _UNAVAILABLE: (ProviderServerError, "Xendit is unavailable", CANCEL_DOC),
}


def _detail(data: dict[str, object] | None) -> str | None:
    """Xendit's `message` and `errors` details, joined (they are reachable, unlike in its SDKs)."""
    if data is None:
        return None
    parts = [text for text in [text_or_none(data.get("message"))] if text]
    errors = data.get("errors")
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                path, message = text_or_none(item.get("path")), text_or_none(item.get("message"))
                if message:
                    parts.append(f"{path}: {message}" if path else message)
    return "; ".join(parts) or None


XENDIT: Final = XenditAdapter()
