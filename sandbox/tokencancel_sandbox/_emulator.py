"""What every provider emulator provides; the shared request pipeline lives in `_app`."""

from __future__ import annotations

import hmac
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

from jsonschema_path import SchemaPath

from tokencancel_sandbox._answers import Answer
from tokencancel_sandbox._config import SandboxConfig
from tokencancel_sandbox._spec import Operation, Problem, ProviderSpec
from tokencancel_sandbox._store import CancelAttempt, Token
from tokencancel_sandbox._vocabulary import NovelWords

__all__ = ["Call", "Emulator", "constant_time_equal", "format_seconds", "iso_utc", "kbank_local"]


@dataclass(frozen=True)
class Call:
    """A request routed to a provider operation. Header names are lower-case."""

    operation: Operation
    headers: Mapping[str, str]
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    raw_body: bytes

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, if sent."""
        return self.headers.get("content-type")


class Emulator(ABC):
    """One provider: its statuses, its auth, and the shape of each of its answers.

    A subclass reads its vocabularies from its spec in `__init__` (see `_vocabulary`) and
    refuses to start, with SandboxConfigError, if the spec no longer lists a value it answers.
    """

    name: ClassVar[str]
    default_status: ClassVar[str]
    #: Extra fields the control API accepts when creating a token of this provider.
    extra_fields: ClassVar[frozenset[str]] = frozenset()
    #: The spec examples' token ids, seeded active at start and on reset.
    example_token_ids: ClassVar[tuple[str, ...]]
    #: The operationId of the cancel operation in the provider's spec.
    operation_id: ClassVar[str] = "cancelToken"

    #: Token statuses a token can be created in, in the provider's own vocabulary (from the spec
    #: where the spec enumerates them).
    statuses: tuple[str, ...]

    def __init__(self, config: SandboxConfig, spec: ProviderSpec) -> None:
        self.config = config
        self.spec = spec
        #: Answer cancels with codes, statuses and texts no client has seen.
        self.unknown_vocabulary = config.vocabulary == "unknown"
        self.novel = NovelWords()

    def answer_schema(self, status: str) -> SchemaPath:
        """The JSON schema of the cancel operation's documented answer with `status`."""
        return self.spec.answer_schema(self.operation_id, status)

    def setting_problems(self, call: Call, body: Any) -> list[Problem]:
        """Return how a spec-valid request breaks the sandbox's settings (none by default)."""
        return []

    @abstractmethod
    def authenticate(self, call: Call) -> Answer | None:
        """Return the provider's authentication answer if the credentials are wrong, else None."""

    @abstractmethod
    def invalid_request(self, call: Call, problems: list[Problem]) -> Answer:
        """Return the provider's answer to a request that breaks the spec."""

    @abstractmethod
    def rate_limited(self, call: Call, limit: int, reset_after: float) -> Answer:
        """Return the provider's rate-limit answer."""

    @abstractmethod
    def server_fault(self, call: Call, body: Any, fault: str) -> Answer:
        """Return the provider's answer for an injected `429`, `500` or `503` fault."""

    @abstractmethod
    def target(self, call: Call, body: Any) -> tuple[str, str | None]:
        """Return the token id a valid cancel request names, and its reference1 if any."""

    @abstractmethod
    def transition(self, token: Token, now: float) -> str:
        """Cancel `token` in place as the provider would; return the outcome's name."""

    @abstractmethod
    def answer(self, call: Call, body: Any, attempt: CancelAttempt) -> Answer:
        """Return the provider's answer to a cancel that reached the token store."""

    @abstractmethod
    def new_token_id(self) -> str:
        """Return a fresh token id in the provider's format."""

    def check_extras(self, extras: Mapping[str, Any]) -> str | None:
        """Return why the control API's extra token fields are unacceptable, or None."""
        return None if not extras else "no extra fields are accepted"

    def new_token(self, token_id: str, status: str, now: float, **fields: Any) -> Token:
        """Build a token in `status` (subclasses schedule follow-up changes)."""
        return Token(self.name, token_id, status, created=now, updated=now, **fields)


def constant_time_equal(received: str | None, expected: str) -> bool:
    """Compare a received credential with the expected one in constant time."""
    if received is None:
        return False
    return hmac.compare_digest(
        received.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def iso_utc(epoch: float) -> str:
    """Format a time as ISO 8601 UTC with milliseconds, e.g. `2026-11-21T05:53:55.123Z`."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


_BANGKOK = timezone(timedelta(hours=7))


def kbank_local(epoch: float | None = None) -> str:
    """Format a time as KBank does: Bangkok local date-time without offset, milliseconds."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, _BANGKOK)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds")


def format_seconds(seconds: float) -> str:
    """Format seconds for a header: integral values without a fraction, else up to ms."""
    text = f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".")
    return text or "0"
