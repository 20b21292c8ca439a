"""Schemathesis extensions for the contract run: credentials, wire signing, body-aware checks.

schemathesis loads this file (`hooks` in contract/schemathesis.toml) in the process that fuzzes
one spec. Everything provider-specific comes from the overlay's registry: the adapter whose
`operation_path` is the case's path gives the settings (from the same environment variables the
client reads), where the credentials go (`credentials()`, the `CredentialPlacement` the client's
own auth flow applies), and how an answer is read (`interpret()`, its outcome table, with the
operator's outcome rules from `TOKENCANCEL_OUTCOME_RULES`). Nothing here branches on a provider.

- Credentials: the auth provider puts the placement's headers on each case the fuzzer meant to
  authenticate (and a placeholder where a body signature goes); `before_call` overwrites the
  placement's body fields that are present and well-formed, never adds missing ones, and has
  requests signed on send, over the exact bytes requests sends (spaced JSON, ASCII escapes).
  A case whose credential the fuzzer removed or garbled on purpose reaches the server as is.
- Checks: providers that refuse with HTTP 200 (KBank, Solidgate) cannot be judged by the stock
  status-based checks; the three below read the answer through the adapter's outcome table
  instead, with the same intent. schemathesis.toml says which provider runs which.
"""

from __future__ import annotations

import json
import os
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx2
import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from tokencancel import (
    AuthenticationError,
    InvalidRequestError,
    OutcomeRules,
    TokenCancelError,
)
from tokencancel._transport import Answer
from tokencancel.providers import (
    REGISTRY,
    AnswerReader,
    CredentialPlacement,
    PreparedCancel,
    ProviderAdapter,
)

if TYPE_CHECKING:
    from schemathesis import AuthContext, Case, CheckContext, HookContext, Response

# The auth provider puts this where a body signature goes; only a request still carrying it is
# signed on send (a signature the fuzzer removed or garbled stays as the fuzzer left it).
SIGNED_ON_SEND = "signed-on-send"

_OK, _REDIRECT = 200, 300


def adapter_of(case: Case[Any]) -> ProviderAdapter[Any, Any] | None:
    """The registered provider whose cancel operation is the case's."""
    for adapter in REGISTRY.values():
        if adapter.operation_path == case.operation.path:
            return adapter
    return None


@cache
def settings_of(name: str) -> Any:
    """A provider's settings, from the overlay's environment variables."""
    return REGISTRY[name].settings_from_env(os.environ)


def placement_of(adapter: ProviderAdapter[Any, Any]) -> CredentialPlacement:
    """Where the provider's credentials go, as the client's own auth flow puts them."""
    return adapter.credentials(settings_of(adapter.name))


@cache
def outcome_rules() -> OutcomeRules:
    """The operator's outcome rules (the sandbox's conventions, for a run against it)."""
    return OutcomeRules.from_env(os.environ, providers=REGISTRY)


# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------


@schemathesis.auth(refresh_interval=None, retry_on=[])
class ProviderCredentials:
    """Put the provider's credential headers on each case the fuzzer meant to authenticate.

    schemathesis skips this for cases whose credentials it removed or broke on purpose, and
    `retry_on=[]` keeps it from replaying a refused request with fresh credentials.
    """

    def get(self, case: Case[Any], context: AuthContext) -> dict[str, str] | None:
        """The placement's headers, and the signature placeholder where one goes."""
        adapter = adapter_of(case)
        if adapter is None:
            return None
        placement = placement_of(adapter)
        headers = dict(placement.headers)
        if placement.signature_header is not None:
            headers[placement.signature_header] = SIGNED_ON_SEND
        return headers

    def set(self, case: Case[Any], data: dict[str, str], context: AuthContext) -> None:
        """Overwrite the case's (generated) credential headers with the real ones."""
        if case.headers is None:
            case.headers = CaseInsensitiveDict()
        for name, value in data.items():
            case.headers[name] = value


class SignOnSend(requests.auth.AuthBase):
    """requests auth that signs the prepared body: the bytes requests is about to send."""

    def __init__(self, placement: CredentialPlacement) -> None:
        self._placement = placement

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Put the placement's signature of the prepared body in its header."""
        header, sign = self._placement.signature_header, self._placement.sign
        if header is not None and sign is not None:
            request.headers[header] = sign(_as_bytes(request.body))
        return request

    def __repr__(self) -> str:
        return "SignOnSend(<keys hidden>)"


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    """Put the real credentials in present, well-formed body fields; sign on send if asked."""
    adapter = adapter_of(case)
    if adapter is None:
        return
    placement = placement_of(adapter)
    if case.headers is not None:
        for name in list(case.headers):
            value = placement.headers.get(name) or placement.headers.get(
                _canonical(placement, name)
            )
            if value is not None and _is_well_formed(case.headers[name]):
                case.headers[name] = value
    if isinstance(case.body, dict):
        for field, value in placement.body_fields.items():
            if _is_well_formed(case.body.get(field)):
                case.body[field] = value
    header = placement.signature_header
    if (
        header is not None
        and case.headers is not None
        and case.headers.get(header) == SIGNED_ON_SEND
    ):
        kwargs["auth"] = SignOnSend(placement)


def _canonical(placement: CredentialPlacement, name: str) -> str:
    """The placement's spelling of header `name` (header names are case-insensitive)."""
    return next((known for known in placement.headers if known.lower() == name.lower()), name)


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


def verdict_of(adapter: ProviderAdapter[Any, Any], case: Case[Any], response: Response) -> str:
    """What the adapter's outcome table makes of `response`.

    `accepted` (the provider took this request: cancelled, or cancellation under way), `outcome`
    (it reported a state the token was already in), `authentication` (the credentials were refused),
    `invalid` (the request was refused as invalid), or `other` (anything else: not found, rate
    limited, server error, an unrecognised or unexpected answer).
    """
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    answer = Answer(response.status_code, httpx2.Headers(headers), response.content)
    prepared = PreparedCancel(provider=adapter.name, token_id=_token_of(case))
    try:
        verdict = adapter.interpret(AnswerReader(adapter, answer, prepared, outcome_rules()))
    except AuthenticationError:
        return "authentication"
    except InvalidRequestError:
        return "invalid"
    except TokenCancelError:
        return "other"
    return "accepted" if verdict.accepted else "outcome"


def _token_of(case: Case[Any]) -> str:
    """The token the request names: the path's or the body's `*token*` value (else "").

    The outcome tables read the token's own entry where an answer lists several (KBank).
    """
    named = {**(case.path_parameters or {}), **(case.body if isinstance(case.body, dict) else {})}
    for key, value in named.items():
        if "token" in key.lower() and isinstance(value, str):
            return value
    return ""


def _describe(response: Response) -> str:
    body = _json_or_none(response.content)
    shown = (
        json.dumps(body)[:200] if body is not None else f"{len(response.content)} bytes, not JSON"
    )
    return f"HTTP {response.status_code}: {shown}"


def _has_valid_credentials(adapter: ProviderAdapter[Any, Any], response: Response) -> bool:
    """Whether the request as sent carried every credential of the placement, all correct."""
    placement = placement_of(adapter)
    headers = response.request.headers
    if any(headers.get(name) != value for name, value in placement.headers.items()):
        return False
    raw = _as_bytes(response.request.body)
    if placement.body_fields:
        body = _json_or_none(raw)
        if not isinstance(body, dict) or any(
            body.get(field) != value for field, value in placement.body_fields.items()
        ):
            return False
    if placement.signature_header is not None and placement.sign is not None:
        return headers.get(placement.signature_header) == placement.sign(raw)
    return True


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


@schemathesis.check
def provider_positive_data_acceptance(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """Valid data with valid credentials must not be refused as invalid or unauthenticated.

    The stock `positive_data_acceptance` (tightened in schemathesis.toml) reads only the status;
    KBank and Solidgate refuse with HTTP 200, and Xendit's 400 is also its "already inactive".
    """
    adapter = adapter_of(case)
    if (
        adapter is None
        or not _is_fuzzed_operation_call(case, response)
        or not _generation_mode_is(case, positive=True)
        or not _has_valid_credentials(adapter, response)
    ):
        return None
    verdict = verdict_of(adapter, case, response)
    if verdict in {"authentication", "invalid"}:
        raise AssertionError(
            f"{adapter.display_name} refused valid data sent with valid credentials as "
            f"{verdict} ({_describe(response)})"
        )
    return None


@schemathesis.check
def provider_negative_data_rejection(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """Data that breaks the spec must be refused: a 2xx answer must not read as an outcome.

    Replaces the stock `negative_data_rejection` for the providers that refuse with HTTP 200.
    """
    adapter = adapter_of(case)
    if (
        adapter is None
        or not _is_fuzzed_operation_call(case, response)
        or not _generation_mode_is(case, positive=False)
    ):
        return None
    if not _OK <= response.status_code < _REDIRECT:
        return None  # a refusal; status and schema checks judge whether it is documented
    if verdict_of(adapter, case, response) == "accepted":
        raise AssertionError(
            f"{adapter.display_name} accepted a request that breaks the spec "
            f"({_describe(response)}); invalid data must be refused"
        )
    return None


# Answers (provider, description) whose credentials were already probed; probing once per distinct
# answer keeps the extra requests to a handful, which matters under a real provider's rate limit.
_PROBED_ANSWERS: set[tuple[str, str]] = set()
_PROBED_ANSWERS_LOCK = threading.Lock()


def _refused_as_unauthenticated(
    adapter: ProviderAdapter[Any, Any],
    case: Case[Any],
    response: Response,
    *,
    also_invalid_request: bool,
) -> bool:
    if response.status_code in {401, 403}:  # "who are you?", whatever the body convention
        return True
    verdict = verdict_of(adapter, case, response)
    return verdict == "authentication" or (also_invalid_request and verdict == "invalid")


@schemathesis.check
def provider_credentials_enforced(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A request without valid credentials must get the provider's authentication answer.

    Replaces the stock `ignored_auth` and `missing_required_header` for the providers that refuse
    with HTTP 200:
    - every request the fuzzer sent without valid credentials (a credential missing, malformed,
      or header and body disagreeing) must be refused as unauthenticated; when the body also
      breaks the spec, an invalid-request answer is accepted too;
    - a request sent with valid credentials is replayed, once per distinct answer, without them,
      with every credential altered, and with header and body disagreeing (or a signature of
      other bytes); each replay must be refused as unauthenticated.
    """
    adapter = adapter_of(case)
    if adapter is None or not _is_fuzzed_operation_call(case, response):
        return None
    name = adapter.display_name
    if not _has_valid_credentials(adapter, response):
        body_valid = _request_body_is_valid(case, response)
        if not _refused_as_unauthenticated(
            adapter, case, response, also_invalid_request=not body_valid
        ):
            raise AssertionError(
                f"{name} did not refuse a request without valid credentials as unauthenticated "
                f"({_describe(response)})"
            )
        return None
    if _refused_as_unauthenticated(adapter, case, response, also_invalid_request=False):
        return None  # provider_positive_data_acceptance reports valid credentials refused
    answer = (adapter.name, _describe(response))
    with _PROBED_ANSWERS_LOCK:
        if answer in _PROBED_ANSWERS:
            return None
        _PROBED_ANSWERS.add(answer)
    for description, probe in _probes(adapter, case, response):
        probe_response = _send_probe(case, response, probe)
        body_valid = _request_body_is_valid(probe, probe_response)
        if not _refused_as_unauthenticated(
            adapter, probe, probe_response, also_invalid_request=not body_valid
        ):
            raise AssertionError(
                f"{name} did not refuse the same request sent {description} "
                f"({_describe(probe_response)}).\nReplay: {probe.as_curl_command()}"
            )
    return None


def _probes(
    adapter: ProviderAdapter[Any, Any], case: Case[Any], response: Response
) -> list[tuple[str, Case[Any]]]:
    """Copies of `case` with its credentials removed or broken, each with what was done to it."""
    placement = placement_of(adapter)
    # The case as sent: `before_call` edited it in place, so it carries the credentials used.
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(dict(case.headers or {}))
    body = case.body
    signature = placement.signature_header
    credential_headers = [*placement.headers, *([signature] if signature else [])]
    if placement.body_fields and not isinstance(body, dict):
        return []
    bare_headers = CaseInsensitiveDict(headers)
    for header in credential_headers:
        bare_headers.pop(header, None)
    bare_body = (
        {k: v for k, v in body.items() if k not in placement.body_fields}
        if isinstance(body, dict)
        else body
    )
    wrong_headers = CaseInsensitiveDict(headers)
    for header in credential_headers:
        wrong_headers[header] = f"{headers.get(header, '')}-wrong"
    wrong_body = (
        {**body, **{field: f"{value}-wrong" for field, value in placement.body_fields.items()}}
        if isinstance(body, dict)
        else body
    )
    probes = [
        ("without any credential", _derive(case, bare_headers, bare_body)),
        ("with every credential altered", _derive(case, wrong_headers, wrong_body)),
    ]
    if placement.headers and placement.body_fields:
        probes.append(
            ("with header and body credentials that disagree", _derive(case, headers, wrong_body))
        )
    if signature is not None and placement.sign is not None:
        other_bytes = CaseInsensitiveDict(headers)
        other_bytes[signature] = placement.sign(_as_bytes(response.request.body) + b" ")
        probes.append(
            (
                "with a valid signature of other bytes than those sent",
                _derive(case, other_bytes, body),
            )
        )
    return probes


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
