"""Solidgate, alternative payment methods: revoke a recurring token. All of Solidgate here.

Operation: `POST {base}/v1/recurring-token/cancel` with `{"token": ...}`; the `merchant` header
(the public key) and a `signature` over exactly the bytes sent; every documented answer is
HTTP 200, the outcome in the body. Every rule below names its source (docs/providers.md).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Final, Self

import attrs
import httpx2
from tokencancel_solidgate_client.models.revoke_token_accepted import RevokeTokenAccepted
from tokencancel_solidgate_client.models.revoke_token_failed import RevokeTokenFailed

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
    NotFoundError,
    ProviderError,
    ProviderInvalidRequestError,
    ProviderServerError,
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
    flatten_messages,
    header_seconds,
    text_or_none,
    with_detail,
)
from ._check import CheckProbe

__all__ = [
    "SOLIDGATE",
    "SOLIDGATE_DEFAULT_BASE_URL",
    "SolidgateAdapter",
    "SolidgateAuth",
    "SolidgateResult",
    "SolidgateSettings",
    "solidgate_credentials",
    "solidgate_signature",
    "solidgate_signature_matches",
]

SOLIDGATE_DEFAULT_BASE_URL: Final = "https://gate.solidgate.com/api"
CHECK_TOKEN: Final = "00000000-0000-0000-0000-000000000000"  # noqa: S105 -- cannot exist

# Sources (docs/providers.md, "Solidgate").
REVOKE_DOC: Final = (
    "https://api-docs.solidgate.com/api/alternative-payment-methods/revoke-apm-recurring-token"
)
ERROR_CODES_DOC: Final = "https://docs.solidgate.com/payments/payments-insights/error-codes/"
RATE_LIMITS_DOC: Final = "https://api-docs.solidgate.com/api/openapi/main/md/rate-limits"

SolidgateResult = RevokeTokenAccepted | RevokeTokenFailed
"""What a Solidgate `CancelResult.parsed` holds: `processing` (accepted) or a 2.01 error body."""

# The one 2.01 text Solidgate publishes verbatim (REVOKE_DOC's example).
_NOT_FOUND_TEXT: Final = "recurring token was not found"
# A 2.01 case REVOKE_DOC names ("Error 2.01 Cancellation is already concurrently processing");
# its message text is not published, so an answer worded otherwise stays unrecognised.
_CONCURRENT_TEXT: Final = "already concurrently processing"


def solidgate_signature(public_key: str, secret_key: str, body: bytes) -> str:
    """Return the `signature` header for a request carrying `body`.

    `base64(lowercase_hex(HMAC-SHA512(secret_key, public_key + body + public_key)))`: the
    128-character hex digest is what gets base64-encoded, so the result is always 172 characters.
    A body-less request signs `public_key + public_key`. Solidgate does not canonicalise JSON:
    sign exactly the bytes sent, whoever serialised them.
    """
    key = public_key.encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), key + body + key, hashlib.sha512).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def solidgate_signature_matches(
    public_key: str, secret_key: str, body: bytes, signature: str
) -> bool:
    """Tell, in constant time, whether `signature` is the right one for `body`."""
    expected = solidgate_signature(public_key, secret_key, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


# A refused value reaches the caller detached: no frame of the checks, holding the secrets, is
# left in its traceback for a renderer of local variables to show.
@with_detached_errors
@attrs.frozen
class SolidgateSettings:
    """Key pair and endpoint for Solidgate's alternative-payment-methods API."""

    public_key: str = attrs.field(
        repr=False, validator=validated_credential("public_key", secret=True)
    )
    secret_key: str = attrs.field(
        repr=False, validator=validated_credential("secret_key", secret=True)
    )
    base_url: str = attrs.field(
        default=SOLIDGATE_DEFAULT_BASE_URL,
        converter=strip_slash,
        validator=validated_url("base_url"),
    )

    def __attrs_post_init__(self) -> None:
        register_secret(self.public_key)
        register_secret(self.secret_key)

    @classmethod
    @raised_detached
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        """Read SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY and SOLIDGATE_BASE_URL."""
        public_key = check_credential(
            required_env(env, "SOLIDGATE_PUBLIC_KEY"), "SOLIDGATE_PUBLIC_KEY", secret=True
        )
        secret_key = check_credential(
            required_env(env, "SOLIDGATE_SECRET_KEY"), "SOLIDGATE_SECRET_KEY", secret=True
        )
        base_url = check_base_url(
            env_value(env, "SOLIDGATE_BASE_URL") or SOLIDGATE_DEFAULT_BASE_URL, "SOLIDGATE_BASE_URL"
        )
        return cls(public_key=public_key, secret_key=secret_key, base_url=base_url)


def solidgate_credentials(settings: SolidgateSettings) -> CredentialPlacement:
    """Solidgate's credentials: `merchant` (the public key) and `signature` of the bytes sent."""
    return CredentialPlacement(
        headers={"merchant": settings.public_key},
        signature_header="signature",
        sign=functools.partial(solidgate_signature, settings.public_key, settings.secret_key),
    )


class SolidgateAuth(CredentialAuth):
    """Sign each Solidgate request: `merchant` header and `signature` over the bytes sent."""

    def __init__(self, settings: SolidgateSettings) -> None:
        super().__init__(solidgate_credentials(settings))


class SolidgateAdapter(ProviderAdapter[SolidgateSettings, SolidgateResult]):
    """Solidgate's revoke: request, outcome table and pacing."""

    name = "solidgate"
    display_name = "Solidgate"
    operation_path = "/v1/recurring-token/cancel"
    settings_type = SolidgateSettings
    env_vars = (
        EnvVar(
            "SOLIDGATE_PUBLIC_KEY", "public key (api_pk_...)", secret=True, selects_provider=True
        ),
        EnvVar(
            "SOLIDGATE_SECRET_KEY", "secret key (api_sk_...)", secret=True, selects_provider=True
        ),
        EnvVar(
            "SOLIDGATE_BASE_URL",
            f"server URL (default {SOLIDGATE_DEFAULT_BASE_URL})",
            base_url=True,
        ),
    )
    token_argument = "token"  # noqa: S105 -- a parameter name, not a secret
    check_auth_order = (
        "Solidgate authenticates every request by its merchant header and body signature and "
        f"answers 1.01 when either is wrong ({ERROR_CODES_DOC}); an answer about the token "
        "itself (2.01 not found) is given to an authenticated request, so both keys were "
        "accepted"
    )

    def settings_from_env(self, env: Mapping[str, str]) -> SolidgateSettings:
        """Read SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY and SOLIDGATE_BASE_URL."""
        return SolidgateSettings.from_env(env)

    def credentials(self, settings: SolidgateSettings) -> CredentialPlacement:
        """`merchant` and the body signature: `solidgate_credentials`."""
        return solidgate_credentials(settings)

    def auth(self, settings: SolidgateSettings) -> httpx2.Auth:
        """The body signature."""
        return SolidgateAuth(settings)

    def default_rate(self, settings: SolidgateSettings) -> Rate:
        """10 requests a second: the published sandbox limit per merchant (RATE_LIMITS_DOC).

        Live allows 25 a second, shared with the merchant's payment traffic; nothing in a key
        tells sandbox from live, so the lower figure is the safe default.
        """
        del settings
        return Rate(10, 1.0)

    def check_probe(self, settings: SolidgateSettings) -> CheckProbe:
        """Revoke the nil UUID: a well-formed token id that Solidgate never issues.

        Solidgate's recurring tokens are random UUIDs; the nil UUID is not one, so nothing can
        be revoked by this call, and the documented answer is 2.01 "recurring token was not
        found" (REVOKE_DOC's example).
        """
        del settings
        return CheckProbe(
            token_id=CHECK_TOKEN,
            why_harmless="the nil UUID, which Solidgate's random token ids never are",
        )

    def build_request(
        self, settings: SolidgateSettings, prepared: PreparedCancel
    ) -> OutgoingRequest:
        """`POST /v1/recurring-token/cancel` with `{"token": ...}`, serialised once, compact."""
        content = json.dumps({"token": prepared.token_id}, separators=(",", ":")).encode()
        return OutgoingRequest(
            method="POST",
            url=settings.base_url + self.operation_path,
            headers={"Content-Type": "application/json"},
            content=content,
        )

    def interpret(self, reader: AnswerReader) -> Verdict[SolidgateResult]:
        """Solidgate's outcome table (docs/providers.md, "Solidgate outcomes")."""
        data = reader.body_of_ok_answer()
        if "error" in data and "status" not in data:
            return _error(reader, data["error"])
        if "status" in data and "error" not in data:
            status = text_or_none(data["status"])
            if status == "processing":
                return reader.verdict(
                    CancelOutcome.CANCELLATION_PENDING,
                    status,
                    RevokeTokenAccepted.from_dict,
                    source=REVOKE_DOC,
                    accepted=True,
                )
            raise reader.unexpected(f"undocumented status {status!r}")
        raise reader.unexpected("a body with neither a status nor an error alone")


def _error(reader: AnswerReader, error: object) -> Verdict[SolidgateResult]:
    if not isinstance(error, dict):
        raise reader.unexpected("an error that is not an object")
    raw_code = error.get("code")
    if raw_code is not None and not isinstance(raw_code, str):
        raise reader.unexpected(f"an error code that is not a string ({raw_code!r})")
    code = text_or_none(raw_code)
    messages = flatten_messages(error.get("messages"))
    detail = "; ".join(messages) or text_or_none(error.get("recommended_message_for_user"))
    text = " ".join(messages).lower()
    if code == "1.01":
        raise reader.fail(
            AuthenticationError,
            with_detail("authentication failed", detail),
            code=code,
            source=REVOKE_DOC,
        )
    if code == "2.01":
        if _NOT_FOUND_TEXT in text:
            raise reader.fail(
                NotFoundError, with_detail("token not found", detail), code=code, source=REVOKE_DOC
            )
        if _CONCURRENT_TEXT in text:
            return reader.verdict(
                CancelOutcome.CANCELLATION_PENDING,
                detail,
                RevokeTokenFailed.from_dict,
                source=REVOKE_DOC,
            )
        return reader.by_operator_rule(
            code, " ".join(messages), RevokeTokenFailed.from_dict, provider_status=detail
        )
    if code == "5.07":
        raise reader.rate_limited(
            with_detail("rate limited", detail),
            code=code,
            reset_after=header_seconds(reader.answer.headers.get("retry-after")),
            source=RATE_LIMITS_DOC,
        )
    family = code.split(".", 1)[0] if code else ""
    if reader.rules.lookup(reader.adapter.name, code, " ".join(messages)) is not None or (
        family not in _DECLINE_FAMILIES
    ):
        return reader.by_operator_rule(
            code, " ".join(messages), RevokeTokenFailed.from_dict, provider_status=detail
        )
    error_type, summary = _DECLINE_FAMILIES[family]
    raise reader.fail(error_type, with_detail(summary, detail), code=code, source=ERROR_CODES_DOC)


# Solidgate's documented error-code families (ERROR_CODES_DOC): each is a refusal of the
# request, none says anything about the token's state.
_DECLINE_FAMILIES: Final[dict[str, tuple[type[ProviderError], str]]] = {
    "0": (ProviderError, "Solidgate declined (general decline)"),
    "1": (ProviderError, "Solidgate declined (authentication)"),
    "2": (ProviderInvalidRequestError, "invalid data"),
    "3": (ProviderError, "Solidgate declined (issuer)"),
    "4": (ProviderError, "Solidgate declined (fraud)"),
    "5": (ProviderError, "Solidgate declined (token or merchant setup)"),
    "6": (ProviderServerError, "gateway error"),
    "7": (ProviderError, "Solidgate declined (payment system or token)"),
}


SOLIDGATE: Final = SolidgateAdapter()
