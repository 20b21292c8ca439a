"""The client test suite runs once per way of sending: every fixture-made client is one of these.

- `httpx2`: the blocking `TokenCancelClient` on httpx2's transport;
- `httpx2-async`: `AsyncTokenCancelClient` on httpx2's async transport;
- `aiohttp`: `AsyncTokenCancelClient` on `tokencancel.aiohttp_transport`.

The async ones are driven by `BlockingAsyncClient`, which runs each call to completion on one
event loop that lives as long as the client, so the blocking tests need no change to cover
them: the same scripted answers, the same assertions, three transports.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any

from tokencancel import AsyncTokenCancelClient, TokenCancelClient, aiohttp_transport

TRANSPORTS = ("httpx2", "httpx2-async", "aiohttp")


class BlockingAsyncClient:
    """An `AsyncTokenCancelClient` with the blocking client's interface, for the shared tests."""

    def __init__(
        self,
        *args: Any,
        use_aiohttp: bool,
        sleep: Callable[[float], None] | None = None,
        **options: Any,
    ) -> None:
        self._runner = asyncio.Runner()
        if sleep is not None:
            waits = sleep

            async def async_sleep(seconds: float) -> None:
                waits(seconds)

            options["sleep"] = async_sleep
        if use_aiohttp:
            options["transport_factory"] = aiohttp_transport.factory
        self._client = AsyncTokenCancelClient(*args, **options)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self._runner.run(attribute(*args, **kwargs))

        return blocking

    def __repr__(self) -> str:
        return repr(self._client)

    def close(self) -> None:
        try:
            self._runner.run(self._client.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> BlockingAsyncClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def client_factory(kind: str) -> Callable[..., Any]:
    """Build clients of `kind` with the blocking client's constructor arguments."""
    if kind == "httpx2":
        return TokenCancelClient
    if kind not in TRANSPORTS:
        raise ValueError(f"unknown transport {kind!r}")
    return functools.partial(BlockingAsyncClient, use_aiohttp=kind == "aiohttp")
