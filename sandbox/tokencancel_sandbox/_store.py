"""Token state: one store per sandbox, every read and change under one lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = ["CancelAttempt", "Token", "TokenStore"]


@dataclass
class Token:
    """A token of one provider, in that provider's own status vocabulary.

    `fault` makes cancels of the token misbehave for `faults_left` more attempts (forever when
    None). `settles_to`/`settles_at` schedule a later status change (Solidgate's asynchronous
    cancellation), applied lazily whenever the token is read: no timer threads.
    `cancels_in_flight` counts cancels that have named the token but not yet changed it (a
    `slow` fault holds one); Solidgate refuses a cancel that arrives meanwhile.
    """

    provider: str
    token_id: str
    status: str
    created: float
    updated: float
    fault: str | None = None
    faults_left: int | None = None
    delay_seconds: float | None = None
    reference1: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    settles_to: str | None = None
    settles_at: float | None = None
    cancels_in_flight: int = 0

    def settle(self, now: float) -> None:
        """Apply a scheduled status change that is due."""
        if self.settles_to is not None and self.settles_at is not None and now >= self.settles_at:
            self.status = self.settles_to
            self.updated = self.settles_at
            self.settles_to = None
            self.settles_at = None

    def snapshot(self) -> Token:
        """Return a copy safe to read outside the lock."""
        return replace(self, details=MappingProxyType(dict(self.details)))


@dataclass(frozen=True)
class CancelAttempt:
    """What a cancel did: the provider's outcome name and the token afterwards (None if unknown)."""

    outcome: str
    token: Token | None


class TokenStore:
    """All tokens of a sandbox, keyed by (provider, token id); safe under concurrent requests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], Token] = {}

    def now(self) -> float:
        """Return the store's clock (seconds since the epoch)."""
        return self._clock()

    def add(self, token: Token) -> bool:
        """Add `token`; return False, changing nothing, if its id is taken."""
        key = (token.provider, token.token_id)
        with self._lock:
            if key in self._tokens:
                return False
            self._tokens[key] = token
            return True

    def get(self, provider: str, token_id: str) -> Token | None:
        """Return a snapshot of a token, or None."""
        with self._lock:
            token = self._tokens.get((provider, token_id))
            if token is None:
                return None
            token.settle(self._clock())
            return token.snapshot()

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()

    def claim_fault(
        self, provider: str, token_id: str, reference1: str | None = None
    ) -> tuple[str, float | None] | None:
        """Count one cancel attempt against the token's fault; return (fault, delay) if it fires.

        A token that does not exist, or does not match `reference1`, has no fault.
        """
        with self._lock:
            token = self._find(provider, token_id, reference1)
            if token is None or token.fault is None:
                return None
            if token.faults_left is not None:
                if token.faults_left <= 0:
                    return None
                token.faults_left -= 1
            return token.fault, token.delay_seconds

    def begin_cancel(self, provider: str, token_id: str, reference1: str | None = None) -> None:
        """Count a cancel of the token as in flight until `cancel(..., in_flight=True)` ends it."""
        with self._lock:
            token = self._find(provider, token_id, reference1)
            if token is not None:
                token.cancels_in_flight += 1

    def cancel(
        self,
        provider: str,
        token_id: str,
        transition: Callable[[Token, float], str],
        reference1: str | None = None,
        *,
        in_flight: bool = False,
    ) -> CancelAttempt:
        """Apply the provider's cancel `transition` to a token atomically.

        `transition(token, now)` changes the token in place and names the outcome. An unknown
        token (or one whose reference1 differs from a non-None `reference1`) is `not_found`.
        `in_flight` ends a cancel counted by `begin_cancel` before its transition runs.
        """
        with self._lock:
            token = self._find(provider, token_id, reference1)
            if token is None:
                return CancelAttempt("not_found", None)
            if in_flight and token.cancels_in_flight > 0:
                token.cancels_in_flight -= 1
            now = self._clock()
            outcome = transition(token, now)
            return CancelAttempt(outcome, token.snapshot())

    def _find(self, provider: str, token_id: str, reference1: str | None) -> Token | None:
        token = self._tokens.get((provider, token_id))
        if token is None:
            return None
        if (
            token.reference1 is not None
            and reference1 is not None
            and token.reference1 != reference1
        ):
            return None
        token.settle(self._clock())
        return token
