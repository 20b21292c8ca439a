"""Retries: only where safe, bounded, with backoff, honouring the provider's reset, logged."""

from __future__ import annotations

import logging
import random
import socket

import pytest
from tokencancel import (
    CancelOutcome,
    NotFoundError,
    ProviderServerError,
    RateLimitedError,
    RetryPolicy,
    TokenCancelClient,
    TransportError,
    UnexpectedResponseError,
    XenditSettings,
)

from .loopback_server import (
    KBANK_TOKEN,
    SOLIDGATE_TOKEN,
    XENDIT_TOKEN,
    CaptureServer,
    Reply,
    SleepRecorder,
    html_reply,
    json_reply,
)

CANCELED = json_reply(200, {"status": "CANCELED"})
XENDIT_429 = json_reply(
    429,
    {"error_code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"},
    ("Rate-Limit-Limit", "60"),
    ("Rate-Limit-Remaining", "0"),
    ("Rate-Limit-Reset", "2.5"),
)


def test_xendit_429_waits_for_rate_limit_reset_then_succeeds(
    server: CaptureServer, client: TokenCancelClient, sleeps: SleepRecorder
):
    """After a 429 the client waits Rate-Limit-Reset seconds, retries, and reports 2 attempts."""
    server.script(XENDIT_429, CANCELED)
    result = client.cancel_xendit(XENDIT_TOKEN)
    assert result.outcome is CancelOutcome.CANCELLED
    assert result.attempts == 2
    assert sleeps.waits == [2.5]
    assert len(server.requests) == 2


def test_a_reset_beyond_max_delay_is_not_waited_for(
    server: CaptureServer, xendit_settings: XenditSettings, sleeps: SleepRecorder, make_client
):
    """A Rate-Limit-Reset longer than max_delay raises at once, with reset_after for the caller."""
    server.script(XENDIT_429, CANCELED)
    policy = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=1.0, jitter=0)
    with (
        make_client(xendit=xendit_settings, retry=policy, sleep=sleeps) as token_client,
        pytest.raises(RateLimitedError) as caught,
    ):
        token_client.cancel_xendit(XENDIT_TOKEN)
    assert caught.value.reset_after == 2.5
    assert sleeps.waits == []
    assert len(server.requests) == 1


def test_503_is_retried_with_exponential_backoff_up_to_the_limit(
    server: CaptureServer, client: TokenCancelClient, sleeps: SleepRecorder
):
    """Three 503s: three attempts, waits of base then double, then the error."""
    unavailable = json_reply(503, {"error_code": "CHANNEL_UNAVAILABLE", "message": "down"})
    server.script(unavailable, unavailable, unavailable, CANCELED)
    with pytest.raises(ProviderServerError) as caught:
        client.cancel_xendit(XENDIT_TOKEN)
    assert caught.value.http_status == 503
    assert sleeps.waits == [0.1, 0.2]
    assert len(server.requests) == 3


def test_solidgate_429_and_507_are_retried(
    server: CaptureServer, client: TokenCancelClient, sleeps: SleepRecorder
):
    """Solidgate's HTTP 429 and its 5.07 code under HTTP 200 are both retried."""
    limited = {"error": {"code": "5.07", "messages": ["Exceeded API calls limits"]}}
    server.script(
        json_reply(429, limited),
        json_reply(200, limited),
        json_reply(200, {"status": "processing"}),
    )
    result = client.cancel_solidgate(SOLIDGATE_TOKEN)
    assert result.outcome is CancelOutcome.CANCELLATION_PENDING
    assert result.attempts == 3
    assert len(sleeps.waits) == 2


def test_kbank_retry_keeps_the_partner_txn_uid_and_refreshes_nothing_else_but_time(
    server: CaptureServer, client: TokenCancelClient
):
    """A retried KBank cancel sends the same partnerTxnUid, which the result reports."""
    cancelled = {"statusCode": "00", "tokenList": [{"tokenId": KBANK_TOKEN, "status": "CANCELLED"}]}
    server.script(Reply(503, b""), json_reply(200, cancelled))
    result = client.cancel_kbank(KBANK_TOKEN, reference1="R")
    first, second = (request.json() for request in server.requests)
    assert first["partnerTxnUid"] == second["partnerTxnUid"] == result.request_id
    assert {key: value for key, value in first.items() if key != "requestDt"} == {
        key: value for key, value in second.items() if key != "requestDt"
    }


@pytest.mark.parametrize(
    ("reply", "error_type"),
    [
        (json_reply(500, {"error_code": "SERVER_ERROR", "message": "x"}), ProviderServerError),
        (html_reply(502), UnexpectedResponseError),
        (Reply(504, b""), UnexpectedResponseError),
        (json_reply(404, {"error_code": "DATA_NOT_FOUND"}), NotFoundError),
    ],
)
def test_answers_that_are_not_safe_to_retry_are_not_retried(
    server: CaptureServer, client: TokenCancelClient, sleeps: SleepRecorder, reply, error_type
):
    """500, gateway pages and refusals are raised after one attempt."""
    server.script(reply, CANCELED)
    with pytest.raises(error_type):
        client.cancel_xendit(XENDIT_TOKEN)
    assert len(server.requests) == 1
    assert sleeps.waits == []


def test_a_connection_reset_before_any_answer_is_retried(
    server: CaptureServer, client: TokenCancelClient, sleeps: SleepRecorder
):
    """A connection dropped before any answer is retried (a second cancel is harmless)."""
    server.script(Reply(drop=True), CANCELED)
    result = client.cancel_xendit(XENDIT_TOKEN)
    assert result.attempts == 2
    assert len(sleeps.waits) == 1


def test_resets_on_every_attempt_end_in_a_transport_error(
    server: CaptureServer, client: TokenCancelClient
):
    """When every attempt is reset the caller gets a retryable TransportError after 3 tries."""
    server.script(Reply(drop=True), Reply(drop=True), Reply(drop=True))
    with pytest.raises(TransportError) as caught:
        client.cancel_xendit(XENDIT_TOKEN)
    assert caught.value.http_status is None
    assert len(server.requests) == 3


def test_connection_refused_is_retried_then_raised(sleeps: SleepRecorder, make_client):
    """Nothing listening: connect errors are retried max_attempts times, then TransportError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = XenditSettings("xnd_development_x", base_url=f"http://127.0.0.1:{port}")
    policy = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=1.0, jitter=0)
    with (
        make_client(xendit=settings, retry=policy, sleep=sleeps) as token_client,
        pytest.raises(TransportError) as caught,
    ):
        token_client.cancel_xendit(XENDIT_TOKEN)
    assert caught.value.retryable is True
    assert sleeps.waits == [0.05, 0.1, 0.2]


def test_every_retry_is_logged_at_warning_without_secrets(
    server: CaptureServer, client: TokenCancelClient, caplog: pytest.LogCaptureFixture
):
    """Each retry logs provider, attempt, reason and delay at WARNING."""
    server.script(XENDIT_429, CANCELED)
    with caplog.at_level(logging.WARNING, logger="tokencancel"):
        client.cancel_xendit(XENDIT_TOKEN)
    (record,) = [r for r in caplog.records if r.name == "tokencancel"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith("xendit: attempt 1 of 3 failed (RateLimitedError")
    assert "retrying in 2.50 s" in message


def test_no_retry_policy_sends_once(server: CaptureServer, xendit_settings, sleeps, make_client):
    """max_attempts=1 turns retries off."""
    server.script(XENDIT_429, CANCELED)
    with (
        make_client(
            xendit=xendit_settings, retry=RetryPolicy(max_attempts=1), sleep=sleeps
        ) as token_client,
        pytest.raises(RateLimitedError),
    ):
        token_client.cancel_xendit(XENDIT_TOKEN)
    assert len(server.requests) == 1


def test_backoff_is_capped_and_jittered_within_bounds():
    """Backoff doubles to max_delay; jitter only ever shortens a wait, by at most its fraction."""
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=5.0, jitter=0.5)
    rng = random.Random(7)  # noqa: S311 -- jitter, not cryptography
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (8, 5.0)]:
        waits = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(ceiling * 0.5 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 1


@pytest.mark.parametrize(
    "arguments",
    [{"max_attempts": 0}, {"base_delay": -1}, {"max_delay": -1}, {"jitter": 1.5}],
)
def test_retry_policy_refuses_nonsense(arguments):
    """A policy that cannot work is refused when made."""
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**arguments)


@pytest.mark.parametrize("reset", ["soon", "-3", "nan", "inf", ""])
def test_a_nonsense_rate_limit_reset_falls_back_to_backoff(
    server: CaptureServer, client: TokenCancelClient, sleeps: SleepRecorder, reset: str
):
    """An unreadable Rate-Limit-Reset is ignored: the retry uses the policy's backoff."""
    limited = json_reply(429, {"error_code": "RATE_LIMIT_EXCEEDED"}, ("Rate-Limit-Reset", reset))
    server.script(limited, CANCELED)
    assert client.cancel_xendit(XENDIT_TOKEN).attempts == 2
    assert sleeps.waits == [0.1]
