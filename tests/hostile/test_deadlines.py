"""A total deadline per attempt and per cancel: drip-feeding servers end on time, every way.

Each attack runs against all three providers at once (one client and thread each, or one task
each), sync and async, and asserts the cancel ended in `RequestTimeoutError` no earlier than
the deadline (so the server really held it) and no later than the deadline plus `MARGIN`. The
margin is generous for a noisy 2-core machine, and still smaller than what the attacks won
before the socket-level deadline: one whole read timeout (`stall_before_deadline`,
`slow_drip`) or for ever (`header_drip`). The measured overshoot is a few milliseconds
(docs/overlay.md, "Hostile networks"; `python -m tests.hostile.measure` measures it again).
"""

from __future__ import annotations

import time

import pytest
from tokencancel import RequestTimeoutError, RetryPolicy

from .clients import PROVIDERS, RUNNERS, Ending
from .hostile_server import Exchange, RawServer, head

DEADLINE = 1.5
MARGIN = 0.75
BODY_HEAD = head(200, [("Content-Type", "application/json"), ("Content-Length", "100000")])


def silent(exchange: Exchange) -> None:
    """Read the request and never answer."""
    exchange.hold()


def stall_before_deadline(exchange: Exchange) -> None:
    """Answer at once, keep the body coming until just before the deadline, then stall."""
    _stall_at(exchange, DEADLINE - 0.1)


def stall_after_deadline(exchange: Exchange) -> None:
    """Answer at once, keep the body coming until just after the deadline, then stall."""
    _stall_at(exchange, DEADLINE + 0.1)


def _stall_at(exchange: Exchange, seconds: float) -> None:
    started = time.monotonic()
    exchange.send(BODY_HEAD)
    while time.monotonic() - started < seconds:
        exchange.send(b" ")
        exchange.wait(0.05)
    exchange.hold()


def slow_drip(exchange: Exchange) -> None:
    """One byte of body every 1.2 s: each byte arrives inside any per-read timeout."""
    exchange.send(BODY_HEAD)
    exchange.drip_for_ever(b" ", 1.2)


def fast_drip(exchange: Exchange) -> None:
    """One byte of body every 50 ms, for ever."""
    exchange.send(BODY_HEAD)
    exchange.drip_for_ever(b" ", 0.05)


def header_drip(exchange: Exchange) -> None:
    """A status line, then one byte of a header line every 0.3 s: the headers never end."""
    exchange.send(b"HTTP/1.1 200 OK\r\nX-Padding: ")
    exchange.drip_for_ever(b"a", 0.3)


def chunk_drip(exchange: Exchange) -> None:
    """A chunked body of one-byte chunks, one every 0.3 s, for ever."""
    exchange.send(
        head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
    )
    while True:
        exchange.send(b"1\r\n \r\n")  # a one-byte chunk, never the final empty one
        exchange.wait(0.3)


ATTACKS = [
    silent,
    stall_before_deadline,
    stall_after_deadline,
    slow_drip,
    fast_drip,
    header_drip,
    chunk_drip,
]


def assert_on_time(endings: list[Ending], limit: float) -> None:
    for ending in endings:
        assert isinstance(ending.error, RequestTimeoutError), (ending.provider, ending)
        assert "deadline" in ending.error.message, ending.error
        assert limit - 0.05 <= ending.seconds <= limit + MARGIN, (ending.provider, ending.seconds)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.__name__)
def test_a_dripping_server_ends_at_the_attempt_deadline(attack, mode):
    """Every provider's cancel ends in RequestTimeoutError within the deadline plus the margin."""
    with RawServer(attack) as server:
        endings = RUNNERS[mode](server.url, deadline=DEADLINE)
    assert_on_time(endings, DEADLINE)
    assert server.connections == len(PROVIDERS)


class FirstAttemptFails:
    """A script: each provider's first request gets a retryable 503, later ones a drip."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, exchange: Exchange) -> None:
        target = exchange.request.target
        if target not in self.seen:
            self.seen.add(target)
            exchange.answer(503, b"{}", [("Content-Type", "application/json")])
            exchange.close()
            return
        fast_drip(exchange)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_retries_end_at_the_total_deadline(mode):
    """After a retried 503, the drip is cut at total_deadline (shorter than one attempt's)."""
    total = 1.2
    script = FirstAttemptFails()
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=0.1, jitter=0)
    with RawServer(script) as server:
        endings = RUNNERS[mode](server.url, deadline=5.0, total_deadline=total, retry=policy)
    assert_on_time(endings, total)
    assert len(server.requests) == 2 * len(PROVIDERS)  # each provider: the 503, then the drip
