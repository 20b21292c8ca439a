"""The one interface every provider module implements, and the tools they read answers with.

A provider module (`kbank`, `solidgate`, `xendit`) holds everything this package knows about
one provider: its settings and their environment variables, its `httpx2.Auth`, the checks on
its arguments, how one attempt's request is built, how an answer becomes an outcome or an
error (its outcome table, each rule with its source), and its default bulk rate. The facade,
the command line and the bulk runner only ever talk to a `ProviderAdapter`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs
import httpx2

from .._checks import check_wire_text, env_value
from .._errors import (
    ConfigurationError,
    InvalidRequestError,
    TokenCancelError,
)
from .._provider import provider_value
from .._rate import Rate
from .._rules import OutcomeRules
from .._transport import OutgoingRequest
from ._check import CheckProbe, CheckReport, judge_answer, no_probe_report
from ._credentials import CredentialAuth, CredentialPlacement
from ._reading import (
    AnswerReader,
    PreparedCancel,
    Verdict,
    flatten_messages,
    header_seconds,
    text_or_none,
    with_detail,
)

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
