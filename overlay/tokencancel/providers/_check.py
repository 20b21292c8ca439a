"""The preflight: prove a provider's configuration with one call that changes nothing.

Each provider module names its harmless call (`ProviderAdapter.check_probe`): a cancel of a
token id that is well-formed for the provider but cannot exist, so the provider answers "not
found" when everything is right, and its authentication answer when the credentials are wrong.
What an answer proves:

- the provider's *documented* not-found answer (Xendit HTTP 404 `DATA_NOT_FOUND`, Solidgate
  2.01 "recurring token was not found"): the base URL reaches that provider's API (the answer
  has its shape), TLS verified its certificate (https), and the credentials were accepted
  (each provider authenticates a request before it looks the token up: the adapter's
  `check_auth_order` says why this is known);
- the authentication answer: base URL and TLS are right, the credentials are not (exit 2);
- an answer that is not the provider's shape (an HTML page, a 404 without the provider's
  code, another API's JSON): the base URL points elsewhere (exit 2);
- no answer: the host cannot be reached, or TLS failed (exit 3, or 2 for a certificate);
- an answer in the provider's shape that cannot tell a wrong credential from an unknown token
  (KBank without an outcome rule for its authentication code): inconclusive (exit 3).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs

from .._errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    RequestTimeoutError,
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from .._exit import ExitCode


class CheckedAdapter(Protocol):
    """What the check reads of a provider adapter (`ProviderAdapter` has all of it)."""

    @property
    def name(self) -> str:
        """The provider's name."""
        ...

    @property
    def display_name(self) -> str:
        """The provider's name as people write it."""
        ...

    @property
    def check_auth_order(self) -> str:
        """Why the probe's not-found answer proves the credentials were accepted."""
        ...

    def base_url_variable(self) -> str:
        """The variable naming the base URL."""
        ...

    def credentials_hint(self) -> str:
        """The variables holding the credentials."""
        ...


__all__ = [
    "CheckProbe",
    "CheckReport",
    "CheckReportBuilder",
    "CheckVerdict",
    "judge_answer",
    "no_probe_report",
    "tls_fact",
]

_TLS_WORDS = ("certificate", "ssl", "tls", "handshake")


class CheckVerdict(enum.StrEnum):
    """What the preflight concluded."""

    PASSED = "passed"  # everything it tests was proven
    INCONCLUSIVE = "inconclusive"  # nothing is known to be wrong, but not all was proven
    FAILED = "failed"  # something is known to be wrong (or unreachable)


@attrs.frozen
class CheckProbe:
    """The harmless call: a token id that cannot exist, the fields it needs, and why."""

    token_id: str
    fields: Mapping[str, str] = attrs.field(factory=dict)
    why_harmless: str = ""


@attrs.frozen
class CheckReport:
    """What the preflight proved, what it could not, and the likely cause of a failure."""

    provider: str
    verdict: CheckVerdict
    exit_code: int
    base_url: str
    probe: str
    answer: str
    verified: tuple[str, ...] = ()
    not_verified: tuple[str, ...] = ()
    cause: str | None = None

    @property
    def passed(self) -> bool:
        """Whether everything the check tests was proven."""
        return self.verdict is CheckVerdict.PASSED

    @property
    def refuses(self) -> bool:
        """Whether a bulk run must not start (something is known to be wrong)."""
        return self.verdict is CheckVerdict.FAILED

    def to_json_dict(self) -> dict[str, Any]:
        """The report as plain JSON values."""
        return {
            "provider": self.provider,
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "base_url": self.base_url,
            "probe": self.probe,
            "answer": self.answer,
            "verified": list(self.verified),
            "not_verified": list(self.not_verified),
            "cause": self.cause,
        }

    def render(self) -> str:
        """Human lines: the verdict, then what was and was not proven."""
        head = {
            CheckVerdict.PASSED: "configuration verified",
            CheckVerdict.INCONCLUSIVE: "configuration NOT fully verified",
            CheckVerdict.FAILED: "configuration check FAILED",
        }[self.verdict]
        lines = [f"check {self.provider}: {head} ({self.base_url})"]
        if self.cause:
            lines.append(f"  likely cause: {self.cause}")
        lines.extend(f"  verified: {item}" for item in self.verified)
        lines.extend(f"  not verified: {item}" for item in self.not_verified)
        lines.append(f"  call: {self.probe}")
        lines.append(f"  answer: {self.answer}")
        return "\n".join(lines)


def describe_answer(answer: object) -> str:
    """One line for what came back: an outcome, or an error with its status and code."""
    if isinstance(answer, TokenCancelError):
        return f"{type(answer).__name__}: {answer}"
    outcome = getattr(answer, "outcome", None)
    status = getattr(answer, "http_status", None)
    return f"HTTP {status}, outcome {outcome}"


def tls_fact(base_url: str) -> str:
    """What reaching `base_url` says about TLS."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return f"TLS: {parts.hostname}'s certificate was verified against the trusted CAs"
    return f"no TLS: plain HTTP to the loopback host {parts.hostname} (for testing only)"


def judge_answer(
    adapter: CheckedAdapter,
    settings: Any,
    probe: CheckProbe,
    answer: object,
) -> CheckReport:
    """The default reading of the probe's answer (see the module docstring)."""
    report = CheckReportBuilder(adapter, settings, probe, answer)
    if not isinstance(answer, TokenCancelError):
        return report.failed(
            ExitCode.INCOMPLETE,
            "the server reported cancelling a token that cannot exist: does "
            f"{adapter.base_url_variable()} point at a test double that accepts anything?",
        )
    for kind, judge in _JUDGES:
        if isinstance(answer, kind):
            return judge(report, answer)
    return report.inconclusive(
        f"credentials: {adapter.display_name} refused the check's call without saying whether "
        f"it knows the token ({answer.message}); try again later",
        report.shape,
        report.tls,
    )


def no_probe_report(adapter: CheckedAdapter, settings: Any) -> CheckReport:
    """The report for a provider that has no harmless call."""
    none = CheckProbe(token_id="(none)")  # noqa: S106 -- a placeholder, not a credential
    return CheckReportBuilder(adapter, settings, none, None).inconclusive(
        f"{adapter.display_name} has no harmless call to prove its configuration with"
    )


def _not_found(report: CheckReportBuilder, error: TokenCancelError) -> CheckReport:
    if (error.rule_source or "").startswith("operator rule"):
        # An operator's rule is not the provider's documented answer: it proves less.
        return report.inconclusive(
            f"credentials: the not-found answer is known only from an outcome rule "
            f"({error.rule_source})",
            report.shape,
            report.tls,
        )
    return report.passed(
        f"{report.shape}: its documented not-found answer ({error.rule_source})",
        report.tls,
        f"credentials accepted: {report.adapter.check_auth_order}",
    )


def _permission(report: CheckReportBuilder, error: TokenCancelError) -> CheckReport:
    del error
    return report.failed(
        ExitCode.USAGE,
        f"{report.name} accepted the credentials but they lack the permission to cancel tokens",
        report.shape,
        report.tls,
    )


def _authentication(report: CheckReportBuilder, error: TokenCancelError) -> CheckReport:
    del error
    return report.failed(
        ExitCode.USAGE,
        f"wrong credentials: {report.name} rejected them; check "
        f"{report.adapter.credentials_hint()}",
        f"{report.shape} (its authentication answer)",
        report.tls,
    )


def _unrecognised(report: CheckReportBuilder, error: TokenCancelError) -> CheckReport:
    return report.inconclusive(
        f"credentials: {report.name} answered code {error.error_code!r}, which no documented "
        "rule or outcome rule explains: it may mean a wrong credential or an unknown token",
        report.shape,
        report.tls,
    )


def _unexpected(report: CheckReportBuilder, error: TokenCancelError) -> CheckReport:
    hint = f"check {report.adapter.base_url_variable()}"
    detail = error.message if hint in error.message else f"{error.message}; {hint}"
    return report.failed(
        ExitCode.USAGE, f"wrong base URL: the answer is not {report.name}'s API ({detail})"
    )


def _transport(report: CheckReportBuilder, error: TokenCancelError) -> CheckReport:
    url_var = report.adapter.base_url_variable()
    if any(word in error.message.lower() for word in _TLS_WORDS):
        return report.failed(
            ExitCode.USAGE,
            f"TLS failed: {error.message}; check {url_var}, TOKENCANCEL_CA_BUNDLE and the "
            "client certificate",
        )
    if isinstance(error, RequestTimeoutError):
        return report.failed(
            ExitCode.INCOMPLETE,
            f"no answer in time from {report.name} ({error.message}); try again later",
        )
    return report.failed(
        ExitCode.INCOMPLETE,
        f"cannot reach {report.name}: {error.message}; check {url_var} (a wrong host or "
        "port) and the network",
    )


def _configuration(report: CheckReportBuilder, error: TokenCancelError) -> CheckReport:
    return report.failed(ExitCode.USAGE, f"configuration: {error.message}")


_Judge = Callable[["CheckReportBuilder", TokenCancelError], CheckReport]
# Most specific first: PermissionDeniedError is an AuthenticationError, UnrecognizedAnswerError
# an UnexpectedResponseError.
_JUDGES: tuple[tuple[type[TokenCancelError], _Judge], ...] = (
    (NotFoundError, _not_found),
    (PermissionDeniedError, _permission),
    (AuthenticationError, _authentication),
    (UnrecognizedAnswerError, _unrecognised),
    (UnexpectedResponseError, _unexpected),
    (TransportError, _transport),
    (ConfigurationError, _configuration),
)


@attrs.frozen
class CheckReportBuilder:
    """Builds the report of one probe: the verdict, its exit code and the lines behind it."""

    adapter: CheckedAdapter
    settings: Any
    probe: CheckProbe
    answer: object

    def _report(
        self,
        verdict: CheckVerdict,
        exit_code: int,
        *,
        verified: tuple[str, ...] = (),
        not_verified: tuple[str, ...] = (),
        cause: str | None = None,
    ) -> CheckReport:
        return CheckReport(
            provider=self.adapter.name,
            verdict=verdict,
            exit_code=exit_code,
            base_url=self.settings.base_url,
            probe=f"cancel of {self.probe.token_id}: {self.probe.why_harmless}",
            answer=describe_answer(self.answer),
            verified=verified,
            not_verified=not_verified,
            cause=cause,
        )

    @property
    def name(self) -> str:
        return self.adapter.display_name

    @property
    def shape(self) -> str:
        return f"base URL: the answer has the shape of {self.name}'s API"

    @property
    def tls(self) -> str:
        return tls_fact(self.settings.base_url)

    def passed(self, *verified: str) -> CheckReport:
        return self._report(CheckVerdict.PASSED, ExitCode.OK, verified=verified)

    def inconclusive(self, missing: str, *verified: str) -> CheckReport:
        return self._report(
            CheckVerdict.INCONCLUSIVE,
            ExitCode.INCOMPLETE,
            verified=verified,
            not_verified=(missing,),
        )

    def failed(self, exit_code: int, cause: str, *verified: str) -> CheckReport:
        return self._report(CheckVerdict.FAILED, exit_code, verified=verified, cause=cause)
