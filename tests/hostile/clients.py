"""Clients of every provider, sync and async, pointed at an attacker's loopback server.

Imported by the tests and by `memory_child`, which runs in a process of its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
from tokencancel import (
    AsyncTokenCancelClient,
    CancelResult,
    KBankSettings,
    RetryPolicy,
    SolidgateSettings,
    TokenCancelClient,
    TokenCancelError,
    XenditSettings,
)

from .hostile_server import (
    KBANK_PARTNER_ID,
    KBANK_PARTNER_SECRET,
    KBANK_TOKEN,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    SOLIDGATE_TOKEN,
    XENDIT_SECRET_KEY,
    XENDIT_TOKEN,
)

PROVIDERS = ("kbank", "solidgate", "xendit")
TOKENS = {"kbank": KBANK_TOKEN, "solidgate": SOLIDGATE_TOKEN, "xendit": XENDIT_TOKEN}
FIELDS: dict[str, dict[str, str]] = {
    "kbank": {"reference1": "ORDER-1"},
    "solidgate": {},
    "xendit": {},
}
NO_RETRY = RetryPolicy(max_attempts=1)


def settings_for(provider: str, url: str) -> Any:
    """`provider`'s settings with the hostile credentials, at the server `url`.

    KBank sends its credentials in the headers too, so an echo of the request's headers carries
    every credential back, the harder case for redaction.
    """
    if provider == "kbank":
        return KBankSettings(
            KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, base_url=f"{url}/v1", partner_headers=True
        )
    if provider == "solidgate":
        return SolidgateSettings(SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, base_url=f"{url}/api")
    return XenditSettings(XENDIT_SECRET_KEY, base_url=url)


@attrs.frozen
class Ending:
    """How one cancel ended: its result or error, and how long it took."""

    provider: str
    seconds: float
    result: CancelResult[Any] | None = None
    error: TokenCancelError | None = None


def run_sync(url: str, providers: tuple[str, ...] = PROVIDERS, **options: Any) -> list[Ending]:
    """One cancel per provider, each from its own sync client and thread, all at once."""
    endings: dict[str, Ending] = {}

    def one(provider: str) -> None:
        options.setdefault("retry", NO_RETRY)
        with TokenCancelClient(settings=[settings_for(provider, url)], **options) as client:
            started = time.monotonic()
            try:
                result = client.cancel(provider, TOKENS[provider], **FIELDS[provider])  # type: ignore[arg-type]
            except TokenCancelError as error:
                endings[provider] = Ending(provider, time.monotonic() - started, error=error)
            else:
                endings[provider] = Ending(provider, time.monotonic() - started, result=result)

    threads = [threading.Thread(target=one, args=(provider,)) for provider in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [endings[provider] for provider in providers]


def run_async(url: str, providers: tuple[str, ...] = PROVIDERS, **options: Any) -> list[Ending]:
    """One cancel per provider, each from its own async client, all at once on one loop."""
    options.setdefault("retry", NO_RETRY)

    async def one(provider: str) -> Ending:
        async with AsyncTokenCancelClient(
            settings=[settings_for(provider, url)], **options
        ) as client:
            started = time.monotonic()
            try:
                result = await client.cancel(provider, TOKENS[provider], **FIELDS[provider])  # type: ignore[arg-type]
            except TokenCancelError as error:
                return Ending(provider, time.monotonic() - started, error=error)
            return Ending(provider, time.monotonic() - started, result=result)

    async def every() -> list[Ending]:
        return list(await asyncio.gather(*(one(provider) for provider in providers)))

    return asyncio.run(every())


RUNNERS: dict[str, Callable[..., list[Ending]]] = {"sync": run_sync, "async": run_async}
