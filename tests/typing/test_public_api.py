"""The public API of `tokencancel` as a type checker sees it (mypy --strict checks this file).

Each test also runs, against an in-memory transport, so the types asserted here are the types
the calls really return. `_misuse_is_rejected` is never called: its `type: ignore` comments
must each be needed (strict mode warns on unused ones), which proves mypy rejects the misuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, assert_type

import httpx2
import pytest
from tokencancel import (
    AsyncTokenCancelClient,
    CancelOutcome,
    CancelResult,
    KBankResult,
    KBankSettings,
    NotFoundError,
    Provider,
    ProviderError,
    RateLimitedError,
    RetryPolicy,
    SolidgateResult,
    SolidgateSettings,
    TokenCancelClient,
    TokenCancelError,
    XenditResult,
    XenditSettings,
)
from tokencancel_kbank_client.models import CancelTokenResponse
from tokencancel_xendit_client.models import PaymentToken

XENDIT_TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"


def _answer(request: httpx2.Request) -> httpx2.Response:
    if request.url.path.endswith("/cancel-token"):
        return httpx2.Response(
            200, json={"statusCode": "00", "tokenList": [{"status": "CANCELLED"}]}
        )
    if request.url.path.endswith("/recurring-token/cancel"):
        return httpx2.Response(200, json={"status": "processing"})
    if XENDIT_TOKEN in request.url.path:
        return httpx2.Response(200, json={"status": "CANCELED"})
    return httpx2.Response(404, json={"error_code": "DATA_NOT_FOUND", "message": "no"})


async def _async_answer(request: httpx2.Request) -> httpx2.Response:
    return _answer(request)


SETTINGS = (
    KBankSettings("KP1", "secret-1"),
    SolidgateSettings("api_pk_x", "api_sk_x"),
    XenditSettings("xnd_development_x"),
)


def test_sync_client_types() -> None:
    """The blocking client's calls return CancelResult with typed fields."""
    policy = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, jitter=0.0)
    with TokenCancelClient(
        *SETTINGS,
        timeout=5.0,
        retry=policy,
        transport_factory=lambda _: httpx2.MockTransport(_answer),
    ) as client:
        assert_type(client.providers, tuple[str, ...])
        kbank = client.cancel_kbank("T", reference1="R", partner_txn_uid=None)
        solidgate = client.cancel_solidgate("tok")
        xendit = client.cancel_xendit(XENDIT_TOKEN)
        generic = client.cancel(Provider.XENDIT, XENDIT_TOKEN, reference1=None)
        # Each provider's call is typed with that provider's models: no isinstance to narrow.
        assert_type(kbank, CancelResult[KBankResult])
        assert_type(kbank.parsed, CancelTokenResponse | None)
        assert_type(solidgate, CancelResult[SolidgateResult])
        assert_type(xendit.parsed, XenditResult | None)
        assert isinstance(xendit.parsed, PaymentToken)
        assert_type(generic, CancelResult[Any])
        for result in (kbank, solidgate, xendit, generic):
            assert_type(result.provider, str)
            assert_type(result.token_id, str)
            assert_type(result.outcome, CancelOutcome)
            assert_type(result.http_status, int)
            assert_type(result.provider_status, str | None)
            assert_type(result.raw_body, bytes)
            assert_type(result.attempts, int)
            assert_type(result.request_id, str | None)
            assert_type(result.parse_error, str | None)
            assert_type(result.to_json_dict(), dict[str, Any])
        assert kbank.outcome is CancelOutcome.CANCELLED
        assert solidgate.outcome is CancelOutcome.CANCELLATION_PENDING
        assert generic.outcome is CancelOutcome.CANCELLED


def test_error_types() -> None:
    """Errors carry typed facts; the tree's classes are ordinary exceptions."""
    with (
        TokenCancelClient(
            *SETTINGS, transport_factory=lambda _: httpx2.MockTransport(_answer)
        ) as client,
        pytest.raises(NotFoundError) as caught,
    ):
        client.cancel_xendit("pt-00000000-0000-0000-0000-000000000000")
    error = caught.value
    assert_type(error, NotFoundError)
    assert_type(error.provider, str | None)
    assert_type(error.http_status, int | None)
    assert_type(error.error_code, str | None)
    assert_type(error.message, str)
    assert_type(error.raw_body, bytes)
    assert_type(error.request_id, str | None)
    assert_type(error.retryable, bool)
    assert isinstance(error, ProviderError)
    assert isinstance(error, TokenCancelError)
    assert error.error_code == "DATA_NOT_FOUND"
    limited = RateLimitedError("slow down", reset_after=1.5)
    assert_type(limited.reset_after, float | None)


def test_async_client_types() -> None:
    """The async client's cancel methods are coroutines of CancelResult."""

    async def scenario() -> list[CancelResult[Any]]:
        async with AsyncTokenCancelClient(
            *SETTINGS, transport_factory=lambda _: httpx2.MockTransport(_async_answer)
        ) as client:
            pending = client.cancel_xendit(XENDIT_TOKEN)
            _ = assert_type(pending, Coroutine[Any, Any, CancelResult[XenditResult]])
            return [
                await pending,
                await client.cancel_kbank("T", reference1="R"),
                await client.cancel_solidgate("tok"),
                await client.cancel("kbank", "T", reference1="R"),
            ]

    results = asyncio.run(scenario())
    assert_type(results, list[CancelResult[Any]])
    assert [result.provider for result in results] == [
        Provider.XENDIT,
        Provider.KBANK,
        Provider.SOLIDGATE,
        Provider.KBANK,
    ]


def test_settings_types() -> None:
    """Settings expose their fields with the documented types."""
    kbank, solidgate, xendit = SETTINGS
    assert_type(kbank.client_cert, str | None)
    assert_type(solidgate.base_url, str)
    assert_type(xendit.secret_key, str)
    assert_type(XenditSettings.from_env({"XENDIT_SECRET_KEY": "xnd_x_key"}), XenditSettings)


def _misuse_is_rejected(client: TokenCancelClient, result: CancelResult[Any]) -> None:
    """Never called: every line is a mistake mypy must catch."""
    client.cancel_kbank("T")  # type: ignore[call-arg]
    client.cancel_kbank("T", "R")  # type: ignore[call-arg]
    client.cancel_xendit(39)  # type: ignore[arg-type]
    client.cancel_solidgate(token=b"tok")  # type: ignore[arg-type]
    result.outcome = CancelOutcome.CANCELLED  # type: ignore[misc]
    XenditSettings(secret_key=None)  # type: ignore[arg-type]
    RetryPolicy(max_attempts="3")  # type: ignore[arg-type]
    TokenCancelClient(xendit=SETTINGS[0])  # type: ignore[arg-type]
    client.cancel("xendt", XENDIT_TOKEN)  # type: ignore[arg-type]
    kbank: CancelResult[KBankResult] = client.cancel_xendit(XENDIT_TOKEN)  # type: ignore[assignment]
    del kbank
