"""The async client: same wire, same outcomes and errors, one pool under concurrency."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from tokencancel import (
    AsyncTokenCancelClient,
    CancelOutcome,
    InvalidRequestError,
    KBankSettings,
    NotFoundError,
    RequestTimeoutError,
    SolidgateSettings,
    UnexpectedResponseError,
    XenditSettings,
    aiohttp_transport,
)
from tokencancel._transport import AsyncTransportFactory, default_async_transport

from .loopback_server import (
    FAST_RETRY,
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


@pytest.fixture(params=["httpx2", "aiohttp"])
def async_transport(request: pytest.FixtureRequest) -> AsyncTransportFactory:
    """Each async test runs on httpx2's async transport and on the aiohttp one."""
    return default_async_transport if request.param == "httpx2" else aiohttp_transport.factory


def make_client(kbank, solidgate, xendit, sleeps: SleepRecorder, **options):
    return AsyncTokenCancelClient(
        kbank,
        solidgate,
        xendit,
        timeout=options.pop("timeout", 2.0),
        retry=FAST_RETRY,
        sleep=sleeps.async_sleep,
        **options,
    )


def test_async_cancels_at_every_provider(  # noqa: PLR0917 -- pytest passes fixtures by name
    server: CaptureServer,
    kbank_settings: KBankSettings,
    solidgate_settings: SolidgateSettings,
    xendit_settings: XenditSettings,
    sleeps: SleepRecorder,
    async_transport,
):
    """Each async cancel sends the provider's request and returns its normalised outcome."""
    server.script(
        json_reply(200, {"statusCode": "00", "tokenList": [{"status": "CANCELLED"}]}),
        json_reply(200, {"status": "processing"}),
        CANCELED,
    )

    async def scenario():
        async with make_client(
            kbank_settings,
            solidgate_settings,
            xendit_settings,
            sleeps,
            transport_factory=async_transport,
        ) as c:
            return [
                await c.cancel("kbank", KBANK_TOKEN, reference1="R"),
                await c.cancel_solidgate(SOLIDGATE_TOKEN),
                await c.cancel_xendit(XENDIT_TOKEN),
            ]

    results = asyncio.run(scenario())
    assert [result.outcome for result in results] == [
        CancelOutcome.CANCELLED,
        CancelOutcome.CANCELLATION_PENDING,
        CancelOutcome.CANCELLED,
    ]
    assert results[0].request_id == server.requests[0].json()["partnerTxnUid"]
    assert [request.path for request in server.requests] == [
        "/v1/kplus/payment/cancel-token",
        "/api/v1/recurring-token/cancel",
        f"/v3/payment_tokens/{XENDIT_TOKEN}/cancel",
    ]
    assert server.requests[1].headers["signature"]


def test_async_errors_retries_and_refusals(
    server: CaptureServer,
    xendit_settings: XenditSettings,
    sleeps: SleepRecorder,
    async_transport,
):
    """The async client maps answers and retries exactly as the sync one does."""
    limited = json_reply(429, {"error_code": "RATE_LIMIT_EXCEEDED"}, ("Rate-Limit-Reset", "1"))
    server.script(
        limited,
        CANCELED,
        json_reply(404, {"error_code": "DATA_NOT_FOUND"}),
        html_reply(502),
    )

    async def scenario():
        async with make_client(
            None, None, xendit_settings, sleeps, transport_factory=async_transport
        ) as client:
            result = await client.cancel_xendit(XENDIT_TOKEN)
            with pytest.raises(NotFoundError):
                await client.cancel_xendit(XENDIT_TOKEN)
            with pytest.raises(UnexpectedResponseError):
                await client.cancel_xendit(XENDIT_TOKEN)
            with pytest.raises(InvalidRequestError):
                await client.cancel_xendit("pt-too-short")
            return result

    result = asyncio.run(scenario())
    assert result.attempts == 2
    assert sleeps.waits == [1.0]
    assert len(server.requests) == 4


def test_async_timeout(
    server: CaptureServer, xendit_settings: XenditSettings, sleeps, async_transport
):
    """A slow answer past the timeout is a RequestTimeoutError in async code too."""
    server.script(Reply(200, b"{}", delay=1.0))

    async def scenario():
        async with make_client(
            None, None, xendit_settings, sleeps, timeout=0.2, transport_factory=async_transport
        ) as client:
            await client.cancel_xendit(XENDIT_TOKEN)

    with pytest.raises(RequestTimeoutError):
        asyncio.run(scenario())


def test_concurrent_cancels_share_one_pool(
    server: CaptureServer,
    xendit_settings: XenditSettings,
    sleeps: SleepRecorder,
    async_transport,
):
    """Concurrent cancels on one client all succeed over a bounded, reused set of connections."""
    calls = 60
    server.script(
        *[json_reply(200, {"status": "CANCELED", "reference_id": str(n)}) for n in range(calls + 3)]
    )
    limits = httpx2.Limits(max_connections=8, max_keepalive_connections=8)

    async def scenario():
        async with make_client(
            None, None, xendit_settings, sleeps, limits=limits, transport_factory=async_transport
        ) as client:
            for _ in range(3):  # sequential calls reuse one connection
                await client.cancel_xendit(XENDIT_TOKEN)
            return await asyncio.gather(*(client.cancel_xendit(XENDIT_TOKEN) for _ in range(calls)))

    results = asyncio.run(scenario())
    assert all(result.outcome is CancelOutcome.CANCELLED for result in results)
    # Each result's raw answer and parsed model are the same answer: no crossing between tasks.
    references = [json.loads(result.raw_body)["reference_id"] for result in results]
    assert [result.parsed.reference_id for result in results] == references  # type: ignore[union-attr]
    assert len(set(references)) == calls
    ports = [request.client_port for request in server.requests]
    assert len(set(ports[:3])) == 1
    assert len(set(ports)) <= 8
