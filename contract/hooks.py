"""Schemathesis extensions for the contract run: credentials, wire signing, body-aware checks.

schemathesis loads this file (`hooks` in contract/schemathesis.toml) in the process that
fuzzes one spec. It reads the provider's credentials from the same environment variables the
overlay reads, through the overlay's own settings, credential and signing code, so the fuzzer
authenticates exactly as the client does:

- KBank: the auth provider puts the overlay's credential headers on each case; `before_call`
  mirrors the credentials into the body fields `partnerId`/`partnerSecret`. Both overwrite only
  values that are present and well-formed, never add missing ones: a case generated without a
  credential (or with a malformed one) stays that way.
- Solidgate: the auth provider sets `merchant` and a placeholder `signature`; `before_call` hands
  requests an auth object that replaces the placeholder with the signature of the prepared body,
  the exact bytes that go on the wire (requests serialises JSON with spaces and ASCII escapes;
  httpx2 does not, so only the sent bytes can be signed). A case without the placeholder (its
  signature removed or garbled by the fuzzer) is sent unsigned.
- Xendit: the auth provider sets the overlay's HTTP Basic `Authorization`.

KBank and Solidgate answer every refusal, bad credentials and invalid data alike, with HTTP 200 and
an error body, so the status-based stock checks `negative_data_rejection`, `ignored_auth` and
`missing_required_header` cannot judge them. The checks below have the same intent and read the
body; schemathesis.toml says which provider runs which.
"""

from __future__ import annotations

import json
import os
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from tokencancel import KBankSettings, Provider, SolidgateSettings, XenditSettings
from tokencancel.providers.kbank import kbank_credential_headers
from tokencancel.providers.solidgate import solidgate_signature, solidgate_signature_matches
from tokencancel.providers.xendit import xendit_authorization

if TYPE_CHECKING:
    from schemathesis import AuthContext, Case, CheckContext, HookContext, Response

# Which spec an operation belongs to; the hooks serve one spec per process, whichever it is.
_PROVIDER_BY_PATH = {
    "/kplus/payment/cancel-token": Provider.KBANK,
    "/v1/recurring-token/cancel": Provider.SOLIDGATE,
    "/v3/payment_tokens/{payment_token_id}/cancel": Provider.XENDIT,
}

# The Solidgate auth provider sets this; only a request still carrying it is signed on send.
SIGNED_ON_SEND = "signed-on-send"

# KBank's body fields that repeat the credential headers (header name -> body field).
_KBANK_BODY_FIELDS = {"partner-id": "partnerId", "partner-secret": "partnerSecret"}

# KBank publishes no error codes; the sandbox's convention is the default. A team fuzzing the
# real KBank sets CONTRACT_KBANK_AUTH_ERROR_CODES to the code(s) KBank answers bad credentials with.
_KBANK_AUTH_CODES_VARIABLE = "CONTRACT_KBANK_AUTH_ERROR_CODES"
_KBANK_DEFAULT_AUTH_CODES = "AUTHENTICATION_FAILED"
_KBANK_INVALID_REQUEST_CODES = frozenset({"INVALID_REQUEST"})
_KBANK_SUCCESS = "00"
_SOLIDGATE_AUTHENTICATION_FAILED = "1.01"
_XENDIT_VALIDATION_ERROR = "API_VALIDATION_ERROR"
_OK, _REDIRECT, _BAD_REQUEST = 200, 300, 400
# Statuses that mean "who are you?" whatever the provider's body convention.
_AUTH_STATUSES = frozenset({401, 403})


def provider_of(case: Case[Any]) -> Provider | None:
    """The provider whose spec declares the case's operation."""
    return _PROVIDER_BY_PATH.get(case.operation.path)


@cache
def kbank_settings() -> KBankSettings:
    """KBank credentials and base URL, from the overlay's environment variables."""
    return KBankSettings.from_env(os.environ)


@cache
def solidgate_settings() -> SolidgateSettings:
    """Solidgate key pair and base URL, from the overlay's environment variables."""
    return SolidgateSettings.from_env(os.environ)


@cache
def xendit_settings() -> XenditSettings:
    """Xendit secret key and base URL, from the overlay's environment variables."""
    return XenditSettings.from_env(os.environ)


def kbank_authentication_codes() -> frozenset[str]:
    """The `errorCode` values that mean KBank refused the credentials."""
    raw = os.environ.get(_KBANK_AUTH_CODES_VARIABLE) or _KBANK_DEFAULT_AUTH_CODES
    return frozenset(code.strip() for code in raw.split(",") if code.strip())


# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------


@schemathesis.auth(refresh_interval=None, retry_on=[])
class ProviderCredentials:
    """Put the provider's credentials on each generated case the fuzzer meant to authenticate.

    schemathesis skips this for cases whose credentials it removed or broke on purpose, and
    `retry_on=[]` keeps it from replaying a refused request with fresh credentials.
    """

    def get(self, case: Case[Any], context: AuthContext) -> dict[str, str] | None:
        """The credential headers for the case's provider."""
        provider = provider_of(case)
        if provider is Provider.KBANK:
            return dict(kbank_credential_headers(kbank_settings()))
        if provider is Provider.SOLIDGATE:
            return {"merchant": solidgate_settings().public_key, "signature": SIGNED_ON_SEND}
        if provider is Provider.XENDIT:
            return {"Authorization": xendit_authorization(xendit_settings().secret_key)}
        return None

    def set(self, case: Case[Any], data: dict[str, str], context: AuthContext) -> None:
        """Overwrite the case's (generated) credential headers with the real ones."""
        if case.headers is None:
            case.headers = CaseInsensitiveDict()
        for name, value in data.items():
            case.headers[name] = value


class SolidgateWireSignature(requests.auth.AuthBase):
    """requests auth that signs the prepared body: the bytes requests is about to send."""

    def __init__(self, public_key: str, secret_key: str) -> None:
        self._public_key = public_key
        self._secret_key = secret_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign the prepared body: the exact bytes requests will send."""
        request.headers["signature"] = solidgate_signature(
            self._public_key, self._secret_key, _as_bytes(request.body)
        )
        return request

    def __repr__(self) -> str:
        return "SolidgateWireSignature(<keys hidden>)"


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    """Mirror KBank credentials into the body; have Solidgate requests signed on send."""
    provider = provider_of(case)
    if provider is Provider.KBANK:
        _mirror_kbank_credentials(case)
    elif (
        provider is Provider.SOLIDGATE
        and case.headers is not None
        and case.headers.get("signature") == SIGNED_ON_SEND
    ):
        settings = solidgate_settings()
        kwargs["auth"] = SolidgateWireSignature(settings.public_key, settings.secret_key)


def _mirror_kbank_credentials(case: Case[Any]) -> None:
    # Overwrite only well-formed values (non-empty strings): a missing credential or one the
    # fuzzer made malformed on purpose is what the case tests, and must reach the server as is.
    credentials = {
        name.lower(): value for name, value in kbank_credential_headers(kbank_settings()).items()
    }
    if case.headers is not None:
        for name in list(case.headers):
            if name.lower() in credentials and _is_well_formed(case.headers[name]):
                case.headers[name] = credentials[name.lower()]
    if isinstance(case.body, dict):
        for header, field in _KBANK_BODY_FIELDS.items():
            if _is_well_formed(case.body.get(field)) and header in credentials:
                case.body[field] = credentials[header]


def _is_well_formed(value: object) -> bool:
    return isinstance(value, str) and value != ""


# ---------------------------------------------------------------------------------------------
# Reading what was sent and what came back
# ---------------------------------------------------------------------------------------------


def _as_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError(f"cannot sign a streamed request body ({type(body).__name__})")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested past what the parser follows
        return None


def _is_fuzzed_operation_call(case: Case[Any], response: Response) -> bool:
    # Calls with undeclared methods (coverage phase) are judged by `unsupported_method`.
    return str(response.request.method).upper() == str(case.operation.method).upper()


def _generation_mode_is(case: Case[Any], *, positive: bool) -> bool:
    meta = case.meta
    if meta is None:
        return False
    mode = meta.generation.mode
    return mode.is_positive if positive else mode.is_negative


def _request_body_is_valid(case: Case[Any], response: Response) -> bool:
    """Whether the body as sent satisfies the operation's request schema."""
    body = _json_or_none(_as_bytes(response.request.body))
    if body is None:
        return False
    validator = _request_validator(case.operation.schema.raw_schema, case.operation.path)
    return bool(validator(body))


_VALIDATORS: dict[str, Any] = {}


def _request_validator(raw_schema: dict[str, Any], path: str) -> Any:
    if path not in _VALIDATORS:
        import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415 (checks only)

        content = raw_schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        schema = {**content["schema"], "components": raw_schema.get("components", {})}
        _VALIDATORS[path] = jsonschema.Draft202012Validator(schema).is_valid
    return _VALIDATORS[path]


def _kbank_answer(response: Response) -> tuple[str | None, str | None] | None:
    """(statusCode, errorCode) of a KBank JSON answer, or None when it is not one."""
    body = _json_or_none(response.content)
    if not isinstance(body, dict):
        return None
    status, code = body.get("statusCode"), body.get("errorCode")
    return (status if isinstance(status, str) else None, code if isinstance(code, str) else None)


def _solidgate_error_code(response: Response) -> str | None:
    """`error.code` of a Solidgate refusal; "" for a refusal without a code; None otherwise."""
    body = _json_or_none(response.content)
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    code = body["error"].get("code")
    return code if isinstance(code, str) else ""


def _kbank_has_valid_credentials(response: Response) -> bool:
    settings = kbank_settings()
    expected = {name.lower(): value for name, value in kbank_credential_headers(settings).items()}
    headers = response.request.headers
    if any(headers.get(name) != value for name, value in expected.items()):
        return False
    body = _json_or_none(_as_bytes(response.request.body))
    return isinstance(body, dict) and all(
        body.get(field) == expected.get(header) for header, field in _KBANK_BODY_FIELDS.items()
    )


def _solidgate_has_valid_credentials(response: Response) -> bool:
    settings = solidgate_settings()
    headers = response.request.headers
    signature = headers.get("signature")
    return (
        headers.get("merchant") == settings.public_key
        and isinstance(signature, str)
        and solidgate_signature_matches(
            settings.public_key, settings.secret_key, _as_bytes(response.request.body), signature
        )
    )


def _describe_kbank(response: Response) -> str:
    answer = _kbank_answer(response)
    if answer is None:
        return f"HTTP {response.status_code} without a KBank JSON body"
    status, code = answer
    return f"HTTP {response.status_code}, statusCode {status!r}, errorCode {code!r}"


def _describe_solidgate(response: Response) -> str:
    code = _solidgate_error_code(response)
    if code is None:
        body = _json_or_none(response.content)
        status = body.get("status") if isinstance(body, dict) else None
        return f"HTTP {response.status_code}, no error object (status {status!r})"
    return f"HTTP {response.status_code}, error.code {code!r}"


def _kbank_is_auth_refusal(response: Response, *, also_invalid_request: bool) -> bool:
    if response.status_code in _AUTH_STATUSES:
        return True
    answer = _kbank_answer(response)
    if answer is None or answer[0] == _KBANK_SUCCESS:
        return False
    accepted = kbank_authentication_codes()
    if also_invalid_request:
        accepted |= _KBANK_INVALID_REQUEST_CODES
    return answer[1] in accepted


def _solidgate_is_auth_refusal(response: Response, *, also_invalid_request: bool) -> bool:
    if response.status_code in _AUTH_STATUSES:
        return True
    code = _solidgate_error_code(response)
    return code == _SOLIDGATE_AUTHENTICATION_FAILED or (also_invalid_request and code == "2.01")


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


@schemathesis.check
def provider_positive_data_acceptance(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """Valid, authenticated data must not be refused as invalid or unauthenticated.

    The stock `positive_data_acceptance` (tightened in schemathesis.toml) reads only the status;
    KBank and Solidgate refuse with HTTP 200, and Xendit's 400 is also its "already inactive".
    """
    if not _is_fuzzed_operation_call(case, response) or not _generation_mode_is(
        case, positive=True
    ):
        return None
    provider = provider_of(case)
    if provider is Provider.KBANK and _kbank_has_valid_credentials(response):
        answer = _kbank_answer(response)
        refusals = kbank_authentication_codes() | _KBANK_INVALID_REQUEST_CODES
        if answer is not None and answer[0] != _KBANK_SUCCESS and answer[1] in refusals:
            raise AssertionError(
                "KBank refused valid data sent with valid credentials: " + _describe_kbank(response)
            )
    elif provider is Provider.SOLIDGATE and _solidgate_has_valid_credentials(response):
        if _solidgate_error_code(response) == _SOLIDGATE_AUTHENTICATION_FAILED:
            raise AssertionError(
                "Solidgate answered 'Authentication failed' (1.01) to valid data carrying a valid "
                "merchant and a signature of the exact bytes sent"
            )
    elif provider is Provider.XENDIT and response.status_code == _BAD_REQUEST:
        body = _json_or_none(response.content)
        if isinstance(body, dict) and body.get("error_code") == _XENDIT_VALIDATION_ERROR:
            raise AssertionError(
                "Xendit refused valid data as API_VALIDATION_ERROR (HTTP 400); the spec and the "
                "server disagree on what a valid request is"
            )
    return None


@schemathesis.check
def provider_negative_data_rejection(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """Data that breaks the spec must be refused: KBank statusCode != "00", Solidgate `error`.

    Replaces the stock `negative_data_rejection` for the two providers that refuse with HTTP 200.
    """
    if not _is_fuzzed_operation_call(case, response) or not _generation_mode_is(
        case, positive=False
    ):
        return None
    if not _OK <= response.status_code < _REDIRECT:
        return None  # a refusal; status and schema checks judge whether it is documented
    provider = provider_of(case)
    if provider is Provider.KBANK:
        answer = _kbank_answer(response)
        if answer is not None and answer[0] == _KBANK_SUCCESS:
            raise AssertionError(
                "KBank accepted a request that breaks the spec (statusCode '00'); invalid data "
                "must get a statusCode other than '00'"
            )
    elif provider is Provider.SOLIDGATE:
        body = _json_or_none(response.content)
        if isinstance(body, dict) and _solidgate_error_code(response) is None:
            raise AssertionError(
                "Solidgate accepted a request that breaks the spec ("
                + _describe_solidgate(response)
                + "); invalid data must get an `error` object"
            )
    return None


# Answers (provider, description) whose credentials were already probed; probing once per distinct
# answer keeps the extra requests to a handful, which matters under a real provider's rate limit.
_PROBED_ANSWERS: set[tuple[Provider, str]] = set()
_PROBED_ANSWERS_LOCK = threading.Lock()


@schemathesis.check
def provider_credentials_enforced(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A request without valid credentials must get the provider's authentication answer.

    Replaces the stock `ignored_auth` and `missing_required_header` for KBank and Solidgate:
    - every request the fuzzer sent without valid credentials (a credential missing, malformed,
      or KBank's header and body disagreeing) must be refused as unauthenticated; when the body
      also breaks the spec, an invalid-request answer is accepted too;
    - a request sent with valid credentials is replayed, once per distinct answer, without them,
      with a wrong secret, and with mismatched credentials (KBank) or a signature of other bytes
      (Solidgate); each replay must be refused as unauthenticated.
    """
    provider = provider_of(case)
    if provider not in (Provider.KBANK, Provider.SOLIDGATE):
        return None
    if not _is_fuzzed_operation_call(case, response):
        return None
    if provider is Provider.KBANK:
        valid, refused, describe = (
            _kbank_has_valid_credentials,
            _kbank_is_auth_refusal,
            _describe_kbank,
        )
    else:
        valid, refused, describe = (
            _solidgate_has_valid_credentials,
            _solidgate_is_auth_refusal,
            _describe_solidgate,
        )
    name = provider.display_name
    if not valid(response):
        body_valid = _request_body_is_valid(case, response)
        if not refused(response, also_invalid_request=not body_valid):
            raise AssertionError(
                f"{name} did not refuse a request without valid credentials as unauthenticated "
                f"({describe(response)})"
            )
        return None
    if refused(response, also_invalid_request=False):
        return None  # provider_positive_data_acceptance reports valid credentials refused
    answer = (provider, describe(response))
    with _PROBED_ANSWERS_LOCK:
        if answer in _PROBED_ANSWERS:
            return None
        _PROBED_ANSWERS.add(answer)
    for description, probe in _probes(provider, case, response):
        probe_response = _send_probe(case, response, probe)
        body_valid = _request_body_is_valid(probe, probe_response)
        if not refused(probe_response, also_invalid_request=not body_valid):
            raise AssertionError(
                f"{name} did not refuse the same request sent {description} "
                f"({describe(probe_response)}).\nReplay: {probe.as_curl_command()}"
            )
    return None


def _probes(provider: Provider, case: Case[Any], response: Response) -> list[tuple[str, Case[Any]]]:
    """Copies of `case` with its credentials removed or broken, each with what was done to it."""
    # The case as sent: `before_call` edited it in place, so it carries the credentials used.
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(case.headers or {}))
    body = case.body
    if provider is Provider.KBANK:
        if not isinstance(body, dict):
            return []
        secret_header = "Partner-Secret"  # noqa: S105 -- a header name
        wrong = str(body.get("partnerSecret", "")) + "-wrong"
        bare_headers = CaseInsensitiveDict(headers)
        bare_headers.pop("Partner-Id", None)
        bare_headers.pop("Partner-Secret", None)
        bare_body = {k: v for k, v in body.items() if k not in ("partnerId", "partnerSecret")}
        wrong_headers = CaseInsensitiveDict(headers)
        wrong_headers[secret_header] = wrong
        return [
            ("without credentials (no Partner-Id/Partner-Secret headers or body fields)",
             _derive(case, bare_headers, bare_body)),
            ("with a wrong partner secret in header and body",
             _derive(case, wrong_headers, {**body, "partnerSecret": wrong})),
            ("with header and body credentials that disagree (wrong partnerSecret in the body)",
             _derive(case, headers, {**body, "partnerSecret": wrong})),
        ]  # fmt: skip
    settings = solidgate_settings()
    raw = _as_bytes(response.request.body)
    bare_headers = CaseInsensitiveDict(headers)
    bare_headers.pop("merchant", None)
    bare_headers.pop("signature", None)
    wrong_key_headers = CaseInsensitiveDict(headers)
    wrong_key_headers["signature"] = solidgate_signature(
        settings.public_key, settings.secret_key + "-wrong", raw
    )
    other_bytes_headers = CaseInsensitiveDict(headers)
    other_bytes_headers["signature"] = solidgate_signature(
        settings.public_key, settings.secret_key, raw + b" "
    )
    return [
        ("without the merchant and signature headers", _derive(case, bare_headers, body)),
        ("with a signature made with a wrong secret key", _derive(case, wrong_key_headers, body)),
        ("with a valid signature of other bytes than those sent",
         _derive(case, other_bytes_headers, body)),
    ]  # fmt: skip


def _derive(case: Case[Any], headers: CaseInsensitiveDict[str], body: Any) -> Case[Any]:
    probe = case.derive(headers=headers)
    probe.body = body
    return probe


def _send_probe(case: Case[Any], response: Response, probe: Case[Any]) -> Response:
    # Sent through the transport, not `call`: no `before_call`, so nothing puts credentials back;
    # the run's rate limit still applies.
    url = str(response.request.url).split("?", 1)[0]
    base_url = url[: -len(case.formatted_path)] if url.endswith(case.formatted_path) else url
    sent: Response = case.operation.schema.transport.send(probe, base_url=base_url)
    return sent
