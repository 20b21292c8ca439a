"""KBank (Kasikornbank) K PLUS: Cancel Token. Everything this package knows of KBank.

Operation: `POST {base}/kplus/payment/cancel-token`, a JSON body carrying the partner
credentials, `partnerTxnUid`, `requestDt`, `tokenId` and `reference1`; two-way TLS with a
client certificate KBank issues. Every answer is HTTP 200 with the outcome in `statusCode`.
KBank publishes no error-code table: a code its docs do not show is never read as a final
outcome (see `by_operator_rule`). Every rule names its source (docs/providers.md).

Two contradictions in KBank's docs are settings, not guesses:

- `requestDt`: the field table says `long` (epoch seconds); every example request on the portal
  sends a local date-time string. Default: epoch seconds, the documented type;
  `KBANK_REQUEST_DT=local-datetime` sends the examples' form (Bangkok time, milliseconds).
- the `Partner-Id`/`Partner-Secret` headers: in the 2019-07-17 version of the page, removed the
  next day (only the portal's Postman guide still mentions them). Default: credentials in the
  body only, as the current page documents; `KBANK_PARTNER_HEADERS=1` sends the headers too.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Literal, Self

import attrs
import httpx2
from tokencancel_kbank_client.models.cancel_token_response import CancelTokenResponse

from .._checks import (
    check_base_url,
    check_credential,
    check_file,
    check_wire_text,
    env_value,
    required_env,
    strip_slash,
    validated_credential,
    validated_url,
)
from .._errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderServerError,
    TokenCancelError,
    raised_detached,
    with_detached_errors,
)
from .._rate import Rate
from .._redact import register_secret
from .._result import CancelOutcome
from .._rules import OutcomeRules, RuleOutcome
from .._transport import OutgoingRequest
from ._base import (
    AnswerReader,
    CredentialAuth,
    CredentialPlacement,
    EnvVar,
    PreparedCancel,
    ProviderAdapter,
    Verdict,
    text_or_none,
    with_detail,
)
from ._check import CheckProbe, CheckReport, CheckReportBuilder, tls_fact

__all__ = [
    "KBANK",
    "KBANK_DEFAULT_BASE_URL",
    "PARTNER_TXN_UID_MAX_LENGTH",
    "KBankAdapter",
    "KBankAuth",
    "KBankResult",
    "KBankSettings",
    "RequestDtFormat",
    "kbank_credential_headers",
    "kbank_credentials",
    "kbank_request_dt",
    "new_partner_txn_uid",
]

KBANK_DEFAULT_BASE_URL: Final = "https://kbankapi.tech/v1"
PARTNER_TXN_UID_MAX_LENGTH: Final = 15

# Sources (docs/providers.md, "KBank").
CANCEL_DOC: Final = (
    "https://github.com/mzget/markdown-for-open-api/blob/master/public/Kplus/CancelToken.en.md"
)
NO_PUBLISHED_LIMIT: Final = "KBank publishes no rate limit; 5/s is this project's choice"

KBankResult = CancelTokenResponse
"""What a KBank `CancelResult.parsed` holds."""

RequestDtFormat = Literal["epoch-seconds", "local-datetime"]
_REQUEST_DT_FORMATS: Final = ("epoch-seconds", "local-datetime")
_BANGKOK: Final = timezone(timedelta(hours=7))

_BASE36: Final = string.digits + string.ascii_uppercase
_TIME_DIGITS: Final = 8  # milliseconds since the epoch in base 36 fit in 8 digits until the 2080s
_RANDOM_SPAN: Final = 36 ** (PARTNER_TXN_UID_MAX_LENGTH - _TIME_DIGITS)
_TIME_SPAN: Final = 36**_TIME_DIGITS
_TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"0", "false", "no", "off"})


def new_partner_txn_uid() -> str:
    """Return a fresh KBank `partnerTxnUid`: 15 base-36 characters, time-ordered then random.

    Eight characters of milliseconds keep ids from different moments apart; seven random ones
    (36**7, about 7.8e10 values) keep ids minted in the same millisecond apart.
    """
    millis = time.time_ns() // 1_000_000 % _TIME_SPAN
    value = millis * _RANDOM_SPAN + secrets.randbelow(_RANDOM_SPAN)
    digits = ""
    for _ in range(PARTNER_TXN_UID_MAX_LENGTH):
        value, digit = divmod(value, 36)
        digits = _BASE36[digit] + digits
    return digits


def kbank_credential_headers(settings: KBankSettings) -> dict[str, str]:
    """KBank's credential headers, `Partner-Id` and `Partner-Secret`."""
    return {"Partner-Id": settings.partner_id, "Partner-Secret": settings.partner_secret}


def kbank_request_dt(form: RequestDtFormat, epoch: float) -> int | str:
    """`requestDt` for the moment `epoch`, in the form the settings chose."""
    if form == "epoch-seconds":
        return int(epoch)
    moment = datetime.fromtimestamp(epoch, UTC).astimezone(_BANGKOK).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds")


def _check_request_dt(_instance: object, _attribute: object, value: object) -> None:
    if value not in _REQUEST_DT_FORMATS:
        raise ConfigurationError(f"request_dt must be one of {', '.join(_REQUEST_DT_FORMATS)}")


# A refused value reaches the caller detached: no frame of the checks, holding the secrets, is
# left in its traceback for a renderer of local variables to show.
@with_detached_errors
@attrs.frozen
class KBankSettings:
    """Credentials and endpoint for KBank K PLUS.

    `client_cert` and `client_key` are paths to the PEM certificate and key KBank issues for
    two-way TLS; `client_cert` alone may hold both. `request_dt` and `partner_headers` settle
    the two contradictions in KBank's docs (see the module docstring).
    """

    partner_id: str = attrs.field(validator=validated_credential("partner_id", secret=False))
    partner_secret: str = attrs.field(
        repr=False, validator=validated_credential("partner_secret", secret=True)
    )
    base_url: str = attrs.field(
        default=KBANK_DEFAULT_BASE_URL, converter=strip_slash, validator=validated_url("base_url")
    )
    client_cert: str | None = attrs.field(default=None)
    client_key: str | None = attrs.field(default=None)
    request_dt: RequestDtFormat = attrs.field(default="epoch-seconds", validator=_check_request_dt)
    partner_headers: bool = False

    def __attrs_post_init__(self) -> None:
        check_file(self.client_cert, "client_cert")
        check_file(self.client_key, "client_key")
        if self.client_key is not None and self.client_cert is None:
            raise ConfigurationError("client_key is set without client_cert")
        register_secret(self.partner_secret)

    @classmethod
    @raised_detached
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        """Read the KBANK_* variables (see `KBankAdapter.env_vars`)."""
        partner_id = check_credential(
            required_env(env, "KBANK_PARTNER_ID"), "KBANK_PARTNER_ID", secret=False
        )
        partner_secret = check_credential(
            required_env(env, "KBANK_PARTNER_SECRET"), "KBANK_PARTNER_SECRET", secret=True
        )
        base_url = check_base_url(
            env_value(env, "KBANK_BASE_URL") or KBANK_DEFAULT_BASE_URL, "KBANK_BASE_URL"
        )
        client_cert = check_file(env_value(env, "KBANK_CLIENT_CERT"), "KBANK_CLIENT_CERT")
        client_key = check_file(env_value(env, "KBANK_CLIENT_KEY"), "KBANK_CLIENT_KEY")
        if client_key is not None and client_cert is None:
            raise ConfigurationError("KBANK_CLIENT_KEY is set without KBANK_CLIENT_CERT")
        request_dt = env_value(env, "KBANK_REQUEST_DT") or "epoch-seconds"
        if request_dt not in _REQUEST_DT_FORMATS:
            raise ConfigurationError(
                f"KBANK_REQUEST_DT must be one of {', '.join(_REQUEST_DT_FORMATS)}"
            )
        headers = (env_value(env, "KBANK_PARTNER_HEADERS") or "0").lower()
        if headers not in _TRUE_WORDS | _FALSE_WORDS:
            raise ConfigurationError("KBANK_PARTNER_HEADERS must be 1 or 0 (true or false)")
        return cls(
            partner_id=partner_id,
            partner_secret=partner_secret,
            base_url=base_url,
            client_cert=client_cert,
            client_key=client_key,
            request_dt=request_dt,  # type: ignore[arg-type]  # checked against the Literal above
            partner_headers=headers in _TRUE_WORDS,
        )


def kbank_credentials(settings: KBankSettings) -> CredentialPlacement:
    """KBank's credentials: `partnerId` and `partnerSecret` in the body.

    With `partner_headers`, the `Partner-Id` and `Partner-Secret` headers too.
    """
    return CredentialPlacement(
        headers=kbank_credential_headers(settings) if settings.partner_headers else {},
        body_fields={"partnerId": settings.partner_id, "partnerSecret": settings.partner_secret},
    )


class KBankAuth(CredentialAuth):
    """Add KBank's credentials as the request leaves (`kbank_credentials`).

    The body is built without them (so no frame of the call holds the secret) and they are
    spliced into the serialised JSON object here, the one place that writes them.
    """

    def __init__(self, settings: KBankSettings) -> None:
        super().__init__(kbank_credentials(settings))


class KBankAdapter(ProviderAdapter[KBankSettings, KBankResult]):
    """KBank's cancel: request, outcome table and pacing."""

    name = "kbank"
    display_name = "KBank"
    operation_path = "/kplus/payment/cancel-token"
    settings_type = KBankSettings
    env_vars = (
        EnvVar("KBANK_PARTNER_ID", "partner id", selects_provider=True),
        EnvVar("KBANK_PARTNER_SECRET", "partner secret", secret=True, selects_provider=True),
        EnvVar("KBANK_BASE_URL", f"server URL (default {KBANK_DEFAULT_BASE_URL})", base_url=True),
        EnvVar("KBANK_CLIENT_CERT", "PEM client certificate for two-way TLS (may hold the key)"),
        EnvVar("KBANK_CLIENT_KEY", "PEM key of the client certificate"),
        EnvVar("KBANK_REQUEST_DT", "requestDt form: epoch-seconds (default) or local-datetime"),
        EnvVar(
            "KBANK_PARTNER_HEADERS", "1 to send Partner-Id/Partner-Secret headers too (default 0)"
        ),
    )
    field_names = ("reference1",)
    request_id_name = "partner_txn_uid"
    check_auth_order = "the answer is not the authentication code your outcome rules name for KBank"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def settings_from_env(self, env: Mapping[str, str]) -> KBankSettings:
        """Read the KBANK_* variables."""
        return KBankSettings.from_env(env)

    def credentials(self, settings: KBankSettings) -> CredentialPlacement:
        """Body fields (and headers when set): `kbank_credentials`."""
        return kbank_credentials(settings)

    def auth(self, settings: KBankSettings) -> httpx2.Auth:
        """The credentials, spliced into the body as it leaves."""
        return KBankAuth(settings)

    def client_certificate(self, settings: KBankSettings) -> tuple[str, str | None] | None:
        """KBank's two-way TLS certificate, when configured."""
        return None if settings.client_cert is None else (settings.client_cert, settings.client_key)

    def client_certificate_source(self) -> str:
        """The settings and variables that name KBank's client certificate."""
        return (
            "the KBank client certificate or key (client_cert, KBANK_CLIENT_CERT, KBANK_CLIENT_KEY)"
        )

    def default_rate(self, settings: KBankSettings) -> Rate:
        """5 requests a second: KBank publishes no limit (NO_PUBLISHED_LIMIT)."""
        del settings
        return Rate(5, 1.0)

    def request_id(self, supplied: object) -> str:
        """The cancel's `partnerTxnUid`: the caller's (at most 15 characters) or a fresh one.

        It is kept on every retry of the cancel, with a fresh `requestDt` each time: a retry
        only follows no answer, 429 or 503, so the id names one logical request, and the caller
        has one id to quote to KBank.
        """
        if supplied is None:
            return new_partner_txn_uid()
        return check_wire_text(
            supplied,
            "partner_txn_uid",
            provider=self.provider,
            max_length=PARTNER_TXN_UID_MAX_LENGTH,
        )

    def check_probe(self, settings: KBankSettings) -> CheckProbe:
        """Cancel the partner id + 32 zeros with a reference1 no order has: it cannot exist.

        Tokens seen so far are the partner id followed by 32 random hex digits (the spec's
        `tokenId`); all zeros is not a random value, and KBank cancels only when `reference1`
        matches the one given at tokenisation as well, which `TOKENCANCEL-CHECK` is not.
        """
        return CheckProbe(
            token_id=f"{settings.partner_id}{'0' * 32}",
            fields={"reference1": CHECK_REFERENCE1},
            why_harmless=(
                "the partner id and 32 zeros (KBank's 32 hex digits are random), with "
                f"reference1 {CHECK_REFERENCE1}, which no order has"
            ),
        )

    def judge_check(
        self, settings: KBankSettings, probe: CheckProbe, answer: object, rules: OutcomeRules
    ) -> CheckReport:
        """KBank publishes no error codes: only an outcome rule for its auth code proves keys.

        An answer in KBank's shape (HTTP 200, JSON, `statusCode` "10" and an `errorCode`) shows
        the base URL and TLS are right. Whether the partner id and secret were accepted cannot
        be read from a code KBank never documented; it can once the operator has a rule saying
        which code means "authentication failed": any other code then means they were accepted.
        """
        shaped = (
            isinstance(answer, TokenCancelError)
            and not isinstance(answer, AuthenticationError)
            and answer.http_status == _OK
            and answer.error_code is not None
        )
        if not shaped:
            return super().judge_check(settings, probe, answer, rules)
        assert isinstance(answer, TokenCancelError)  # noqa: S101 -- `shaped` says so
        return kbank_check_report(self, settings, probe, answer, rules)

    def build_request(self, settings: KBankSettings, prepared: PreparedCancel) -> OutgoingRequest:
        """The body of one attempt, without credentials: `KBankAuth` adds them."""
        body = {
            "partnerTxnUid": prepared.request_id,
            "requestDt": kbank_request_dt(settings.request_dt, self._clock()),
            "tokenId": prepared.token_id,
            "reference1": prepared.fields["reference1"],
        }
        return OutgoingRequest(
            method="POST",
            url=settings.base_url + self.operation_path,
            headers={"Content-Type": "application/json"},
            content=json.dumps(body, separators=(",", ":")).encode(),
        )

    def interpret(self, reader: AnswerReader) -> Verdict[KBankResult]:
        """KBank's outcome table (docs/providers.md, "KBank outcomes")."""
        data = reader.body_of_ok_answer()
        status_code = text_or_none(data.get("statusCode"))
        if status_code is None:
            raise reader.unexpected("no statusCode string in the body")
        if status_code == "00":  # success, with the token's new status (CANCEL_DOC's example)
            state = _token_state(data.get("tokenList"), reader.prepared.token_id)
            if state == "CANCELLED":
                return reader.verdict(
                    CancelOutcome.CANCELLED,
                    state,
                    CancelTokenResponse.from_dict,
                    source=CANCEL_DOC,
                    accepted=True,
                )
            raise reader.unexpected(f"statusCode 00 but the token's status is {state!r}")
        error_code = text_or_none(data.get("errorCode"))
        description = text_or_none(data.get("errorDesc"))
        if error_code == "KP9999":  # CANCEL_DOC's one error example: "kbank internal error"
            raise reader.fail(
                ProviderServerError,
                with_detail(f"refused with statusCode {status_code}", description),
                code=error_code,
                source=CANCEL_DOC,
            )
        return reader.by_operator_rule(
            error_code,
            description or "",
            CancelTokenResponse.from_dict,
            ambiguous_not_found="KBank answers the same for a wrong reference1: check it",
        )


_OK: Final = 200
CHECK_REFERENCE1: Final = "TOKENCANCEL-CHECK"
_AUTH_OUTCOMES: Final = frozenset(
    {RuleOutcome.AUTHENTICATION_FAILED, RuleOutcome.PERMISSION_DENIED}
)


def kbank_check_report(
    adapter: KBankAdapter,
    settings: KBankSettings,
    probe: CheckProbe,
    answer: TokenCancelError,
    rules: OutcomeRules,
) -> CheckReport:
    """The check's verdict on an answer in KBank's error shape that is not an auth failure."""
    shape = (
        f"base URL: the answer has KBank's shape (HTTP 200, JSON, statusCode '10', "
        f"errorCode {answer.error_code!r}; {CANCEL_DOC})"
    )
    tls = tls_fact(settings.base_url)
    if settings.client_cert is not None and settings.base_url.startswith("https://"):
        tls += "; the client certificate was presented and the handshake completed"
    auth_codes = sorted(
        {
            rule.error_code
            for rule in rules.rules
            if rule.provider == adapter.name and rule.outcome in _AUTH_OUTCOMES
        }
    )
    builder = CheckReportBuilder(adapter, settings, probe, answer)
    if auth_codes:
        return builder.passed(
            shape,
            tls,
            f"credentials accepted: KBank answered code {answer.error_code!r}, not the "
            f"authentication code ({', '.join(auth_codes)}) your outcome rules name "
            f"({rules.origin})",
        )
    return builder.inconclusive(
        "credentials: KBank publishes no error codes, so this answer cannot tell a wrong "
        "partner id or secret from an unknown token; add an outcome rule naming KBank's "
        'authentication code (outcome = "authentication_failed") to '
        "TOKENCANCEL_OUTCOME_RULES and the check proves them",
        shape,
        tls,
    )


def _token_state(token_list: object, token_id: str) -> str | None:
    """The status of the requested token in `tokenList`, or None when it is absent.

    The field table types `status` as an array while the example sends a string: both are read.
    """
    if not isinstance(token_list, list):
        return None
    entries = [entry for entry in token_list if isinstance(entry, dict)]
    for entry in entries:
        if entry.get("tokenId") == token_id:
            return _status_text(entry.get("status"))
    # Every field may be null: a lone entry without a tokenId is taken to be ours; a lone entry
    # naming another token is not.
    if len(entries) == 1 and entries[0].get("tokenId") is None:
        return _status_text(entries[0].get("status"))
    return None


def _status_text(value: object) -> str | None:
    if isinstance(value, list) and len(value) == 1:
        return text_or_none(value[0])
    return text_or_none(value)


KBANK: Final = KBankAdapter()
