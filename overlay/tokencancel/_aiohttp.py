"""httpx2 requests sent with aiohttp: the body of `tokencancel.aiohttp_transport`.

Imported only when the aiohttp transport is chosen, so aiohttp stays an optional dependency.
The transport is deliberately thin: httpx2's client above it does the auth flow and the
timeouts' bookkeeping, `_transport.send_async` the deadline, the size cap and the decoding;
aiohttp does the connection pool, TLS, proxies and HTTP/1.1. What is here is the translation
between the two: the request as httpx2 built it (headers exactly as sent by the default
transport, nothing added by aiohttp), the answer as a raw, streamed httpx2 response, and
aiohttp's failures as the httpx2 errors `_transport` maps to typed errors.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import aiohttp
import httpx2

from ._errors import ConfigurationError
from ._transport import TransportSettings

__all__ = ["AiohttpTransport"]

# Headers aiohttp would add on its own. httpx2 has already set each one it wants (and a
# transport must send what the client built, not more): aiohttp would otherwise announce
# brotli, which `_transport` refuses to decode, or label a raw body application/octet-stream.
_SKIP_AUTO_HEADERS: Final = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})

_Trace = Callable[[str, dict[str, Any]], Awaitable[None]]


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """An httpx2 async transport that sends with one `aiohttp.ClientSession`.

    The session is opened on the first request, inside the event loop that sends it (aiohttp
    binds a session to its loop; the client may be built outside any loop), and closed by
    `aclose`. Requests that carry httpx2's `trace` extension (the bulk pacing's) go through a
    second session that reports when headers leave: aiohttp's tracing costs every request of a
    session about 8 % of its CPU, so requests nobody traces do not pay for it.
    """

    def __init__(self, settings: TransportSettings) -> None:
        self._settings = settings
        self._proxy, self._proxy_headers = _proxy_parts(settings.proxy)
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _open(self, *, traced: bool) -> aiohttp.ClientSession:
        limits = self._settings.limits
        connector_options: dict[str, Any] = {
            "ssl": self._settings.ssl_context,
            # aiohttp's 0 is "no limit", like httpx2's None; it has no separate cap on idle
            # connections, so max_keepalive_connections has no counterpart.
            "limit": limits.max_connections or 0,
            "limit_per_host": 0,
        }
        if limits.keepalive_expiry is not None:
            connector_options["keepalive_timeout"] = limits.keepalive_expiry
        trace_configs = []
        if traced:
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(_headers_sent)
            trace_configs.append(trace)
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(**connector_options),
            # Raw bytes up: `_transport` decodes under its size cap.
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            # Proxies and the trust store were settled in `TransportSettings`.
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
            trace_configs=trace_configs,
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send `request` with aiohttp; the answer's body streams as it arrives."""
        trace: _Trace | None = request.extensions.get("trace")
        traced = trace is not None
        session = self._sessions.get(traced)
        if session is None:
            session = self._sessions[traced] = self._open(traced=traced)
        body = await request.aread()
        with _mapped_errors():
            response = await session.request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=body or None,
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                allow_redirects=False,
                timeout=_timeout(request.extensions.get("timeout", {})),
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
                trace_request_ctx=SimpleNamespace(trace=trace) if traced else None,
            )
        return httpx2.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_AiohttpBody(response),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        """Close the sessions and every pooled connection."""
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()


class _AiohttpBody(httpx2.AsyncByteStream):
    """The answer's raw body, chunk by chunk as the socket delivers it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()  # read to the end: the connection goes back to the pool
        else:
            # Abandoned midway (over the size cap, past the deadline): the rest of the body is
            # still on the wire, so the connection cannot carry another request.
            self._response.close()


async def _headers_sent(
    _session: aiohttp.ClientSession,
    context: SimpleNamespace,
    _params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    """Tell an httpx2 `trace` extension (the bulk pacing's) when the request went out.

    Named as httpcore2 names the event, so a tracer written for the default transport works
    unchanged; aiohttp reports it once the headers are written, a moment later than httpcore2.
    """
    trace: _Trace | None = getattr(context.trace_request_ctx, "trace", None)
    if trace is not None:
        await trace("http11.send_request_headers.started", {"at": time.monotonic()})


def _timeout(phases: dict[str, float | None]) -> aiohttp.ClientTimeout:
    """httpx2's per-phase timeouts in aiohttp's terms.

    aiohttp's `connect` covers the wait for a pooled connection and opening a new one, so it is
    httpx2's pool and connect timeouts together; `sock_connect` is the connect alone and
    `sock_read` any one wait for bytes of the answer. aiohttp has no write timeout.
    """
    connect = phases.get("connect")
    pool = phases.get("pool")
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=phases.get("read"),
    )


def _proxy_parts(proxy: str | None) -> tuple[str | None, dict[str, str] | None]:
    """The proxy URL without credentials, and the credentials as a Proxy-Authorization header."""
    if proxy is None:
        return None, None
    parts = urlsplit(proxy)
    if parts.scheme not in {"http", "https"}:
        raise ConfigurationError(
            f"the aiohttp transport cannot use a {parts.scheme}:// proxy; leave the transport "
            "at its default (httpx2) for SOCKS proxies"
        )
    # The URL's user information, percent-decoded, as RFC 7617 Basic credentials in UTF-8
    # (aiohttp's `BasicAuth` is deprecated for headers built by the caller).
    headers = (
        None
        if parts.username is None
        else {"Proxy-Authorization": _basic_credentials(parts.username, parts.password or "")}
    )
    host = parts.hostname or ""
    bare = f"{parts.scheme}://{f'[{host}]' if ':' in host else host}"
    if parts.port is not None:
        bare += f":{parts.port}"
    return bare, headers


def _basic_credentials(username: str, password: str) -> str:
    pair = f"{unquote(username)}:{unquote(password)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """Raise aiohttp's failures as the httpx2 error the default transport raises for each.

    `_transport._transport_failure` turns those into typed errors, so both transports report a
    refused connection, a reset, a truncated body or a timeout the same way. Cancellation (the
    attempt's deadline) is not an Exception and passes through untouched.
    """
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx2.ConnectTimeout(str(exc)) from exc
    except aiohttp.ServerTimeoutError as exc:  # SocketTimeoutError: a read wait ran out
        raise httpx2.ReadTimeout(str(exc)) from exc
    except (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError) as exc:
        raise httpx2.ProxyError(str(exc)) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS verification
        raise httpx2.ConnectError(str(exc)) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
        # Closed before or during the answer: httpcore2 calls both a protocol error.
        raise httpx2.RemoteProtocolError(str(exc)) from exc
    except aiohttp.ClientResponseError as exc:  # an answer aiohttp could not parse
        raise httpx2.RemoteProtocolError(exc.message) from exc
    except (aiohttp.ClientConnectionError, ConnectionError) as exc:  # reset, broken pipe
        raise httpx2.ReadError(str(exc) or type(exc).__name__) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx2.UnsupportedProtocol(str(exc)) from exc
    except aiohttp.ClientError as exc:
        raise httpx2.TransportError(str(exc) or type(exc).__name__) from exc
