"""The typed facade: cancel a token at KBank, Solidgate or Xendit, sync or async.

Built on the generated clients: each configured provider gets one generated `Client` whose
httpx2 client (one connection pool, reused by every call; see `_http` for why it joins the
generated request paths to the base URL itself) carries the provider's `httpx2.Auth`,
the timeout, TLS verification (always on; KBank's client certificate when configured) and a
response hook that keeps the raw answer, so a body the generated parser chokes on still becomes a
typed error. Arguments are checked against the spec before anything is sent.

KBank's `partnerTxnUid`: one per cancel, minted here (or supplied by the caller) and sent
unchanged on every retry of that cancel, with a fresh `requestDt` each time. A retry happens only
when KBank gave no answer or refused before processing (429, 503), so the id names one logical
request: if KBank de-duplicates on it, a retry cannot act twice, and the caller has a single id
(`CancelResult.request_id`, `error.request_id`) to quote to KBank.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Protocol, Self

import attrs
import httpx2
import tokencancel_kbank_client
import tokencancel_solidgate_client
import tokencancel_xendit_client
from tokencancel_kbank_client.api.kplus_payment import cancel_token as kbank_cancel
from tokencancel_kbank_client.models.cancel_token_request import CancelTokenRequest as KBankRequest
from tokencancel_solidgate_client.api.alternative_payment_methods import (
    cancel_token as solidgate_cancel,
)
from tokencancel_solidgate_client.models.revoke_token_request import RevokeTokenRequest
from tokencancel_xendit_client.api.payment_tokens import cancel_token as xendit_cancel
from tokencancel_xendit_client.models.cancel_token_api_version import CancelTokenApiVersion

from ._auth import (
    PARTNER_TXN_UID_MAX_LENGTH,
    XENDIT_API_VERSION,
    KBankAuth,
    SolidgateAuth,
    XenditAuth,
    new_partner_txn_uid,
)
from ._errors import (
    ConfigurationError,
    InvalidRequestError,
    RequestTimeoutError,
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
)
from ._http import JoiningAsyncClient, JoiningClient
from ._interpret import Answer, interpret
from ._provider import Provider
from ._redact import install_log_redaction
from ._result import CancelResult
from ._retry import RetryPolicy
from ._settings import KBankSettings, SolidgateSettings, XenditSettings

__all__ = ["DEFAULT_TIMEOUT", "AsyncTokenCancelClient", "TokenCancelClient"]

DEFAULT_TIMEOUT = httpx2.Timeout(15.0, connect=5.0)
"""15 s to read or write, 5 s to connect: long enough for a slow provider, short enough to act."""

XENDIT_TOKEN_ID_LENGTH = 39
USER_AGENT = "tokencancel/0.1.0"
# By value, not by member name: the generator names enum members after the spec's values.
_XENDIT_API_VERSION = CancelTokenApiVersion(XENDIT_API_VERSION)

logger = logging.getLogger("tokencancel")

# The last response seen in this task or thread: kept by an httpx2 response hook, so the raw
# answer is at hand even when the generated parser raises on it.
_last_response: ContextVar[httpx2.Response | None] = ContextVar("_last_response", default=None)

# What the generated parsers raise on a body they cannot read.
_PARSE_ERRORS = (
    ArithmeticError,
    AttributeError,
    LookupError,
    RecursionError,
    TypeError,
    ValueError,
)

# Transport failures after which no answer exists, so sending again is safe (see _retry).
_NO_ANSWER_ERRORS = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.RemoteProtocolError,
    httpx2.ReadError,
    httpx2.WriteError,
)
_ENV_HINTS = {
    Provider.KBANK: "KBANK_PARTNER_ID and KBANK_PARTNER_SECRET",
    Provider.SOLIDGATE: "SOLIDGATE_PUBLIC_KEY and SOLIDGATE_SECRET_KEY",
    Provider.XENDIT: "XENDIT_SECRET_KEY",
}


class _Detailed(Protocol):
    """The generated `Response` of any of the three packages."""

    @property
    def parsed(self) -> object: ...


def _keep_response(response: httpx2.Response) -> None:
    _last_response.set(response)


async def _keep_response_async(response: httpx2.Response) -> None:
    _last_response.set(response)


@attrs.frozen
class _Operation:
    """One cancel, checked and ready to send as many times as retries need."""

    provider: Provider
    token_id: str
    request_id: str | None = None


def _refuse(provider: Provider, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, provider=provider)


def _check_token(provider: Provider, value: object, name: str) -> str:
    if not isinstance(value, str):
        raise _refuse(provider, f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise _refuse(provider, f"{name} must not be empty")
    return value


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """One verifying context shared by every client without a client certificate.

    Building one loads the CA bundle, which costs more than a request to a local server; an
    SSLContext is safe to share between connections and threads.
    """
    return httpx2.create_ssl_context()


def _ssl_context(settings: KBankSettings | None) -> ssl.SSLContext:
    """Return a verifying TLS context, with KBank's client certificate when configured."""
    if settings is None or settings.client_cert is None:
        return _default_ssl_context()
    context = httpx2.create_ssl_context()
    try:
        context.load_cert_chain(settings.client_cert, settings.client_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            "the KBank client certificate or key (KBANK_CLIENT_CERT, KBANK_CLIENT_KEY) "
            f"could not be loaded: {exc.__class__.__name__}"
        ) from None
    return context


def _settings_from_env(
    env: Mapping[str, str],
) -> tuple[KBankSettings | None, SolidgateSettings | None, XenditSettings | None]:
    """Configure each provider with any of its variables set; a half-set provider is an error."""
    kbank = solidgate = xendit = None
    if env.get("KBANK_PARTNER_ID") or env.get("KBANK_PARTNER_SECRET"):
        kbank = KBankSettings.from_env(env)
    if env.get("SOLIDGATE_PUBLIC_KEY") or env.get("SOLIDGATE_SECRET_KEY"):
        solidgate = SolidgateSettings.from_env(env)
    if env.get("XENDIT_SECRET_KEY"):
        xendit = XenditSettings.from_env(env)
    if kbank is None and solidgate is None and xendit is None:
        raise ConfigurationError(
            "no provider is configured: set "
            + "; or ".join(_ENV_HINTS[provider] for provider in Provider)
        )
    return kbank, solidgate, xendit


class _FacadeBase:
    """What the sync and async clients share: settings, request checks, operations, results."""

    def __init__(
        self,
        kbank: KBankSettings | None,
        solidgate: SolidgateSettings | None,
        xendit: XenditSettings | None,
        *,
        timeout: float | httpx2.Timeout,
        retry: RetryPolicy,
    ) -> None:
        install_log_redaction()
        self._kbank_settings = kbank
        self._solidgate_settings = solidgate
        self._xendit_settings = xendit
        self._timeout = timeout if isinstance(timeout, httpx2.Timeout) else httpx2.Timeout(timeout)
        self._retry = retry
        self._rng = random.Random()  # noqa: S311 -- jitter, not cryptography

    def __repr__(self) -> str:
        configured = ", ".join(provider.value for provider in self.providers)
        return f"{type(self).__name__}(providers=[{configured}], retry={self._retry!r})"

    @property
    def providers(self) -> tuple[Provider, ...]:
        """The providers this client is configured for."""
        settings = {
            Provider.KBANK: self._kbank_settings,
            Provider.SOLIDGATE: self._solidgate_settings,
            Provider.XENDIT: self._xendit_settings,
        }
        return tuple(provider for provider, value in settings.items() if value is not None)

    def _httpx_args(
        self, auth: httpx2.Auth, settings: KBankSettings | SolidgateSettings | XenditSettings
    ) -> dict[str, Any]:
        kbank = settings if isinstance(settings, KBankSettings) else None
        return {
            "base_url": settings.base_url,
            "auth": auth,
            "timeout": self._timeout,
            "verify": _ssl_context(kbank),
            "follow_redirects": False,
            "headers": {"User-Agent": USER_AGENT},
        }

    @staticmethod
    def _not_configured(provider: Provider) -> ConfigurationError:
        name = provider.display_name
        return ConfigurationError(
            f"{name} is not configured: pass {provider.value}={name}Settings(...) "
            f"or set {_ENV_HINTS[provider]}",
            provider=provider,
        )

    def _check_kbank(
        self, token_id: object, reference1: object, partner_txn_uid: object
    ) -> tuple[KBankSettings, str, str, str]:
        provider = Provider.KBANK
        token = _check_token(provider, token_id, "token_id")
        reference = _check_token(provider, reference1, "reference1")
        if partner_txn_uid is None:
            txn_uid = new_partner_txn_uid()
        else:
            txn_uid = _check_token(provider, partner_txn_uid, "partner_txn_uid")
            if len(txn_uid) > PARTNER_TXN_UID_MAX_LENGTH:
                raise _refuse(
                    provider,
                    f"partner_txn_uid must be at most {PARTNER_TXN_UID_MAX_LENGTH} characters, "
                    f"got {len(txn_uid)}",
                )
        if self._kbank_settings is None:
            raise self._not_configured(provider)
        return self._kbank_settings, token, reference, txn_uid

    @staticmethod
    def _kbank_body(
        settings: KBankSettings, token: str, reference: str, txn_uid: str
    ) -> KBankRequest:
        # Built afresh for every attempt, so requestDt is the time of that attempt.
        return KBankRequest(
            partner_txn_uid=txn_uid,
            partner_id=settings.partner_id,
            partner_secret=settings.partner_secret,
            request_dt=int(time.time()),
            token_id=token,
            reference1=reference,
        )

    def _check_solidgate(self, token: object) -> str:
        checked = _check_token(Provider.SOLIDGATE, token, "token")
        if self._solidgate_settings is None:
            raise self._not_configured(Provider.SOLIDGATE)
        return checked

    def _check_xendit(self, payment_token_id: object) -> str:
        provider = Provider.XENDIT
        checked = _check_token(provider, payment_token_id, "payment_token_id")
        if len(checked) != XENDIT_TOKEN_ID_LENGTH:
            raise _refuse(
                provider,
                f"payment_token_id must be exactly {XENDIT_TOKEN_ID_LENGTH} characters "
                f"(like pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1), got {len(checked)}",
            )
        if self._xendit_settings is None:
            raise self._not_configured(provider)
        return checked

    @staticmethod
    def _provider_of(provider: Provider | str, reference1: str | None) -> Provider:
        try:
            chosen = Provider(provider)
        except ValueError:
            choices = ", ".join(member.value for member in Provider)
            raise InvalidRequestError(
                f"unknown provider {provider!r}; choose one of {choices}"
            ) from None
        if chosen is not Provider.KBANK and reference1 is not None:
            raise _refuse(chosen, "reference1 applies to KBank only")
        if chosen is Provider.KBANK and reference1 is None:
            raise _refuse(chosen, "KBank needs reference1, the reference given at tokenisation")
        return chosen

    def _attempt_failed(
        self, operation: _Operation, exc: Exception, response: httpx2.Response | None
    ) -> TokenCancelError:
        """Map an httpx2 failure to a typed error, marking the ones that are safe to retry."""
        name = operation.provider.display_name
        facts: dict[str, Any] = {
            "provider": operation.provider,
            "request_id": operation.request_id,
        }
        if isinstance(exc, httpx2.TimeoutException):
            safe = isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout)
            phase = "connecting to" if safe else "waiting for"
            return RequestTimeoutError(
                f"timed out {phase} {name} ({type(exc).__name__})", retryable=safe, **facts
            )
        if response is not None:
            return UnexpectedResponseError(
                f"the answer from {name} was cut short or undecodable ({type(exc).__name__})",
                http_status=response.status_code,
                **facts,
            )
        if isinstance(exc, httpx2.DecodingError):
            return UnexpectedResponseError(f"undecodable answer from {name}", **facts)
        return TransportError(
            f"no answer from {name}: {type(exc).__name__}: {exc}",
            retryable=isinstance(exc, _NO_ANSWER_ERRORS),
            **facts,
        )

    def _result(self, operation: _Operation, parsed: object, attempt: int) -> CancelResult:
        response = _last_response.get()
        _last_response.set(None)  # do not keep the body alive until the next call
        if response is None:  # pragma: no cover -- the hook runs for every response httpx2 returns
            raise UnexpectedResponseError("no answer was recorded", provider=operation.provider)
        answer = Answer(
            status=response.status_code,
            headers=response.headers,
            body=response.content,
            parsed=parsed,
        )
        if logger.isEnabledFor(logging.DEBUG):  # spare building the arguments on every call
            logger.debug(
                "%s: answer HTTP %d, %d bytes",
                operation.provider.value,
                answer.status,
                len(answer.body),
            )
        verdict = interpret(
            operation.provider,
            answer,
            token_id=operation.token_id,
            request_id=operation.request_id,
        )
        return CancelResult(
            provider=operation.provider,
            token_id=operation.token_id,
            outcome=verdict.outcome,
            http_status=answer.status,
            provider_status=verdict.provider_status,
            parsed=verdict.parsed,
            raw_body=answer.body,
            attempts=attempt,
            request_id=operation.request_id,
        )

    def _next_delay(self, operation: _Operation, error: TokenCancelError, attempt: int) -> float:
        """Return the wait before the next attempt, or re-raise `error` when giving up."""
        delay = self._retry.delay_before_retry(error, attempt, self._rng)
        if delay is None:
            raise error
        logger.warning(
            "%s: attempt %d of %d failed (%s: %s); retrying in %.2f s",
            operation.provider.value,
            attempt,
            self._retry.max_attempts,
            type(error).__name__,
            error,
            delay,
        )
        return delay


class TokenCancelClient(_FacadeBase):
    """Cancel payment tokens at KBank, Solidgate and Xendit (blocking).

    Configure the providers you use, explicitly or with `from_env()`. Each call returns a
    `CancelResult` or raises a `TokenCancelError` (see `tokencancel._errors` for the tree). Use
    it as a context manager, or call `close()`, to release the connection pools.

    Args:
        kbank: KBank settings, or None if KBank is not used.
        solidgate: Solidgate settings, or None.
        xendit: Xendit settings, or None.
        timeout: Seconds, or an `httpx2.Timeout`; default 15 s read/write, 5 s connect.
        retry: When and how often to retry (see `RetryPolicy`).
        transport: An httpx2 transport for every provider (e.g. `httpx2.MockTransport` in tests).
        limits: Connection-pool limits per provider (httpx2's defaults when None).
        sleep: How to wait between attempts (tests pass a recorder instead of `time.sleep`).
    """

    def __init__(
        self,
        kbank: KBankSettings | None = None,
        solidgate: SolidgateSettings | None = None,
        xendit: XenditSettings | None = None,
        *,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 -- frozen, so one shared default is safe
        transport: httpx2.BaseTransport | None = None,
        limits: httpx2.Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(kbank, solidgate, xendit, timeout=timeout, retry=retry)
        self._sleep = sleep
        extra: dict[str, Any] = {"event_hooks": {"response": [_keep_response]}}
        if transport is not None:
            extra["transport"] = transport
        if limits is not None:
            extra["limits"] = limits
        self._kbank: tokencancel_kbank_client.Client | None = None
        self._solidgate: tokencancel_solidgate_client.Client | None = None
        self._xendit: tokencancel_xendit_client.Client | None = None
        if kbank is not None:
            self._kbank = tokencancel_kbank_client.Client(base_url=kbank.base_url).set_httpx_client(
                JoiningClient(**self._httpx_args(KBankAuth(kbank), kbank), **extra)
            )
        if solidgate is not None:
            self._solidgate = tokencancel_solidgate_client.Client(
                base_url=solidgate.base_url
            ).set_httpx_client(
                JoiningClient(**self._httpx_args(SolidgateAuth(solidgate), solidgate), **extra)
            )
        if xendit is not None:
            self._xendit = tokencancel_xendit_client.Client(
                base_url=xendit.base_url
            ).set_httpx_client(
                JoiningClient(**self._httpx_args(XenditAuth(xendit), xendit), **extra)
            )

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] = os.environ,
        *,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 -- frozen
        transport: httpx2.BaseTransport | None = None,
        limits: httpx2.Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Self:
        """Configure every provider whose variables are set (see the README for the names)."""
        kbank, solidgate, xendit = _settings_from_env(env)
        return cls(
            kbank,
            solidgate,
            xendit,
            timeout=timeout,
            retry=retry,
            transport=transport,
            limits=limits,
            sleep=sleep,
        )

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
        for client in (self._kbank, self._solidgate, self._xendit):
            if client is not None:
                client.get_httpx_client().close()

    def cancel_kbank(
        self, token_id: str, *, reference1: str, partner_txn_uid: str | None = None
    ) -> CancelResult:
        """Cancel a K PLUS token; `reference1` is the partner reference given at tokenisation.

        `partner_txn_uid` (at most 15 characters) is minted when not given, and kept on retries.
        """
        settings, token, reference, txn_uid = self._check_kbank(
            token_id, reference1, partner_txn_uid
        )
        client = self._kbank
        assert client is not None  # noqa: S101 -- configured together with the settings

        def send() -> _Detailed:
            body = self._kbank_body(settings, token, reference, txn_uid)
            return kbank_cancel.sync_detailed(client=client, body=body)

        return self._run(_Operation(Provider.KBANK, token, request_id=txn_uid), send)

    def cancel_solidgate(self, token: str) -> CancelResult:
        """Revoke a Solidgate recurring token (alipay, mbway, wechatpay)."""
        checked = self._check_solidgate(token)
        client = self._solidgate
        assert client is not None  # noqa: S101 -- configured together with the settings

        def send() -> _Detailed:
            return solidgate_cancel.sync_detailed(client=client, body=RevokeTokenRequest(checked))

        return self._run(_Operation(Provider.SOLIDGATE, checked), send)

    def cancel_xendit(self, payment_token_id: str) -> CancelResult:
        """Cancel a Xendit payment token (`pt-...`, exactly 39 characters)."""
        checked = self._check_xendit(payment_token_id)
        client = self._xendit
        assert client is not None  # noqa: S101 -- configured together with the settings

        def send() -> _Detailed:
            return xendit_cancel.sync_detailed(
                checked, client=client, api_version=_XENDIT_API_VERSION
            )

        return self._run(_Operation(Provider.XENDIT, checked), send)

    def cancel(
        self, provider: Provider | str, token_id: str, *, reference1: str | None = None
    ) -> CancelResult:
        """Cancel `token_id` at `provider`; `reference1` is required for KBank only."""
        chosen = self._provider_of(provider, reference1)
        if chosen is Provider.KBANK:
            assert reference1 is not None  # noqa: S101 -- checked by _provider_of
            return self.cancel_kbank(token_id, reference1=reference1)
        if chosen is Provider.SOLIDGATE:
            return self.cancel_solidgate(token_id)
        return self.cancel_xendit(token_id)

    def _run(self, operation: _Operation, send: Callable[[], _Detailed]) -> CancelResult:
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(operation, send, attempt)
            except TokenCancelError as error:
                self._sleep(self._next_delay(operation, error, attempt))

    def _attempt(
        self, operation: _Operation, send: Callable[[], _Detailed], attempt: int
    ) -> CancelResult:
        _last_response.set(None)
        if logger.isEnabledFor(logging.DEBUG):  # spare building the arguments on every call
            logger.debug(
                "%s: cancelling token %s, attempt %d",
                operation.provider.value,
                operation.token_id,
                attempt,
            )
        parsed: object = None
        try:
            parsed = send().parsed
        except httpx2.HTTPError as exc:
            raise self._attempt_failed(operation, exc, _last_response.get()) from exc
        except _PARSE_ERRORS:
            if _last_response.get() is None:
                raise
        return self._result(operation, parsed, attempt)


class AsyncTokenCancelClient(_FacadeBase):
    """Cancel payment tokens at KBank, Solidgate and Xendit (asyncio).

    Same arguments and results as `TokenCancelClient`; the cancel methods are coroutines. One
    client shares one connection pool per provider across every concurrent call; bound the
    concurrency with `limits` or a semaphore of your own. Close it with `aclose()` or
    `async with`.
    """

    def __init__(
        self,
        kbank: KBankSettings | None = None,
        solidgate: SolidgateSettings | None = None,
        xendit: XenditSettings | None = None,
        *,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 -- frozen
        transport: httpx2.AsyncBaseTransport | None = None,
        limits: httpx2.Limits | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(kbank, solidgate, xendit, timeout=timeout, retry=retry)
        self._sleep = sleep
        extra: dict[str, Any] = {"event_hooks": {"response": [_keep_response_async]}}
        if transport is not None:
            extra["transport"] = transport
        if limits is not None:
            extra["limits"] = limits
        self._kbank: tokencancel_kbank_client.Client | None = None
        self._solidgate: tokencancel_solidgate_client.Client | None = None
        self._xendit: tokencancel_xendit_client.Client | None = None
        if kbank is not None:
            self._kbank = tokencancel_kbank_client.Client(
                base_url=kbank.base_url
            ).set_async_httpx_client(
                JoiningAsyncClient(**self._httpx_args(KBankAuth(kbank), kbank), **extra)
            )
        if solidgate is not None:
            self._solidgate = tokencancel_solidgate_client.Client(
                base_url=solidgate.base_url
            ).set_async_httpx_client(
                JoiningAsyncClient(**self._httpx_args(SolidgateAuth(solidgate), solidgate), **extra)
            )
        if xendit is not None:
            self._xendit = tokencancel_xendit_client.Client(
                base_url=xendit.base_url
            ).set_async_httpx_client(
                JoiningAsyncClient(**self._httpx_args(XenditAuth(xendit), xendit), **extra)
            )

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] = os.environ,
        *,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 -- frozen
        transport: httpx2.AsyncBaseTransport | None = None,
        limits: httpx2.Limits | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Self:
        """Configure every provider whose variables are set (see the README for the names)."""
        kbank, solidgate, xendit = _settings_from_env(env)
        return cls(
            kbank,
            solidgate,
            xendit,
            timeout=timeout,
            retry=retry,
            transport=transport,
            limits=limits,
            sleep=sleep,
        )

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
        for client in (self._kbank, self._solidgate, self._xendit):
            if client is not None:
                await client.get_async_httpx_client().aclose()

    async def cancel_kbank(
        self, token_id: str, *, reference1: str, partner_txn_uid: str | None = None
    ) -> CancelResult:
        """Cancel a K PLUS token; see `TokenCancelClient.cancel_kbank`."""
        settings, token, reference, txn_uid = self._check_kbank(
            token_id, reference1, partner_txn_uid
        )
        client = self._kbank
        assert client is not None  # noqa: S101 -- configured together with the settings

        async def send() -> _Detailed:
            body = self._kbank_body(settings, token, reference, txn_uid)
            return await kbank_cancel.asyncio_detailed(client=client, body=body)

        return await self._run(_Operation(Provider.KBANK, token, request_id=txn_uid), send)

    async def cancel_solidgate(self, token: str) -> CancelResult:
        """Revoke a Solidgate recurring token; see `TokenCancelClient.cancel_solidgate`."""
        checked = self._check_solidgate(token)
        client = self._solidgate
        assert client is not None  # noqa: S101 -- configured together with the settings

        async def send() -> _Detailed:
            return await solidgate_cancel.asyncio_detailed(
                client=client, body=RevokeTokenRequest(checked)
            )

        return await self._run(_Operation(Provider.SOLIDGATE, checked), send)

    async def cancel_xendit(self, payment_token_id: str) -> CancelResult:
        """Cancel a Xendit payment token; see `TokenCancelClient.cancel_xendit`."""
        checked = self._check_xendit(payment_token_id)
        client = self._xendit
        assert client is not None  # noqa: S101 -- configured together with the settings

        async def send() -> _Detailed:
            return await xendit_cancel.asyncio_detailed(
                checked, client=client, api_version=_XENDIT_API_VERSION
            )

        return await self._run(_Operation(Provider.XENDIT, checked), send)

    async def cancel(
        self, provider: Provider | str, token_id: str, *, reference1: str | None = None
    ) -> CancelResult:
        """Cancel `token_id` at `provider`; see `TokenCancelClient.cancel`."""
        chosen = self._provider_of(provider, reference1)
        if chosen is Provider.KBANK:
            assert reference1 is not None  # noqa: S101 -- checked by _provider_of
            return await self.cancel_kbank(token_id, reference1=reference1)
        if chosen is Provider.SOLIDGATE:
            return await self.cancel_solidgate(token_id)
        return await self.cancel_xendit(token_id)

    async def _run(
        self, operation: _Operation, send: Callable[[], Awaitable[_Detailed]]
    ) -> CancelResult:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(operation, send, attempt)
            except TokenCancelError as error:
                await self._sleep(self._next_delay(operation, error, attempt))

    async def _attempt(
        self, operation: _Operation, send: Callable[[], Awaitable[_Detailed]], attempt: int
    ) -> CancelResult:
        _last_response.set(None)
        if logger.isEnabledFor(logging.DEBUG):  # spare building the arguments on every call
            logger.debug(
                "%s: cancelling token %s, attempt %d",
                operation.provider.value,
                operation.token_id,
                attempt,
            )
        parsed: object = None
        try:
            parsed = (await send()).parsed
        except httpx2.HTTPError as exc:
            raise self._attempt_failed(operation, exc, _last_response.get()) from exc
        except _PARSE_ERRORS:
            if _last_response.get() is None:
                raise
        return self._result(operation, parsed, attempt)
