"""Per-provider sliding-window rate limits, like the providers' own (off unless configured)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from tokencancel_sandbox._config import RateLimit

__all__ = ["SlidingWindowLimiter"]


class SlidingWindowLimiter:
    """Allow at most `limit.requests` calls in any `limit.per_seconds` window."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._accepted: deque[float] = deque()

    def acquire(self) -> float | None:
        """Take a slot: None if the call is allowed, else the seconds until a slot frees."""
        with self._lock:
            now = self._clock()
            window_start = now - self.limit.per_seconds
            while self._accepted and self._accepted[0] <= window_start:
                self._accepted.popleft()
            if len(self._accepted) >= self.limit.requests:
                return max(0.0, self._accepted[0] + self.limit.per_seconds - now)
            self._accepted.append(now)
            return None

    def reset(self) -> None:
        """Forget every call counted so far."""
        with self._lock:
            self._accepted.clear()
