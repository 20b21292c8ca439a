"""Outcome rules an operator teaches the client: what a provider's code (or message) means.

The built-in outcome tables only contain rules with a public source (docs/providers.md). A
code no source explains is reported as `UnrecognizedAnswerError`, never as a final outcome.
An operator who learns from the provider's real sandbox what such a code means writes it in a
TOML file and points `TOKENCANCEL_OUTCOME_RULES` at it (or passes `outcome_rules=` to a client);
`cancel`, `bulk` and the library all read the same file, checked when the client is built:

    [[rule]]
    provider = "kbank"
    error_code = "TOKEN_ALREADY_CANCELLED"
    outcome = "already_inactive"
    source = "seen in KBank's UAT, 2026-11-30"

    [[rule]]
    provider = "solidgate"
    error_code = "2.01"
    message = "(?i)already cancel"     # a regular expression, searched in the joined messages
    outcome = "already_inactive"
    source = "Solidgate sandbox answer, ticket 4711"

A rule applies only where the built-in table has no documented rule for the answer.
"""

from __future__ import annotations

import enum
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from ._environment import OUTCOME_RULES_VARIABLE
from ._errors import ConfigurationError

__all__ = ["OUTCOME_RULES_VARIABLE", "OutcomeRule", "OutcomeRules", "RuleOutcome"]

_MAX_RULES_FILE_BYTES: Final = 1 << 20
_KEYS: Final = frozenset({"provider", "error_code", "message", "outcome", "source"})


class RuleOutcome(enum.StrEnum):
    """What an operator's rule may say a code means."""

    ALREADY_INACTIVE = "already_inactive"
    CANCELLATION_PENDING = "cancellation_pending"
    NOT_FOUND = "not_found"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    INVALID_REQUEST = "invalid_request"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"


@attrs.frozen
class OutcomeRule:
    """One rule: at `provider`, `error_code` (and `message`, when given) means `outcome`."""

    provider: str
    error_code: str
    outcome: RuleOutcome
    source: str
    message: re.Pattern[str] | None = None

    def matches(self, provider: str, error_code: str | None, message: str) -> bool:
        """Whether this rule covers an answer with `error_code` and `message` at `provider`."""
        if provider != self.provider or error_code != self.error_code:
            return False
        return self.message is None or self.message.search(message) is not None


@attrs.frozen
class OutcomeRules:
    """The operator's rules, in file order; the first that matches applies."""

    rules: tuple[OutcomeRule, ...] = ()
    origin: str | None = None

    def lookup(self, provider: str, error_code: str | None, message: str) -> OutcomeRule | None:
        """The first rule covering the answer, or None."""
        for rule in self.rules:
            if rule.matches(provider, error_code, message):
                return rule
        return None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, providers: Iterable[str]) -> OutcomeRules:
        """Read and check a rules file; every problem is a ConfigurationError naming the rule."""
        location = os.fspath(path)
        try:
            with Path(location).open("rb") as source:
                data = source.read(_MAX_RULES_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigurationError(
                f"{OUTCOME_RULES_VARIABLE}: cannot read {location!r} ({exc.strerror or exc})"
            ) from None
        if len(data) > _MAX_RULES_FILE_BYTES:
            raise ConfigurationError(f"{OUTCOME_RULES_VARIABLE}: {location!r} is over 1 MiB")
        try:
            document = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(
                f"{OUTCOME_RULES_VARIABLE}: {location!r} is not valid TOML: {exc}"
            ) from None
        return cls.from_mapping(document, providers=providers, origin=location)

    @classmethod
    def from_mapping(
        cls, document: Mapping[str, Any], *, providers: Iterable[str], origin: str = "rules"
    ) -> OutcomeRules:
        """Check a parsed rules document (`{"rule": [{...}, ...]}`)."""
        known = frozenset(providers)
        extra = set(document) - {"rule"}
        if extra:
            raise ConfigurationError(f"{origin}: unknown top-level keys {sorted(extra)}")
        entries = document.get("rule", [])
        if not isinstance(entries, list):
            raise ConfigurationError(f"{origin}: `rule` must be an array of tables ([[rule]])")
        rules = tuple(
            _rule(entry, number, known, origin) for number, entry in enumerate(entries, 1)
        )
        return cls(rules=rules, origin=origin)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, providers: Iterable[str]) -> OutcomeRules:
        """The rules file `TOKENCANCEL_OUTCOME_RULES` names, or no rules."""
        path = env.get(OUTCOME_RULES_VARIABLE)
        if not path:
            return cls()
        return cls.from_file(path, providers=providers)


def _rule(entry: object, number: int, providers: frozenset[str], origin: str) -> OutcomeRule:
    where = f"{origin}: rule {number}"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where} is not a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigurationError(f"{where} has unknown keys {sorted(unknown)}")
    for key in ("provider", "error_code", "outcome", "source"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigurationError(f"{where} needs a non-empty string `{key}`")
    if entry["provider"] not in providers:
        raise ConfigurationError(
            f"{where}: unknown provider {entry['provider']!r}; one of {sorted(providers)}"
        )
    try:
        outcome = RuleOutcome(entry["outcome"])
    except ValueError:
        choices = ", ".join(member.value for member in RuleOutcome)
        raise ConfigurationError(
            f"{where}: unknown outcome {entry['outcome']!r}; one of {choices}"
        ) from None
    message = entry.get("message")
    pattern: re.Pattern[str] | None = None
    if message is not None:
        if not isinstance(message, str) or not message:
            raise ConfigurationError(f"{where}: `message` must be a non-empty string")
        try:
            pattern = re.compile(message)
        except re.error as exc:
            raise ConfigurationError(
                f"{where}: `message` is not a regular expression: {exc}"
            ) from None
    return OutcomeRule(
        provider=entry["provider"],
        error_code=entry["error_code"],
        outcome=outcome,
        source=f"operator rule ({entry['source']})",
        message=pattern,
    )
