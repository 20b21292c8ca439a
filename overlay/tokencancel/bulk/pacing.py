"""Pacing: at most N requests in any T seconds, retries included, measured on this side.

Providers enforce "N requests per T seconds" over a sliding window. `PacingLimiter` schedules one
request every `T / (N * 0.98)` seconds, with no initial burst and no catching up after a stall,
and never lets a request start less than `1.01 * T` after the one N places before it actually
left (its connection's trace says when). So no window of T seconds holds more than N requests,
even when opening a connection delayed one of them. The limiter sits in the HTTP transport
(`PacedTransport`), so the client's own retries are paced like first tries.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs
import httpx2

from .._rate import Rate

__all__ = [
    "PacedTransport",
    "PacingLimiter",
    "SendSlot",
    "TokenProgress",
    "WireLog",
    "current_token",
]

_HEADROOM: Final = 0.98
_WINDOW_MARGIN: Final = 1.01


class SendSlot:
    """One request's place in the pace: when it actually started to leave, once known."""

    __slots__ = ("_known", "sent_at")

    def __init__(self) -> None:
        self.sent_at: float | None = None
        self._known = asyncio.Event()

    def mark_sent(self, when: float) -> None:
        """Record the moment the request started to leave; later calls change nothing."""
        if self.sent_at is None:
            self.sent_at = when
            self._known.set()

    async def wait_sent(self) -> float:
        """The moment the request started to leave, waiting for it if need be."""
        await self._known.wait()
        assert self.sent_at is not None  # noqa: S101 - set together with the event
        return self.sent_at


class PacingLimiter:
    """Spaces requests evenly, and never lets more than the limit into any window.

    Two rules, both measured on this side:

    - *spacing*: acquisitions are scheduled `interval` = T / (N x headroom) apart, from the
      first one on (no initial burst), and the schedule restarts from now after a pause (no
      catching up);
    - *window*: a request may not start less than T x 1.01 after the request N places before it
      actually started to leave (`SendSlot.mark_sent`, fed from the connection's trace once the
      connection is open). This covers what spacing cannot see: a first request that spent its
      slot opening a connection reaches the provider late, closer to the ones after it.

    Spacing sets the pace (98 % of the limit); the window rule only bites after such delays.
    """

    def __init__(
        self,
        rate: Rate,
        *,
        headroom: float = _HEADROOM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.rate = rate
        self.interval = rate.per_seconds / (rate.requests * headroom)
        self.window = rate.per_seconds * _WINDOW_MARGIN
        self._clock = clock
        self._lock = asyncio.Lock()
        self._next_free: float | None = None
        self._recent: deque[SendSlot] = deque(maxlen=rate.requests)

    async def acquire(self) -> SendSlot:
        """Wait for the next slot (first come, first served); mark it sent when the request goes."""
        async with self._lock:
            now = self._clock()
            # max(): after a pause the schedule restarts from now, it never catches up.
            moment = now if self._next_free is None else max(self._next_free, now)
            await self._sleep_until(moment)
            if len(self._recent) == self.rate.requests:
                window_opens = await self._recent[0].wait_sent() + self.window
                await self._sleep_until(window_opens)
                moment = max(moment, window_opens)
            # From the scheduled moment, not the wake-up: a late wake-up does not slow the pace.
            self._next_free = moment + self.interval
            slot = SendSlot()
            self._recent.append(slot)
            return slot

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)


@attrs.define
class TokenProgress:
    """What the transport has seen of one token's cancel call."""

    attempts: int = 0
    stop_requested: bool = False


current_token: contextvars.ContextVar[TokenProgress | None] = contextvars.ContextVar(
    "tokencancel_bulkcurrent_token", default=None
)


class WireLog:
    """Send times of every request that went on the wire, for the achieved-rate figure."""

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None

    def record(self, when: float) -> None:
        """Count one request that left at `when`."""
        self.count += 1
        if self.first is None:
            self.first = when
        self.last = when

    def rate_per_second(self) -> float | None:
        """Requests per second between the first and the last send (None under two requests)."""
        if self.first is None or self.last is None or self.last <= self.first:
            return None
        return (self.count - 1) / (self.last - self.first)


_TraceCallback = Callable[[str, dict[str, Any]], Awaitable[None]]


def _send_tracer(slot: SendSlot, chained: _TraceCallback | None) -> _TraceCallback:
    """An httpcore2 trace callback marking `slot` when the request headers start to go out."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            slot.mark_sent(time.monotonic())
        if chained is not None:
            await chained(event, info)

    return trace


class PacedTransport(httpx2.AsyncBaseTransport):
    """Passes each request through the limiter first, so retries are paced like first tries."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        limiter: PacingLimiter | None,
        wire_log: WireLog,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._wire_log = wire_log

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Wait for the request's slot in the pace, then send it."""
        progress = current_token.get()
        if progress is not None and progress.stop_requested:
            # Ctrl-C came after this token's first try: no retry; the token stays undone.
            current = asyncio.current_task()
            if current is not None:
                current.cancel()
            await asyncio.sleep(0)
        if self._limiter is None:
            return await self._send(request, progress)
        slot = await self._limiter.acquire()
        request.extensions = {
            **request.extensions,
            "trace": _send_tracer(slot, request.extensions.get("trace")),
        }
        try:
            return await self._send(request, progress)
        finally:
            # No trace (an in-memory transport) or a failure before sending: the latest moment
            # the request can have left is now, so count it from now.
            slot.mark_sent(time.monotonic())

    async def _send(
        self, request: httpx2.Request, progress: TokenProgress | None
    ) -> httpx2.Response:
        if progress is not None:
            progress.attempts += 1
        self._wire_log.record(time.monotonic())
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the network transport."""
        await self._inner.aclose()
