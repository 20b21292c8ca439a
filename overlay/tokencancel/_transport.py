"""One request on the wire and its answer in hand: TLS, proxies, deadlines and a size cap.

Every provider's cancel goes through `send` (sync) or `send_async`, which return an `Answer`
(status, headers, the whole body as bytes) or raise a `TokenCancelError`; nothing else of the
HTTP library reaches the caller. What they guarantee:

- **A total deadline per attempt**, covering connect, send, the wait for headers and the whole
  body. Async: `asyncio.timeout`. Sync: httpx2 applies its timeouts per socket operation, so
  the default transport's network backend (`_DeadlineBackend`) caps every connect, TLS
  handshake, read and write at the time left before the attempt's deadline, and fails it once
  none is left; a server that drips headers or body ends at the deadline, not one read timeout
  later. A custom sync transport gets the weaker form: each phase's timeout clipped to the
  attempt's budget, the deadline checked between body chunks.
- **Bounded memory per answer:** the body is read raw and decompressed here, layer by layer,
  with the raw bytes and every layer's output capped, so a 200 MB body or a decompression bomb
  ends in `ResponseTooLargeError` before the memory is spent. Encodings other than gzip, deflate and
  identity are refused (we never ask for them).
- **One TLS and proxy policy** (`TransportSettings`, built by `transport_settings`): TLS
  verification always on, against the system store, `SSL_CERT_FILE`/`SSL_CERT_DIR`, or a CA
  bundle the caller names (`ca_bundle`, else `TOKENCANCEL_CA_BUNDLE`); a client certificate
  where a provider needs one; each file checked when the client is built. A proxy is used
  only for https targets that are not loopback, so credentials never cross a proxy in clear
  text; a malformed proxy variable is a `ConfigurationError` naming it; the proxy's own refusal
  is a `TransportError` saying so, never the provider's answer.
  Transports are built from those settings by a factory, so a custom transport (a mock in tests,
  the aiohttp transport) is handed the same TLS context, pool limits and proxy.
- **Nothing of the wire in a traceback:** `send` and `send_async` raise their typed error from
  their own frame, with no traceback or context below it, so no frame that held request bytes
  (credentials), answer bytes or the HTTP library's state is reachable from the error, whoever
  renders it with its local variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from ._body import BoundedBody
from ._errors import (
    Phase,
    RequestTimeoutError,
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
    detached,
)
from ._messages import (
    DEFAULT_MAX_RESPONSE_BYTES,
    NOT_JSON,
    Answer,
    AnswerLimits,
    AttemptFacts,
    OutgoingRequest,
)
from ._redact import request_secrets
from ._wire import (
    ATTEMPT_DEADLINE,
    AsyncTransportFactory,
    SyncTransportFactory,
    TransportSettings,
    default_async_transport,
    default_sync_transport,
    transport_settings,
)

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "NOT_JSON",
    "Answer",
    "AnswerLimits",
    "AsyncTransportFactory",
    "AttemptFacts",
    "OutgoingRequest",
    "SyncTransportFactory",
    "TransportSettings",
    "default_async_transport",
    "default_sync_transport",
    "send",
    "send_async",
    "transport_settings",
]

# -- sending ---------------------------------------------------------------------------------------


def send(
    client: httpx2.Client,
    request: OutgoingRequest,
    limits: AnswerLimits,
    facts: AttemptFacts,
) -> Answer:
    """Send `request` and read its whole answer within `limits`, or raise a typed error.

    The error is raised here, from a frame that holds neither request nor answer bytes, with no
    traceback or context below it (see the module docstring).
    """
    outcome = _exchange(client, request, limits, facts)
    if isinstance(outcome, Answer):
        return outcome
    raise outcome


async def send_async(
    client: httpx2.AsyncClient,
    request: OutgoingRequest,
    limits: AnswerLimits,
    facts: AttemptFacts,
) -> Answer:
    """Send `request` and read its whole answer within `limits`, or raise a typed error."""
    outcome = await _exchange_async(client, request, limits, facts)
    if isinstance(outcome, Answer):
        return outcome
    raise outcome


def _exchange(
    client: httpx2.Client,
    request: OutgoingRequest,
    limits: AnswerLimits,
    facts: AttemptFacts,
) -> Answer | TokenCancelError:
    """One attempt, sync: its answer, or the error it ended in (returned, not raised)."""
    deadline = time.monotonic() + limits.deadline
    token = ATTEMPT_DEADLINE.set(deadline)
    status: int | None = None
    try:
        with (
            request_secrets() as secrets,
            client.stream(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                timeout=_clipped_timeout(client.timeout, limits.deadline),
            ) as response,
        ):
            status = response.status_code
            body = BoundedBody(response, limits.max_bytes, facts, secrets)
            if response.is_stream_consumed:  # an in-memory answer (a mock transport)
                body.feed_decoded(response.content)
            else:
                for chunk in response.iter_raw():
                    body.feed(chunk)
                    # For a custom transport, which does not cap each read at the time left.
                    _check_deadline(deadline, facts, limits, status=status)
            return body.answer()
    except TokenCancelError as error:
        return detached(error)
    except httpx2.HTTPError as exc:
        return _transport_failure(
            exc, facts, limits, status=status, past_deadline=time.monotonic() >= deadline
        )
    except Exception as exc:  # whatever else the HTTP stack raises ends typed too
        return _unexpected_failure(exc, facts, status=status)
    except BaseException as exc:  # an interruption: re-raised, below
        interruption = exc
    finally:
        ATTEMPT_DEADLINE.reset(token)
    # A KeyboardInterrupt (or a cancellation) goes on, without the HTTP stack's frames, one of
    # which may hold the request as sent, credentials included.
    raise detached(interruption)


async def _exchange_async(
    client: httpx2.AsyncClient,
    request: OutgoingRequest,
    limits: AnswerLimits,
    facts: AttemptFacts,
) -> Answer | TokenCancelError:
    """One attempt, async: its answer, or the error it ended in (returned, not raised)."""
    status: int | None = None
    scope = asyncio.timeout(limits.deadline)
    try:
        async with (
            scope,
            _async_request_secrets() as secrets,
            client.stream(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                timeout=_clipped_timeout(client.timeout, limits.deadline),
            ) as response,
        ):
            status = response.status_code
            body = BoundedBody(response, limits.max_bytes, facts, secrets)
            if response.is_stream_consumed:  # an in-memory answer (a mock transport)
                body.feed_decoded(response.content)
            else:
                async for chunk in response.aiter_raw():
                    body.feed(chunk)
            return body.answer()
    except TimeoutError as exc:
        if scope.expired():
            return _past_deadline(facts, limits, status=status)
        return _unexpected_failure(exc, facts, status=status)
    except TokenCancelError as error:
        return detached(error)
    except httpx2.HTTPError as exc:
        return _transport_failure(exc, facts, limits, status=status, past_deadline=False)
    except Exception as exc:  # whatever else the HTTP stack raises ends typed too
        return _unexpected_failure(exc, facts, status=status)
    except BaseException as exc:  # a cancellation: re-raised, below
        interruption = exc
    # A caller's own timeout (`asyncio.wait_for`) chains this CancelledError to the error it
    # raises: it goes on, without the HTTP stack's frames (see `_exchange`).
    raise detached(interruption)


@contextlib.asynccontextmanager
async def _async_request_secrets() -> AsyncIterator[list[str]]:
    with request_secrets() as secrets:
        yield secrets


def _check_deadline(
    deadline: float, facts: AttemptFacts, limits: AnswerLimits, *, status: int | None
) -> None:
    if time.monotonic() > deadline:
        raise _past_deadline(facts, limits, status=status)


def _clipped_timeout(timeout: httpx2.Timeout, budget: float) -> httpx2.Timeout:
    """`timeout` with no phase longer than the attempt's whole budget."""
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    if all(phase is not None and phase <= budget for phase in phases):
        return timeout
    return httpx2.Timeout(
        connect=_at_most(timeout.connect, budget),
        read=_at_most(timeout.read, budget),
        write=_at_most(timeout.write, budget),
        pool=_at_most(timeout.pool, budget),
    )


def _at_most(value: float | None, budget: float) -> float:
    return budget if value is None else min(value, budget)


# More encodings than anyone applies to a small JSON answer: a list of hundreds is an attack on
# memory (each decompressor holds a window of its own).
def _past_deadline(
    facts: AttemptFacts,
    limits: AnswerLimits,
    *,
    status: int | None,
    phase: Phase | None = None,
) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"no complete answer from {facts.display_name} within the "
        f"{_seconds(limits.deadline)} deadline",
        provider=facts.provider,
        http_status=status,
        request_id=facts.request_id,
        phase=phase or ("wait" if status is None else "answer"),
    )


def _seconds(value: float) -> str:
    return f"{value:g} s" if math.isfinite(value) else "unbounded"


def _transport_failure(  # noqa: PLR0911 -- one return per kind of failure
    exc: httpx2.HTTPError,
    facts: AttemptFacts,
    limits: AnswerLimits,
    *,
    status: int | None,
    past_deadline: bool,
) -> TokenCancelError:
    """Map an httpx2 failure to a typed error, recording how far the request got."""
    name = facts.display_name
    common: dict[str, Any] = {
        "provider": facts.provider,
        "request_id": facts.request_id,
        "http_status": status,
    }
    if isinstance(exc, httpx2.TimeoutException):
        return _timeout_failure(exc, facts, limits, status=status, past_deadline=past_deadline)
    if status is not None or isinstance(exc, httpx2.DecodingError):
        return UnexpectedResponseError(
            f"the answer from {name} was cut short or undecodable ({type(exc).__name__})",
            phase="answer",
            **common,
        )
    if isinstance(exc, httpx2.ProxyError):
        # The proxy's own refusal (a 403 or 407 to CONNECT): never the provider's answer, and
        # the same again on a retry (no phase, so `is_retryable` says no).
        return TransportError(
            f"the proxy refused or failed the connection to {name} ({_library_text(exc)}); "
            "check HTTPS_PROXY / ALL_PROXY",
            **common,
        )
    if isinstance(exc, httpx2.ConnectError) and _tls_verification_failed(exc):
        # A certificate that does not verify fails the same way on every retry.
        return TransportError(
            f"TLS failed: the certificate of {name} did not verify ({_library_text(exc)}); "
            "check the base URL and the trust store (TOKENCANCEL_CA_BUNDLE, SSL_CERT_FILE)",
            **common,
        )
    if isinstance(exc, httpx2.ConnectError):
        return TransportError(_no_answer(name, exc), phase="connect", **common)
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError | httpx2.WriteError):
        return TransportError(_no_answer(name, exc), phase="send", **common)
    return TransportError(_no_answer(name, exc), **common)


def _tls_verification_failed(exc: BaseException) -> bool:
    """Whether a certificate verification failure is somewhere in `exc`'s chain of causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _timeout_failure(
    exc: httpx2.TimeoutException,
    facts: AttemptFacts,
    limits: AnswerLimits,
    *,
    status: int | None,
    past_deadline: bool,
) -> RequestTimeoutError:
    """A timeout: the attempt's deadline, or one network wait (with how far the request got)."""
    phase: Phase
    if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
        phase, doing = "connect", "connecting to"
    elif isinstance(exc, httpx2.WriteTimeout):
        phase, doing = "send", "sending to"
    else:
        phase, doing = ("wait" if status is None else "answer"), "waiting for"
    if past_deadline:
        return _past_deadline(facts, limits, status=status, phase=phase)
    return RequestTimeoutError(
        f"timed out {doing} {facts.display_name} ({type(exc).__name__})",
        phase=phase,
        provider=facts.provider,
        request_id=facts.request_id,
        http_status=status,
    )


def _unexpected_failure(
    exc: Exception, facts: AttemptFacts, *, status: int | None
) -> TransportError:
    """A failure the HTTP stack raised outside its own error tree: typed, and not retried.

    Only the exception's type is kept: its text and frames may hold anything it was handed.
    """
    return TransportError(
        f"sending to {facts.display_name} failed unexpectedly ({type(exc).__name__})",
        provider=facts.provider,
        request_id=facts.request_id,
        http_status=status,
    )


def _no_answer(name: str, exc: Exception) -> str:
    # The library's message names the host and the OS error, never a header or a body; what a
    # server sent that it quotes (a malformed status line) is redacted with the error's message.
    return f"no answer from {name}: {type(exc).__name__}: {exc}"


def _library_text(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
