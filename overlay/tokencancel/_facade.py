"""The typed facade: cancel a token at any registered provider, sync or async.

Both clients hold a `_core.Core` and differ only in sending (`send` or `await send_async`) and
in sleeping between attempts; each method is a few lines.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx2

from ._core import (
    DEFAULT_ATTEMPT_DEADLINE,
    DEFAULT_CANCEL_DEADLINE,
    DEFAULT_TIMEOUT,
    Cancel,
    Core,
    ProviderName,
    options_from_env,
    settings_from_env,
)
from ._errors import TokenCancelError, raised_detached
from ._provider import provider_value
from ._result import CancelResult
from ._retry import RetryPolicy
from ._rules import OutcomeRules
from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    AsyncTransportFactory,
    SyncTransportFactory,
    default_async_transport,
    default_sync_transport,
    send,
    send_async,
)
from .providers.kbank import KBANK, KBankResult, KBankSettings
from .providers.solidgate import SOLIDGATE, SolidgateResult, SolidgateSettings
from .providers.xendit import XENDIT, XenditResult, XenditSettings

__all__ = [
    "DEFAULT_ATTEMPT_DEADLINE",
    "DEFAULT_CANCEL_DEADLINE",
    "DEFAULT_TIMEOUT",
    "AsyncTokenCancelClient",
    "ProviderName",
    "TokenCancelClient",
    "options_from_env",
    "settings_from_env",
]


class _FacadeBase:
    """Construction and `repr` shared by both clients."""

    _core: Core

    def __repr__(self) -> str:
        core = getattr(self, "_core", None)  # absent in a frame of a constructor that failed
        if core is None:
            return f"{type(self).__name__}(<not constructed>)"
        configured = ", ".join(core.routes)
        return f"{type(self).__name__}(providers=[{configured}], retry={core.retry!r})"

    @property
    def providers(self) -> tuple[str, ...]:
        """The providers this client is configured for."""
        return tuple(provider_value(name) for name in self._core.routes)


class TokenCancelClient(_FacadeBase):
    """Cancel payment tokens at KBank, Solidgate and Xendit (blocking).

    Configure the providers you use, explicitly or with `from_env()`. Each call returns a
    `CancelResult` or raises a `TokenCancelError` (see `tokencancel._errors` for the tree). Use
    it as a context manager, or call `close()`, to release the connection pools.

    Args:
        kbank: KBank settings, or None if KBank is not used.
        solidgate: Solidgate settings, or None.
        xendit: Xendit settings, or None.
        settings: Settings of further registered providers.
        timeout: Seconds, or an `httpx2.Timeout`, for any one network wait (default 15 s, 5 s
            to connect).
        deadline: Seconds one attempt may take in all, body included (default 30).
        total_deadline: Seconds one cancel may take in all, retries included (default 90).
        max_response_bytes: Cap on an answer's size once decompressed (default 1 MiB).
        retry: When and how often to retry (see `RetryPolicy`).
        limits: Connection-pool limits per provider.
        outcome_rules: The operator's outcome rules (an `OutcomeRules` or a TOML file path).
        ca_bundle: A PEM file of CA certificates to trust instead of the system's.
        proxy: A proxy URL for https providers (default: HTTPS_PROXY / ALL_PROXY when
            `trust_env`); loopback and plain-http targets never use one.
        trust_env: Read proxies, NO_PROXY and SSL_CERT_FILE / SSL_CERT_DIR from the environment.
        transport_factory: Builds each provider's transport from the client's TLS context, pool
            limits and proxy (default: httpx2's; tests pass one returning a mock).
        sleep: How to wait between attempts (tests pass a recorder instead of `time.sleep`).
    """

    @raised_detached
    def __init__(
        self,
        kbank: KBankSettings | None = None,
        solidgate: SolidgateSettings | None = None,
        xendit: XenditSettings | None = None,
        *,
        settings: Iterable[Any] = (),
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_ATTEMPT_DEADLINE,
        total_deadline: float = DEFAULT_CANCEL_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 -- frozen, so one shared default is safe
        limits: httpx2.Limits | None = None,
        outcome_rules: OutcomeRules | str | os.PathLike[str] | None = None,
        ca_bundle: str | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        transport_factory: SyncTransportFactory = default_sync_transport,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._core = Core(
            [kbank, solidgate, xendit, *settings],
            timeout=timeout,
            retry=retry,
            deadline=deadline,
            total_deadline=total_deadline,
            max_response_bytes=max_response_bytes,
            limits=limits,
            outcome_rules=outcome_rules,
            ca_bundle=ca_bundle,
            proxy=proxy,
            trust_env=trust_env,
        )
        self._sleep = sleep
        self._http = {
            name: httpx2.Client(
                transport=transport_factory(route.transport), **self._core.client_arguments(route)
            )
            for name, route in self._core.routes.items()
        }

    @classmethod
    @raised_detached
    def from_env(cls, env: Mapping[str, str] = os.environ, **options: Any) -> Self:
        """Configure every provider whose variables are set, and the client from TOKENCANCEL_*.

        `options` are the constructor's keyword arguments; `TOKENCANCEL_OUTCOME_RULES` and
        `TOKENCANCEL_CA_BUNDLE` fill `outcome_rules` and `ca_bundle` unless given.
        """
        return cls(settings=settings_from_env(env), **{**options_from_env(env), **options})

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection pool."""
        for client in self._http.values():
            client.close()

    def cancel_kbank(
        self, token_id: str, *, reference1: str, partner_txn_uid: str | None = None
    ) -> CancelResult[KBankResult]:
        """Cancel a K PLUS token; `reference1` is the partner reference given at tokenisation.

        `partner_txn_uid` (at most 15 characters) is minted when not given, and kept on retries.
        """
        return self._run(
            self._core.start(KBANK, token_id, {"reference1": reference1}, partner_txn_uid)
        )

    def cancel_solidgate(self, token: str) -> CancelResult[SolidgateResult]:
        """Revoke a Solidgate recurring token (alipay, mbway, wechatpay)."""
        return self._run(self._core.start(SOLIDGATE, token, {}))

    def cancel_xendit(self, payment_token_id: str) -> CancelResult[XenditResult]:
        """Cancel a Xendit payment token (`pt-...`, exactly 39 characters)."""
        return self._run(self._core.start(XENDIT, payment_token_id, {}))

    def cancel(
        self,
        provider: ProviderName,
        token_id: str,
        *,
        reference1: str | None = None,
        request_id: str | None = None,
        **fields: str,
    ) -> CancelResult[Any]:
        """Cancel `token_id` at `provider`; `reference1` is required for KBank only.

        `request_id` is the provider's id for this cancel where it has one (KBank's
        `partnerTxnUid`); `fields` are per-token values of providers registered at run time.
        """
        return self._run(
            self._core.start(provider, token_id, {"reference1": reference1, **fields}, request_id)
        )

    def _run(self, cancel: Cancel) -> CancelResult[Any]:
        client = self._http[cancel.route.adapter.name]
        while True:
            request, limits = self._core.next_attempt(cancel)
            try:
                return self._core.conclude(cancel, send(client, request, limits, cancel.facts))
            except TokenCancelError as error:
                self._sleep(self._core.retry_delay(cancel, error))


class AsyncTokenCancelClient(_FacadeBase):
    """Cancel payment tokens at KBank, Solidgate and Xendit (asyncio).

    Same arguments and results as `TokenCancelClient`; the cancel methods are coroutines, and
    `transport_factory` builds async transports (`tokencancel.aiohttp_transport` for the
    aiohttp one). One client shares one connection pool per provider across every concurrent
    call; bound the concurrency with `limits` or a semaphore of your own. Close it with
    `aclose()` or `async with`.
    """

    @raised_detached
    def __init__(
        self,
        kbank: KBankSettings | None = None,
        solidgate: SolidgateSettings | None = None,
        xendit: XenditSettings | None = None,
        *,
        settings: Iterable[Any] = (),
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_ATTEMPT_DEADLINE,
        total_deadline: float = DEFAULT_CANCEL_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 -- frozen
        limits: httpx2.Limits | None = None,
        outcome_rules: OutcomeRules | str | os.PathLike[str] | None = None,
        ca_bundle: str | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        transport_factory: AsyncTransportFactory = default_async_transport,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._core = Core(
            [kbank, solidgate, xendit, *settings],
            timeout=timeout,
            retry=retry,
            deadline=deadline,
            total_deadline=total_deadline,
            max_response_bytes=max_response_bytes,
            limits=limits,
            outcome_rules=outcome_rules,
            ca_bundle=ca_bundle,
            proxy=proxy,
            trust_env=trust_env,
        )
        self._sleep = sleep
        self._http = {
            name: httpx2.AsyncClient(
                transport=transport_factory(route.transport), **self._core.client_arguments(route)
            )
            for name, route in self._core.routes.items()
        }

    @classmethod
    @raised_detached
    def from_env(cls, env: Mapping[str, str] = os.environ, **options: Any) -> Self:
        """Configure every provider whose variables are set; see `TokenCancelClient.from_env`."""
        return cls(settings=settings_from_env(env), **{**options_from_env(env), **options})

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection pool."""
        for client in self._http.values():
            await client.aclose()

    async def cancel_kbank(
        self, token_id: str, *, reference1: str, partner_txn_uid: str | None = None
    ) -> CancelResult[KBankResult]:
        """Cancel a K PLUS token; see `TokenCancelClient.cancel_kbank`."""
        return await self._run(
            self._core.start(KBANK, token_id, {"reference1": reference1}, partner_txn_uid)
        )

    async def cancel_solidgate(self, token: str) -> CancelResult[SolidgateResult]:
        """Revoke a Solidgate recurring token; see `TokenCancelClient.cancel_solidgate`."""
        return await self._run(self._core.start(SOLIDGATE, token, {}))

    async def cancel_xendit(self, payment_token_id: str) -> CancelResult[XenditResult]:
        """Cancel a Xendit payment token; see `TokenCancelClient.cancel_xendit`."""
        return await self._run(self._core.start(XENDIT, payment_token_id, {}))

    async def cancel(
        self,
        provider: ProviderName,
        token_id: str,
        *,
        reference1: str | None = None,
        request_id: str | None = None,
        **fields: str,
    ) -> CancelResult[Any]:
        """Cancel `token_id` at `provider`; see `TokenCancelClient.cancel`."""
        return await self._run(
            self._core.start(provider, token_id, {"reference1": reference1, **fields}, request_id)
        )

    async def _run(self, cancel: Cancel) -> CancelResult[Any]:
        client = self._http[cancel.route.adapter.name]
        while True:
            request, limits = self._core.next_attempt(cancel)
            try:
                return self._core.conclude(
                    cancel, await send_async(client, request, limits, cancel.facts)
                )
            except TokenCancelError as error:
                await self._sleep(self._core.retry_delay(cancel, error))
