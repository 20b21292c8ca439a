"""What the sync and async clients share: routes, argument checks, limits, results, retries.

One cancel flows one way (docs/architecture.md draws it):

    adapter.prepare        check the arguments against the spec; mint KBank's partnerTxnUid
    adapter.build_request  one attempt's request, without credentials
    send / send_async      the auth flow adds the credentials as it leaves; the whole answer
                           comes back in hand, within the deadline and the size cap
    adapter.interpret      the provider's outcome table: a Verdict, or a typed error
    _Core.conclude         the CancelResult
    _Core.retry_delay      on an error: wait and send again, or raise it

`_Core` holds all of it but the sending and the sleeping, which are the only things the sync
and async clients (`_facade`) do differently.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

import attrs
import httpx2

from ._checks import check_file, check_seconds
from ._environment import CA_BUNDLE_VARIABLE, OUTCOME_RULES_VARIABLE
from ._errors import ConfigurationError, TokenCancelError, raised_detached
from ._provider import ProviderName, provider_value
from ._redact import escape_controls, install_log_redaction, redact
from ._result import CancelResult
from ._retry import RetryPolicy
from ._rules import OutcomeRules
from ._transport import (
    Answer,
    AnswerLimits,
    AttemptFacts,
    TransportSettings,
    transport_settings,
)
from ._version import __version__
from .providers import (
    REGISTRY,
    AnswerReader,
    PreparedCancel,
    ProviderAdapter,
    adapter_for,
    adapter_for_settings,
)

__all__ = [
    "DEFAULT_ATTEMPT_DEADLINE",
    "DEFAULT_CANCEL_DEADLINE",
    "DEFAULT_TIMEOUT",
    "Cancel",
    "Core",
    "ProviderName",
    "options_from_env",
    "settings_from_env",
]

DEFAULT_TIMEOUT: Final = httpx2.Timeout(15.0, connect=5.0)
"""15 s for any one read or write, 5 s to connect."""
DEFAULT_ATTEMPT_DEADLINE: Final = 30.0
"""Seconds one attempt may take in all: connect, send, headers and the whole body."""
DEFAULT_CANCEL_DEADLINE: Final = 90.0
"""Seconds one cancel may take in all, retries and the waits between them included."""

USER_AGENT: Final = f"tokencancel/{__version__}"
_ACCEPT_ENCODING: Final = "gzip, deflate"  # what `_transport` decodes under its size cap


logger = logging.getLogger("tokencancel")


@raised_detached
def settings_from_env(env: Mapping[str, str]) -> list[Any]:
    """The settings of every registered provider that `env` selects (any credential set).

    A provider with some but not all of its variables set is a ConfigurationError naming the
    missing one; no provider at all is a ConfigurationError listing what to set.
    """
    chosen = [
        adapter.settings_from_env(env)
        for adapter in REGISTRY.values()
        if adapter.is_selected_by(env)
    ]
    if not chosen:
        hints = "; or ".join(adapter.credentials_hint() for adapter in REGISTRY.values())
        raise ConfigurationError(f"no provider is configured: set {hints}")
    return chosen


@raised_detached
def options_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The client options the environment sets: TOKENCANCEL_OUTCOME_RULES, TOKENCANCEL_CA_BUNDLE."""
    # The path is checked here: reading it, `OutcomeRules` turns only OS errors into
    # ConfigurationError, and a path no file system takes (NUL, a lone surrogate) raises others.
    check_file(env.get(OUTCOME_RULES_VARIABLE) or None, OUTCOME_RULES_VARIABLE)
    return {
        "outcome_rules": OutcomeRules.from_env(env, providers=REGISTRY),
        "ca_bundle": env.get(CA_BUNDLE_VARIABLE) or None,
    }


@attrs.frozen
class Route:
    """One configured provider: its adapter, its settings and its transport settings."""

    adapter: ProviderAdapter[Any, Any]
    settings: Any
    transport: TransportSettings


@attrs.define
class Cancel:
    """One cancel in progress."""

    route: Route
    prepared: PreparedCancel
    facts: AttemptFacts
    started: float
    attempt: int = 0


class Core:
    """Everything the sync and async clients share: routes, checks, limits, results, retries."""

    def __init__(
        self,
        settings: Iterable[Any],
        *,
        timeout: float | httpx2.Timeout,
        retry: RetryPolicy,
        deadline: float,
        total_deadline: float,
        max_response_bytes: int,
        limits: httpx2.Limits | None,
        outcome_rules: OutcomeRules | str | os.PathLike[str] | None,
        ca_bundle: str | None,
        proxy: str | None,
        trust_env: bool,
    ) -> None:
        install_log_redaction()
        self.timeout = _checked_timeout(timeout)
        self.retry = _checked_retry(retry)
        self.deadline = cast("float", check_seconds(deadline, "deadline"))
        self.total_deadline = cast("float", check_seconds(total_deadline, "total_deadline"))
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ConfigurationError("max_response_bytes must be a positive whole number of bytes")
        self.max_response_bytes = max_response_bytes
        self.rules = _rules(outcome_rules)
        self.rng = random.Random()  # noqa: S311 -- jitter, not cryptography
        pool = (
            limits
            if limits is not None
            else httpx2.Limits(max_connections=100, max_keepalive_connections=20)
        )
        self.routes: dict[str, Route] = {}
        for item in settings:
            if item is None:
                continue
            adapter = adapter_for_settings(item)
            if adapter.name in self.routes:
                raise ConfigurationError(f"{adapter.display_name} is configured twice")
            self.routes[adapter.name] = Route(
                adapter=adapter,
                settings=item,
                transport=transport_settings(
                    item.base_url,
                    limits=pool,
                    ca_bundle=ca_bundle,
                    client_certificate=adapter.client_certificate(item),
                    client_certificate_source=adapter.client_certificate_source(),
                    proxy=proxy,
                    trust_env=trust_env,
                    env=os.environ,
                ),
            )

    def client_arguments(self, route: Route) -> dict[str, Any]:
        """What each provider's httpx2 client is built with (its transport aside)."""
        return {
            "auth": route.adapter.auth(route.settings),
            "timeout": self.timeout,
            "follow_redirects": False,
            "trust_env": False,  # proxies and trust store were settled in `transport_settings`
            "headers": {"User-Agent": USER_AGENT, "Accept-Encoding": _ACCEPT_ENCODING},
        }

    def start(
        self,
        provider: ProviderAdapter[Any, Any] | str,
        token_id: object,
        fields: Mapping[str, object],
        request_id: object = None,
    ) -> Cancel:
        """Check one cancel's arguments and find its route; nothing is sent yet."""
        adapter = provider if isinstance(provider, ProviderAdapter) else adapter_for(provider)
        prepared = adapter.prepare(token_id, fields, request_id=request_id)
        route = self.routes.get(adapter.name)
        if route is None:
            raise adapter.not_configured()
        facts = AttemptFacts(
            provider_value(adapter.name), adapter.display_name, prepared.request_id
        )
        return Cancel(route, prepared, facts, started=time.monotonic())

    def next_attempt(self, cancel: Cancel) -> tuple[Any, AnswerLimits]:
        """The next attempt's request and limits (the deadline shrinks to what is left)."""
        cancel.attempt += 1
        left = self.total_deadline - (time.monotonic() - cancel.started)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: cancelling token %s, attempt %d",
                cancel.facts.provider,
                cancel.prepared.token_id,
                cancel.attempt,
                extra=_log_fields(cancel),
            )
        request = cancel.route.adapter.build_request(cancel.route.settings, cancel.prepared)
        return request, AnswerLimits(max(0.001, min(self.deadline, left)), self.max_response_bytes)

    def conclude(self, cancel: Cancel, answer: Answer) -> CancelResult[Any]:
        """The result `answer` means, or the error it means (raised)."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: answer HTTP %d, %d bytes",
                cancel.facts.provider,
                answer.status,
                len(answer.body),
                extra={**_log_fields(cancel), "status": answer.status},
            )
        reader = AnswerReader(cancel.route.adapter, answer, cancel.prepared, self.rules)
        verdict = cancel.route.adapter.interpret(reader)
        if verdict.parse_error is not None:
            logger.info(
                "%s: outcome %s stands, but the body did not fit the generated model (%s)",
                cancel.facts.provider,
                verdict.outcome,
                verdict.parse_error,
                extra=_log_fields(cancel),
            )
        return CancelResult(
            provider=provider_value(cancel.facts.provider),
            token_id=cancel.prepared.token_id,
            outcome=verdict.outcome,
            http_status=answer.status,
            provider_status=_provider_text(verdict.provider_status),
            parsed=verdict.parsed,
            raw_body=answer.body,
            attempts=cancel.attempt,
            request_id=cancel.prepared.request_id,
            parse_error=verdict.parse_error,
            rule_source=verdict.rule_source,
        )

    def retry_delay(self, cancel: Cancel, error: TokenCancelError) -> float:
        """The wait before the next attempt; raises `error` when retrying is unsafe or too late."""
        delay = self.retry.delay_before_retry(error, cancel.attempt, self.rng)
        elapsed = time.monotonic() - cancel.started
        if delay is None or elapsed + delay >= self.total_deadline:
            raise error
        logger.warning(
            "%s: attempt %d of %d failed (%s: %s); retrying in %.2f s",
            cancel.facts.provider,
            cancel.attempt,
            self.retry.max_attempts,
            type(error).__name__,
            error,
            delay,
            extra={**_log_fields(cancel), "status": error.http_status},
        )
        return delay


def _provider_text(text: str | None) -> str | None:
    """Provider text kept on a result: redacted, then its control characters escaped."""
    return None if text is None else escape_controls(redact(text))


def _checked_retry(retry: object) -> RetryPolicy:
    """`retry`, if its numbers can drive a retry loop; RetryPolicy checks only their signs."""
    if not isinstance(retry, RetryPolicy):
        raise ConfigurationError("retry must be a RetryPolicy")
    attempts = retry.max_attempts
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ConfigurationError("retry.max_attempts must be a whole number, at least 1")
    for name in ("base_delay", "max_delay"):
        value = getattr(retry, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"retry.{name} must be a number of seconds")
        if not math.isfinite(value) or not 0 <= value <= 86_400:  # noqa: PLR2004 -- one day
            raise ConfigurationError(f"retry.{name} must be from 0 to 86400 seconds")
    jitter = retry.jitter
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter <= 1:
        raise ConfigurationError("retry.jitter must be a number from 0 to 1")
    return retry


def _log_fields(cancel: Cancel) -> dict[str, Any]:
    """Structured fields for log records: `extra=` of the library's log calls."""
    return {
        "provider": cancel.facts.provider,
        "attempt": cancel.attempt,
        "request_id": cancel.prepared.request_id,
    }


def _checked_timeout(timeout: float | httpx2.Timeout) -> httpx2.Timeout:
    if isinstance(timeout, httpx2.Timeout):
        for phase in ("connect", "read", "write", "pool"):
            check_seconds(getattr(timeout, phase), f"timeout.{phase}", allow_none=True)
        return timeout
    seconds = cast("float", check_seconds(timeout, "timeout"))
    return httpx2.Timeout(seconds, connect=min(seconds, DEFAULT_TIMEOUT.connect or seconds))


def _rules(value: OutcomeRules | str | os.PathLike[str] | None) -> OutcomeRules:
    if value is None:
        return OutcomeRules()
    if isinstance(value, OutcomeRules):
        return value
    check_file(value, "outcome_rules")  # see options_from_env
    return OutcomeRules.from_file(value, providers=REGISTRY)
