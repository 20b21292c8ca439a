"""Rates: parsing `--rate`, the defaults per provider, and the limiter's spacing."""

from __future__ import annotations

import asyncio
import time

import pytest
from tokencancel import KBankSettings, SolidgateSettings, XenditSettings
from tokencancel._rate import Rate
from tokencancel.bulk import PacingLimiter
from tokencancel.providers.kbank import KBANK
from tokencancel.providers.solidgate import SOLIDGATE
from tokencancel.providers.xendit import XENDIT


@pytest.mark.parametrize(
    ("text", "requests", "per_seconds"),
    [("600/min", 600, 60.0), ("10/s", 10, 1.0), ("50/5s", 50, 5.0), ("100 / 2 min", 100, 120.0)],
)
def test_rate_parses_common_spellings(text: str, requests: int, per_seconds: float) -> None:
    """`--rate` accepts N/unit and N/<k>unit."""
    assert Rate.parse(text) == Rate(requests, per_seconds)


def test_rate_off_means_no_limit() -> None:
    """`--rate off` disables pacing."""
    assert Rate.parse("off") is None


@pytest.mark.parametrize("text", ["fast", "10", "10/fortnight", "0/s", "-1/s"])
def test_rate_rejects_nonsense_with_a_readable_error(text: str) -> None:
    """A bad `--rate` is a ValueError naming the accepted forms, never a crash."""
    with pytest.raises(ValueError, match="rate"):
        Rate.parse(text)


def test_xendit_default_follows_the_key_mode() -> None:
    """Xendit's default is 60/min for a test key and 600/min for a live key (docs/providers.md)."""
    test_key = XenditSettings(secret_key="xnd_development_abc")
    live_key = XenditSettings(secret_key="xnd_production_abc")
    assert XENDIT.default_rate(test_key) == Rate(60, 60.0)
    assert XENDIT.default_rate(live_key) == Rate(600, 60.0)


def test_solidgate_and_kbank_defaults() -> None:
    """Solidgate defaults to its published 10/s sandbox limit; KBank to a conservative 5/s."""
    assert SOLIDGATE.default_rate(SolidgateSettings("api_pk_a", "api_sk_a")) == Rate(10, 1.0)
    assert KBANK.default_rate(KBankSettings("KP1", "secret-1")) == Rate(5, 1.0)


def test_limiter_never_lets_more_than_the_limit_into_any_window() -> None:
    """With many concurrent callers, no window of T seconds holds more than N acquisitions."""
    rate = Rate(requests=5, per_seconds=0.25)

    async def scenario() -> list[float]:
        limiter = PacingLimiter(rate)
        stamps: list[float] = []

        async def caller() -> None:
            for _ in range(4):
                slot = await limiter.acquire()
                stamps.append(time.monotonic())
                slot.mark_sent(stamps[-1])

        await asyncio.gather(*(caller() for _ in range(8)))
        return sorted(stamps)

    stamps = asyncio.run(scenario())
    assert len(stamps) == 32
    for index, start in enumerate(stamps):
        in_window = [stamp for stamp in stamps[index:] if stamp - start <= rate.per_seconds]
        assert len(in_window) <= rate.requests
    # Spacing, not a burst: even the first N are spread over most of a window.
    limiter_interval = rate.per_seconds / (rate.requests * 0.98)
    assert stamps[rate.requests - 1] - stamps[0] >= 0.8 * (rate.requests - 1) * limiter_interval


def test_limiter_rejects_a_headroom_outside_zero_to_one() -> None:
    """A headroom above 1 would pace faster than the limit; it is refused."""
    with pytest.raises(ValueError, match="headroom"):
        PacingLimiter(Rate(1, 1.0), headroom=1.5)


def test_a_request_that_left_late_pushes_back_the_one_n_places_after_it() -> None:
    """The window counts from when a request actually left, not from when it got its slot."""
    rate = Rate(requests=3, per_seconds=0.3)

    async def scenario() -> tuple[float, float]:
        limiter = PacingLimiter(rate)
        first = await limiter.acquire()
        # The first request spends 0.2 s opening its connection before it leaves.
        late_departure = time.monotonic() + 0.2
        for _ in range(2):
            (await limiter.acquire()).mark_sent(time.monotonic())

        async def depart() -> None:
            await asyncio.sleep(0.2)
            first.mark_sent(late_departure)

        departing = asyncio.create_task(depart())
        await limiter.acquire()
        fourth_at = time.monotonic()
        await departing
        return late_departure, fourth_at

    late_departure, fourth_at = asyncio.run(scenario())
    assert fourth_at - late_departure >= rate.per_seconds
