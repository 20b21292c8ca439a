"""One request on the wire and its answer in hand: TLS, proxies, deadlines and a size cap.

Every provider's cancel goes through `send` (sync) or `send_async`, which return an `Answer`
(status, headers, the whole body as bytes) or raise a `TokenCancelError`; nothing else of the
HTTP library reaches the caller. What they guarantee:

- **A total deadline per attempt**, covering connect, send, the wait for headers and the whole
  body. Async: exact (`asyncio.timeout`). Sync: each network wait is capped by the time left and
  the deadline is checked whenever bytes arrive, so a drip-feeding server is cut off at the
  first byte past the deadline.
- **Bounded memory per answer:** the body is read raw and decompressed here, layer by layer,
  with every layer's output capped, so a 200 MB body or a decompression bomb ends in
  `ResponseTooLargeError` before the memory is spent. Encodings other than gzip, deflate and
  identity are refused (we never ask for them).
- **One TLS and proxy policy** (`TransportSettings`, built by `transport_settings`): TLS
  verification always on, against the system store, `SSL_CERT_FILE`/`SSL_CERT_DIR`, or a CA
  bundle the caller names (`TOKENCANCEL_CA_BUNDLE`); a client certificate where a provider
  needs one. A proxy is used only for https targets that are not loopback, so credentials never
  cross a proxy in clear text; a malformed proxy variable is a `ConfigurationError` naming it.
  Transports are built from those settings by a factory, so a custom transport (a mock in tests,
  the aiohttp transport) is handed the same TLS context, pool limits and proxy.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import ssl
import time
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import attrs
import httpx2

from ._checks import check_file, is_loopback_host
from ._errors import (
    ConfigurationError,
    Phase,
    RequestTimeoutError,
    ResponseTooLargeError,
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
)
from ._redact import redact_bytes

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

DEFAULT_MAX_RESPONSE_BYTES: Final = 1 << 20
"""1 MiB: a cancel answer is a few kilobytes; anything near this is not a provider's answer."""

NOT_JSON: Final = object()
"""`Answer.decoded` for an empty, HTML or undecodable body."""

_PROXY_VARIABLES: Final = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
_PROXY_SCHEMES: Final = frozenset({"http", "https", "socks5", "socks5h"})


# -- what goes out and what comes back -----------------------------------------------------------


@attrs.frozen
class OutgoingRequest:
    """One attempt's request, before credentials: the auth flow adds them on the way out."""

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes | None = None


@attrs.frozen
class Answer:
    """What came back for one request: status, headers and the whole (decoded) body."""

    status: int
    headers: httpx2.Headers = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)  # secrets a server echoed are already redacted

    @functools.cached_property
    def decoded(self) -> object:
        """The body as JSON, or `NOT_JSON` for an HTML page, empty or broken body (read once)."""
        content_type = self.headers.get("content-type", "").lower()
        if "html" in content_type or not self.body.strip():
            return NOT_JSON
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, absurd nesting
            return NOT_JSON

    @property
    def json_object(self) -> dict[str, Any] | None:
        """The body when it is a JSON object, else None."""
        data = self.decoded
        return data if isinstance(data, dict) else None


@attrs.frozen
class AnswerLimits:
    """How long one attempt may take in all, and how large its answer may be once decoded."""

    deadline: float
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


@attrs.frozen
class AttemptFacts:
    """What every error raised for one attempt carries: whose request it was, and its id."""

    provider: str
    display_name: str
    request_id: str | None


# -- TLS, proxies and transports ------------------------------------------------------------------


@attrs.frozen
class TransportSettings:
    """What every transport of one provider's pool is built with, whichever builds it.

    Attributes:
        ssl_context: Verifying TLS context (with the provider's client certificate, if any).
        limits: Connection-pool limits.
        proxy: The proxy URL for this provider's base URL, or None to connect directly.
    """

    ssl_context: ssl.SSLContext
    limits: httpx2.Limits
    proxy: str | None


class SyncTransportFactory(Protocol):
    """Builds the transport a sync client sends through, from the client's own settings."""

    def __call__(self, settings: TransportSettings, /) -> httpx2.BaseTransport: ...


class AsyncTransportFactory(Protocol):
    """Builds the transport an async client sends through, from the client's own settings."""

    def __call__(self, settings: TransportSettings, /) -> httpx2.AsyncBaseTransport: ...


def default_sync_transport(settings: TransportSettings) -> httpx2.BaseTransport:
    """httpx2's own transport, with the settings' TLS context, pool limits and proxy."""
    return httpx2.HTTPTransport(
        verify=settings.ssl_context, limits=settings.limits, proxy=settings.proxy, trust_env=False
    )


def default_async_transport(settings: TransportSettings) -> httpx2.AsyncBaseTransport:
    """httpx2's own async transport, with the settings' TLS context, pool limits and proxy."""
    return httpx2.AsyncHTTPTransport(
        verify=settings.ssl_context, limits=settings.limits, proxy=settings.proxy, trust_env=False
    )


def transport_settings(
    base_url: str,
    *,
    limits: httpx2.Limits,
    ca_bundle: str | None,
    client_certificate: tuple[str, str | None] | None,
    client_certificate_source: str = "the client certificate or key",
    proxy: str | None,
    trust_env: bool,
    env: Mapping[str, str],
) -> TransportSettings:
    """Settle TLS and proxy for one provider's base URL, refusing what cannot work.

    Raises:
        ConfigurationError: an unreadable CA bundle, trust store or client certificate, or a
            malformed proxy URL (naming the variable or argument it came from).
    """
    return TransportSettings(
        ssl_context=_ssl_context(
            ca_bundle, client_certificate, client_certificate_source, trust_env=trust_env
        ),
        limits=limits,
        proxy=_proxy_for(base_url, explicit=proxy, trust_env=trust_env, env=env),
    )


@functools.lru_cache(maxsize=16)
def _ssl_context(
    ca_bundle: str | None,
    client_certificate: tuple[str, str | None] | None,
    client_certificate_source: str,
    *,
    trust_env: bool,
) -> ssl.SSLContext:
    """A verifying TLS context; shared between clients, since building one loads the CA store.

    An SSLContext is safe to share between connections and threads.
    """
    if ca_bundle is not None:
        check_file(ca_bundle, "TOKENCANCEL_CA_BUNDLE (ca_bundle)")
    try:
        context = (
            ssl.create_default_context(cafile=ca_bundle)
            if ca_bundle is not None
            else httpx2.create_ssl_context(trust_env=trust_env)
        )
    except (OSError, ssl.SSLError, ValueError) as exc:
        source = (
            "ca_bundle"
            if ca_bundle is not None
            else "the trust store (SSL_CERT_FILE, SSL_CERT_DIR)"
        )
        raise ConfigurationError(f"{source} could not be loaded: {type(exc).__name__}") from None
    if client_certificate is not None:
        certificate, key = client_certificate
        try:
            context.load_cert_chain(certificate, key)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigurationError(
                f"{client_certificate_source} could not be loaded: {type(exc).__name__}"
            ) from None
    return context


def _proxy_for(
    base_url: str, *, explicit: str | None, trust_env: bool, env: Mapping[str, str]
) -> str | None:
    """The proxy for `base_url`: only https targets off this machine ever use one."""
    parts = urlsplit(base_url)
    if parts.scheme != "https" or is_loopback_host(parts.hostname or ""):
        return None
    if explicit is not None:
        return _checked_proxy(explicit, "proxy")
    if not trust_env or _excluded_by_no_proxy(parts.hostname or "", env):
        return None
    for name in _PROXY_VARIABLES:
        value = env.get(name)
        if value:
            return _checked_proxy(value, name)
    return None


def _checked_proxy(value: str, name: str) -> str:
    try:
        url = httpx2.URL(value if "://" in value else f"http://{value}")
    except Exception:  # InvalidURL and the IDNA errors: all mean "unusable"
        raise ConfigurationError(f"{name} is not a valid proxy URL") from None
    if url.scheme not in _PROXY_SCHEMES or not url.host:
        raise ConfigurationError(
            f"{name} must be an http://, https:// or socks5:// proxy URL with a host"
        )
    if url.scheme.startswith("socks"):
        try:
            import socksio  # type: ignore[import-not-found]  # noqa: F401, PLC0415 -- optional
        except ImportError:
            raise ConfigurationError(
                f"{name} names a SOCKS proxy, which needs: pip install 'httpx2[socks]'"
            ) from None
    return str(url)


def _excluded_by_no_proxy(host: str, env: Mapping[str, str]) -> bool:
    entries = env.get("NO_PROXY") or env.get("no_proxy") or ""
    for entry in (item.strip().lower() for item in entries.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        domain = entry.lstrip(".")
        if host.lower() == domain or host.lower().endswith("." + domain):
            return True
    return False


# -- sending ---------------------------------------------------------------------------------------


def send(
    client: httpx2.Client,
    request: OutgoingRequest,
    limits: AnswerLimits,
    facts: AttemptFacts,
) -> Answer:
    """Send `request` and read its whole answer within `limits`, or raise a typed error."""
    deadline = time.monotonic() + limits.deadline
    status: int | None = None
    try:
        with client.stream(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            timeout=_clipped_timeout(client.timeout, limits.deadline),
        ) as response:
            status = response.status_code
            body = _BoundedBody(response, limits.max_bytes, facts)
            if response.is_stream_consumed:  # an in-memory answer (a mock transport)
                body.feed_decoded(response.content)
            for chunk in _raw_chunks(response):
                body.feed(chunk)
                if time.monotonic() > deadline:
                    raise _past_deadline(facts, limits, status=status)
            return body.answer()
    except httpx2.HTTPError as exc:
        error = _transport_failure(exc, facts, status=status)
    raise error  # outside the except block: the library's frames stay out of the traceback


async def send_async(
    client: httpx2.AsyncClient,
    request: OutgoingRequest,
    limits: AnswerLimits,
    facts: AttemptFacts,
) -> Answer:
    """Send `request` and read its whole answer within `limits`, or raise a typed error."""
    status: int | None = None
    try:
        async with asyncio.timeout(limits.deadline):
            async with client.stream(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
            ) as response:
                status = response.status_code
                body = _BoundedBody(response, limits.max_bytes, facts)
                if response.is_stream_consumed:  # an in-memory answer (a mock transport)
                    body.feed_decoded(response.content)
                else:
                    async for chunk in response.aiter_raw():
                        body.feed(chunk)
                return body.answer()
    except TimeoutError:
        error: TokenCancelError = _past_deadline(facts, limits, status=status)
    except httpx2.HTTPError as exc:
        error = _transport_failure(exc, facts, status=status)
    raise error


def _raw_chunks(response: httpx2.Response) -> Iterator[bytes]:
    """The raw body; an in-memory answer (a mock transport) is already decoded, so say so."""
    if response.is_stream_consumed:
        yield from ()
    else:
        yield from response.iter_raw()


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


class _BoundedBody:
    """Decodes a raw body layer by layer, never holding more than `cap` bytes of any layer."""

    def __init__(self, response: httpx2.Response, cap: int, facts: AttemptFacts) -> None:
        self.cap = cap
        self._facts = facts
        self._status = response.status_code
        self._headers = response.headers
        declared = self._headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self.too_large()
        encodings = [
            token.strip().lower()
            for token in self._headers.get("content-encoding", "").split(",")
            if token.strip() and token.strip().lower() != "identity"
        ]
        # Listed in the order applied, so decoded in reverse.
        self._layers = [self._layer(name) for name in reversed(encodings)]
        self._decoded = bytearray()

    def _layer(self, name: str) -> _Layer:
        if name in {"gzip", "x-gzip"}:
            return _Layer(self, zlib.decompressobj(16 + zlib.MAX_WBITS), raw_fallback=False)
        if name == "deflate":
            return _Layer(self, zlib.decompressobj(), raw_fallback=True)
        raise UnexpectedResponseError(
            f"unexpected answer: {self._facts.display_name} sent Content-Encoding {name!r}, "
            "which was not asked for",
            provider=self._facts.provider,
            http_status=self._status,
            request_id=self._facts.request_id,
        )

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk."""
        data = chunk
        for layer in self._layers:
            data = layer.decompress(data)
        self._keep(data)

    def feed_decoded(self, data: bytes) -> None:
        """Take a body the transport has already decoded (an in-memory answer)."""
        self._layers = []
        self._keep(data)

    def answer(self) -> Answer:
        """The whole answer, once the raw body has ended (secrets a server echoed redacted)."""
        data = b""
        for layer in self._layers:
            data = layer.decompress(data) + layer.flush()
        self._keep(data)
        return Answer(self._status, self._headers, redact_bytes(bytes(self._decoded)))

    def _keep(self, data: bytes) -> None:
        if len(self._decoded) + len(data) > self.cap:
            raise self.too_large()
        self._decoded += data

    def too_large(self) -> ResponseTooLargeError:
        """The error for an answer over the cap."""
        return ResponseTooLargeError(
            f"the answer from {self._facts.display_name} is larger than the "
            f"{self.cap:,}-byte cap (max_response_bytes)",
            provider=self._facts.provider,
            http_status=self._status,
            request_id=self._facts.request_id,
        )

    def undecodable(self) -> UnexpectedResponseError:
        """The error for a body whose declared encoding does not decode."""
        return UnexpectedResponseError(
            f"unexpected answer: the body from {self._facts.display_name} could not be "
            "decompressed",
            provider=self._facts.provider,
            http_status=self._status,
            request_id=self._facts.request_id,
        )


class _Layer:
    """One Content-Encoding layer, decompressed with its output bounded by the body's cap."""

    def __init__(self, body: _BoundedBody, decompressor: Any, *, raw_fallback: bool) -> None:
        self._body = body
        self._decompressor = decompressor
        self._raw_fallback = raw_fallback
        self._started = False

    def decompress(self, data: bytes) -> bytes:
        if not data:
            return b""
        cap = self._body.cap
        try:
            out = self._decompressor.decompress(data, cap + 1)
        except zlib.error:
            if self._raw_fallback and not self._started:
                # "deflate" is sent both with and without the zlib wrapper; httpx2 reads both.
                self._raw_fallback = False
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decompress(data)
            raise self._body.undecodable() from None
        self._started = True
        if len(out) > cap or self._decompressor.unconsumed_tail:
            raise self._body.too_large()  # more output waits than the cap allows
        return bytes(out)

    def flush(self) -> bytes:
        if not self._started:
            return b""
        out = self._decompressor.flush(self._body.cap + 1)
        if len(out) > self._body.cap:
            raise self._body.too_large()
        return bytes(out)


def _past_deadline(
    facts: AttemptFacts, limits: AnswerLimits, *, status: int | None
) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"no complete answer from {facts.display_name} within the "
        f"{_seconds(limits.deadline)} deadline",
        provider=facts.provider,
        http_status=status,
        request_id=facts.request_id,
        phase="wait" if status is None else "answer",
    )


def _seconds(value: float) -> str:
    return f"{value:g} s" if math.isfinite(value) else "unbounded"


def _transport_failure(
    exc: httpx2.HTTPError, facts: AttemptFacts, *, status: int | None
) -> TokenCancelError:
    """Map an httpx2 failure to a typed error, recording how far the request got."""
    name = facts.display_name
    common: dict[str, Any] = {
        "provider": facts.provider,
        "request_id": facts.request_id,
        "http_status": status,
    }
    if isinstance(exc, httpx2.TimeoutException):
        phase: Phase
        if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
            phase, doing = "connect", "connecting to"
        elif isinstance(exc, httpx2.WriteTimeout):
            phase, doing = "send", "sending to"
        else:
            phase, doing = ("wait" if status is None else "answer"), "waiting for"
        return RequestTimeoutError(
            f"timed out {doing} {name} ({type(exc).__name__})", phase=phase, **common
        )
    if status is not None or isinstance(exc, httpx2.DecodingError):
        return UnexpectedResponseError(
            f"the answer from {name} was cut short or undecodable ({type(exc).__name__})",
            phase="answer",
            **common,
        )
    if isinstance(exc, httpx2.ProxyError):
        return TransportError(
            f"the proxy refused or failed the connection to {name} ({type(exc).__name__}); "
            "check HTTPS_PROXY / ALL_PROXY",
            **common,
        )
    if isinstance(exc, httpx2.ConnectError):
        return TransportError(_no_answer(name, exc), phase="connect", **common)
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError | httpx2.WriteError):
        return TransportError(_no_answer(name, exc), phase="send", **common)
    return TransportError(_no_answer(name, exc), **common)


def _no_answer(name: str, exc: Exception) -> str:
    # The library's message names the host and the OS error, never a header or a body.
    return f"no answer from {name}: {type(exc).__name__}: {exc}"
