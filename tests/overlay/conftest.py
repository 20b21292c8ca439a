"""Fixtures of the overlay tests: a loopback capture server and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture
def client(
    kbank_settings: KBankSettings,
    solidgate_settings: SolidgateSettings,
    xendit_settings: XenditSettings,
    sleeps: SleepRecorder,
) -> Iterator[TokenCancelClient]:
    with TokenCancelClient(
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
