"""Fixtures of the overlay tests: a loopback capture server and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tokencancel import KBankSettings, SolidgateSettings, TokenCancelClient, XenditSettings

from .loopback_server import (
    FAST_RETRY,
    KBANK_PARTNER_ID,
    KBANK_PARTNER_SECRET,
    SHORT_TIMEOUT,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    XENDIT_SECRET_KEY,
    CaptureServer,
    SleepRecorder,
)
from .transports import TRANSPORTS, client_factory


@pytest.fixture
def server() -> Iterator[CaptureServer]:
    capture = CaptureServer()
    capture.start()
    try:
        yield capture
    finally:
        capture.stop()


@pytest.fixture
def kbank_settings(server: CaptureServer) -> KBankSettings:
    return KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, base_url=f"{server.url}/v1")


@pytest.fixture
def solidgate_settings(server: CaptureServer) -> SolidgateSettings:
    return SolidgateSettings(
        SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, base_url=f"{server.url}/api"
    )


@pytest.fixture
def xendit_settings(server: CaptureServer) -> XenditSettings:
    return XenditSettings(XENDIT_SECRET_KEY, base_url=server.url)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """How the client under test sends: every test using `make_client` runs once per way."""
    kind: str = request.param
    return kind


@pytest.fixture
def make_client(transport: str) -> Callable[..., Any]:
    """`TokenCancelClient`'s constructor, or the async client's on `transport` behind it."""
    return client_factory(transport)


@pytest.fixture
def client(
    kbank_settings: KBankSettings,
    solidgate_settings: SolidgateSettings,
    xendit_settings: XenditSettings,
    sleeps: SleepRecorder,
    make_client: Callable[..., Any],
) -> Iterator[TokenCancelClient]:
    with make_client(
        kbank_settings,
        solidgate_settings,
        xendit_settings,
        timeout=SHORT_TIMEOUT,
        retry=FAST_RETRY,
        sleep=sleeps,
    ) as token_client:
        yield token_client


@pytest.fixture
def env(server: CaptureServer) -> dict[str, str]:
    """The overlay's environment variables, pointing at the capture server."""
    return {
        "KBANK_PARTNER_ID": KBANK_PARTNER_ID,
        "KBANK_PARTNER_SECRET": KBANK_PARTNER_SECRET,
        "KBANK_BASE_URL": f"{server.url}/v1",
        "SOLIDGATE_PUBLIC_KEY": SOLIDGATE_PUBLIC_KEY,
        "SOLIDGATE_SECRET_KEY": SOLIDGATE_SECRET_KEY,
        "SOLIDGATE_BASE_URL": f"{server.url}/api",
        "XENDIT_SECRET_KEY": XENDIT_SECRET_KEY,
        "XENDIT_BASE_URL": server.url,
    }
