"""The one interface every provider module implements, and the tools they read answers with.

A provider module (`kbank`, `solidgate`, `xendit`) holds everything this package knows about
one provider: its settings and their environment variables, its `httpx2.Auth`, the checks on
its arguments, how one attempt's request is built, how an answer becomes an outcome or an
error (its outcome table, each rule with its source), and its default bulk rate. The facade,
the command line and the bulk runner only ever talk to a `ProviderAdapter`.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs
import httpx2

from .._checks import check_wire_text, env_value
from .._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    TokenCancelError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from .._provider import provider_value
from .._rate import Rate
from .._redact import note_request_secret
from .._result import CancelOutcome
from .._rules import OutcomeRules, RuleOutcome
from .._transport import NOT_JSON, Answer, OutgoingRequest
from ._check import CheckProbe, CheckReport, judge_answer, no_probe_report

__all__ = [
    "AnswerReader",
    "CheckCall",
    "CredentialAuth",
    "CredentialPlacement",
    "EnvVar",
    "PreparedCancel",
    "ProviderAdapter",
    "ProviderSettings",
    "Verdict",
    "flatten_messages",
    "header_seconds",
    "text_or_none",
    "with_detail",
]

SettingsT = TypeVar("SettingsT", bound="ProviderSettings")
ParsedT = TypeVar("ParsedT")

_TOO_MANY_REQUESTS = 429
_SERVICE_UNAVAILABLE = 503
_OK = 200
_MAX_MESSAGE_DEPTH = 4

CheckCall = Callable[[str, Mapping[str, str]], Awaitable[Any]]
"""Sends one cancel of (token id, fields) and returns its `CancelResult` (the facade's cancel)."""


class ProviderSettings(Protocol):
    """What the transport needs of any provider's settings."""

    @property
    def base_url(self) -> str:
        """The spec's server URL the operation path is appended to."""
        ...


@attrs.frozen
class EnvVar:
    """One environment variable a provider reads, for `--help` and the error messages."""

    name: str
    meaning: str
    secret: bool = False
    selects_provider: bool = False  # setting it means "configure this provider"
    base_url: bool = False  # the provider's server URL (a run against a real server needs it)


@attrs.frozen(repr=False)
class CredentialPlacement:
    """Where a provider's credentials go on a request: one description, read by every sender.

    The client's auth flow (`CredentialAuth`) and the contract run's hooks both apply it, so
    the fuzzer authenticates exactly as the client does.

    Attributes:
        headers: Header name to value.
        body_fields: JSON body field to value, added to the serialised body object.
        signature_header: The header that carries a signature of the exact bytes sent.
        sign: The signature of a body (`signature_header` is set to `sign(body)`).
    """

    headers: Mapping[str, str] = attrs.field(factory=dict)
    body_fields: Mapping[str, str] = attrs.field(factory=dict)
    signature_header: str | None = None
    sign: Callable[[bytes], str] | None = None

    def __repr__(self) -> str:
        return "CredentialPlacement(<hidden>)"


class CredentialAuth(httpx2.Auth):
    """Apply a `CredentialPlacement` to each request as it leaves, and nowhere else.

    Body fields are spliced into the serialised JSON object (the body is built without them, so
    no frame of the call path holds a secret); the signature, when there is one, is computed
    last, over the exact bytes that will be sent.
    """

    requires_request_body = True

    def __init__(self, placement: CredentialPlacement) -> None:
        self._placement = placement
        # `{"field":"value",...,` built once per client, not per request: the body's own
        # members follow it. The settings already hold the secrets, so this holds no more.
        fields = json.dumps(dict(placement.body_fields), separators=(",", ":")).encode()
        self._body_prefix = fields[:-1] + b"," if placement.body_fields else b""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<credentials hidden>)"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Add the headers, splice the body fields, then sign the bytes."""
        placement = self._placement
        for name, value in placement.headers.items():
            request.headers[name] = value
        content = request.content
        if self._body_prefix and content.startswith(b'{"'):
            body = self._body_prefix + content[1:]
            # Replaced in place, as `Request.read()` leaves an in-memory body (stream and
            # content), rather than by building a second Request: that cost a KBank cancel a
            # quarter of its CPU (docs/bulk-and-bench.md, "Overhead cut").
            request.headers["Content-Length"] = str(len(body))
            request.stream = httpx2.ByteStream(body)
            request._content = body
        if placement.signature_header is not None and placement.sign is not None:
            signature = placement.sign(request.content)
            # Each request's signature is its own; a server echoing it, even base64-encoded, has
            # it redacted from that request's answer (a shape pattern covers only the plain form).
            note_request_secret(signature)
            request.headers[placement.signature_header] = signature
        yield request


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


class ProviderAdapter(ABC, Generic[SettingsT, ParsedT]):
    """Everything about one provider that the facade, the CLI and bulk need.

    Class attributes:
        name: The provider's name on the command line and in results (`Provider` value).
        display_name: The name as people write it.
        operation_path: The spec's path of the cancel operation (with its `{parameters}`).
        settings_type: The provider's settings class.
        env_vars: The environment variables `settings_from_env` reads.
        token_argument: What the provider calls the token (for error messages).
        field_names: Per-token values the provider needs besides the token id (KBank's
            `reference1`): bulk input columns, `cancel(..., reference1=...)` keywords.
        request_id_name: The name of the id a caller may choose for one cancel (KBank's
            `partner_txn_uid`), or None.
        check_auth_order: Why the provider's "not found" answer to the preflight's probe
            proves the credentials were accepted (see `check`).
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    operation_path: ClassVar[str]
    settings_type: ClassVar[type[Any]]
    env_vars: ClassVar[tuple[EnvVar, ...]]
    token_argument: ClassVar[str] = "token_id"  # noqa: S105 -- a parameter name, not a secret
    field_names: ClassVar[tuple[str, ...]] = ()
    request_id_name: ClassVar[str | None] = None
    check_auth_order: ClassVar[str] = ""

    def __repr__(self) -> str:
        return f"<{self.display_name} provider>"

    @property
    def provider(self) -> str:
        """The name as errors and results carry it: a `Provider` member for built-in ones."""
        return provider_value(self.name)

    # -- configuration ------------------------------------------------------------------------

    @abstractmethod
    def settings_from_env(self, env: Mapping[str, str]) -> SettingsT:
        """Read the provider's settings from `env`, or raise ConfigurationError naming what."""

    def is_selected_by(self, env: Mapping[str, str]) -> bool:
        """Whether `env` sets any variable that means "use this provider"."""
        return any(env_value(env, var.name) for var in self.env_vars if var.selects_provider)

    def credentials_hint(self) -> str:
        """The variables that configure this provider, for "not configured" messages."""
        return " and ".join(var.name for var in self.env_vars if var.selects_provider)

    @abstractmethod
    def credentials(self, settings: SettingsT) -> CredentialPlacement:
        """Where this provider's credentials go on a request (headers, body, signature)."""

    def auth(self, settings: SettingsT) -> httpx2.Auth:
        """The auth flow that adds the credentials to each request on its way out."""
        return CredentialAuth(self.credentials(settings))

    def client_certificate(self, settings: SettingsT) -> tuple[str, str | None] | None:
        """The client certificate and key for two-way TLS, if the provider uses one."""
        del settings
        return None

    def client_certificate_source(self) -> str:
        """Where the client certificate comes from, for the error when it cannot be loaded."""
        return f"the {self.display_name} client certificate or key"

    @abstractmethod
    def default_rate(self, settings: SettingsT) -> Rate:
        """The limit a bulk run holds unless told otherwise (with its source in the docs)."""

    # -- one cancel ------------------------------------------------------------------------------

    def prepare(
        self, token_id: object, fields: Mapping[str, object], *, request_id: object = None
    ) -> PreparedCancel:
        """Check the arguments of one cancel against the spec; refuse before anything is sent."""
        for name, value in fields.items():
            if name not in self.field_names and value is not None:
                raise InvalidRequestError(
                    f"{name} does not apply to {self.display_name}", provider=self.provider
                )
        token = self.check_token(token_id)
        for name in self.field_names:
            if fields.get(name) is None and self.field_is_required(name):
                raise InvalidRequestError(
                    f"{self.display_name} needs {name}", provider=self.provider
                )
        checked = {
            name: check_wire_text(fields.get(name), name, provider=self.provider)
            for name in self.field_names
            if fields.get(name) is not None or self.field_is_required(name)
        }
        return PreparedCancel(
            provider=provider_value(self.name),
            token_id=token,
            request_id=self.request_id(request_id),
            fields=checked,
        )

    def check_token(self, token_id: object) -> str:
        """Check the token id (providers narrow this to their format)."""
        return check_wire_text(token_id, self.token_argument, provider=self.provider)

    def field_is_required(self, name: str) -> bool:
        """Whether per-token value `name` must be given (all of them, unless a provider says)."""
        return name in self.field_names

    def request_id(self, supplied: object) -> str | None:
        """This cancel's request id: the caller's, checked, or a fresh one; None if unused."""
        if supplied is not None:
            raise InvalidRequestError(
                f"{self.display_name} has no request id to supply", provider=self.provider
            )
        return None

    @abstractmethod
    def build_request(self, settings: SettingsT, prepared: PreparedCancel) -> OutgoingRequest:
        """The request of one attempt (built afresh for each, without credentials)."""

    @abstractmethod
    def interpret(self, reader: AnswerReader) -> Verdict[ParsedT]:
        """Return the outcome `reader.answer` means, or raise the error it means."""

    # -- the preflight ---------------------------------------------------------------------------

    def base_url_variable(self) -> str:
        """The environment variable naming the base URL, for "check ..." hints."""
        names = [var.name for var in self.env_vars if var.name.endswith("BASE_URL")]
        return names[0] if names else "the base URL"

    def check_probe(self, settings: SettingsT) -> CheckProbe | None:
        """The harmless call: a cancel of a token that cannot exist (None: inconclusive)."""
        del settings
        return None

    async def check(
        self, settings: SettingsT, cancel: CheckCall, rules: OutcomeRules
    ) -> CheckReport:
        """Send the probe through `cancel` and report what its answer proves (`_check`)."""
        probe = self.check_probe(settings)
        if probe is None:
            return no_probe_report(self, settings)
        try:
            answer: object = await cancel(probe.token_id, probe.fields)
        except TokenCancelError as error:
            answer = error
        return self.judge_check(settings, probe, answer, rules)

    def judge_check(
        self, settings: SettingsT, probe: CheckProbe, answer: object, rules: OutcomeRules
    ) -> CheckReport:
        """What the probe's answer (a result or an error) proves; providers may refine it."""
        del rules
        return judge_answer(self, settings, probe, answer)

    def not_configured(self) -> ConfigurationError:
        """The error for a cancel at a provider the client was not configured for."""
        return ConfigurationError(
            f"{self.display_name} is not configured: pass its settings "
            f"({self.settings_type.__name__}) or set {self.credentials_hint()}",
            provider=provider_value(self.name),
        )


# -- reading answers --------------------------------------------------------------------------


@attrs.frozen
class AnswerReader:
    """One answer to one prepared cancel, and the ways to turn it into a verdict or an error."""

    adapter: ProviderAdapter[Any, Any]
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
