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
import base64
import contextlib
import functools
import json
import math
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import attrs
import httpcore2
import httpx2

from ._checks import check_file, check_host_name, is_loopback_host
from ._errors import (
    ConfigurationError,
    Phase,
    RequestTimeoutError,
    ResponseTooLargeError,
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
    detached,
)
from ._redact import redact_bytes, register_secret, request_secrets

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
            # UTF-8 only (what JSON over HTTP is): `json.loads(bytes)` would also guess UTF-16
            # and UTF-32, whose bytes the redaction of the raw body does not read.
            return json.loads(self.body.decode("utf-8-sig"))
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


def _without_userinfo(url: str | None) -> str | None:
    """`url` with any user name and password masked: proxy URLs may carry credentials."""
    if url is None or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


@attrs.frozen
class TransportSettings:
    """What every transport of one provider's pool is built with, whichever builds it.

    Attributes:
        ssl_context: Verifying TLS context (with the provider's client certificate, if any).
        limits: Connection-pool limits.
        proxy: The proxy URL for this provider's base URL, or None to connect directly (its
            credentials, if any, are masked in `repr`).
    """

    ssl_context: ssl.SSLContext
    limits: httpx2.Limits
    proxy: str | None = attrs.field(repr=lambda url: repr(_without_userinfo(url)))


class SyncTransportFactory(Protocol):
    """Builds the transport a sync client sends through, from the client's own settings."""

    def __call__(self, settings: TransportSettings, /) -> httpx2.BaseTransport: ...


class AsyncTransportFactory(Protocol):
    """Builds the transport an async client sends through, from the client's own settings."""

    def __call__(self, settings: TransportSettings, /) -> httpx2.AsyncBaseTransport: ...


def default_sync_transport(settings: TransportSettings) -> httpx2.BaseTransport:
    """httpx2's own transport, with the settings' TLS context, pool limits and proxy.

    Its network backend caps every socket wait at the time left before the attempt's deadline
    (see `_DeadlineBackend`); a custom factory that wraps this transport keeps that guarantee.
    """
    transport = httpx2.HTTPTransport(
        verify=settings.ssl_context, limits=settings.limits, proxy=settings.proxy, trust_env=False
    )
    # httpx2 offers no argument for the network backend; its pool (direct, HTTP proxy or SOCKS
    # proxy alike) takes every connection's backend from this one attribute. The hostile-network
    # tests fail if a new httpx2 moves it.
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


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

    The one place the policy lives: the library, `tokencancel cancel` and `tokencancel bulk`
    all build their clients' transports from what this returns. With `trust_env`, `env`
    supplies `TOKENCANCEL_CA_BUNDLE` (when `ca_bundle` is not given), `SSL_CERT_FILE`,
    `SSL_CERT_DIR`, the proxy variables and `NO_PROXY`.

    Raises:
        ConfigurationError: an unreadable CA bundle, trust store or client certificate, or a
            malformed proxy URL (naming the variable or argument it came from).
    """
    if ca_bundle is not None:
        bundle: tuple[str, str] | None = (ca_bundle, "ca_bundle (TOKENCANCEL_CA_BUNDLE)")
    elif trust_env and env.get("TOKENCANCEL_CA_BUNDLE"):
        bundle = (env["TOKENCANCEL_CA_BUNDLE"], "TOKENCANCEL_CA_BUNDLE")
    elif trust_env and env.get("SSL_CERT_FILE"):
        bundle = (env["SSL_CERT_FILE"], "SSL_CERT_FILE")
    else:
        bundle = None
    directory = env.get("SSL_CERT_DIR") if trust_env and bundle is None else None
    return TransportSettings(
        ssl_context=_ssl_context(
            _file_version(bundle),
            _directory_version(directory),
            _certificate_version(client_certificate, client_certificate_source),
            client_certificate_source,
        ),
        limits=limits,
        proxy=_proxy_for(base_url, explicit=proxy, trust_env=trust_env, env=env),
    )


# What a trust file is, for the context cache: its path, where the path came from, and its
# modification time and size, so a file replaced on disk (a rotated client certificate, a new
# CA bundle) is loaded again by the next client instead of served stale from the cache.
_FileVersion = tuple[str, str, int, int]


def _file_version(named: tuple[str, str] | None) -> _FileVersion | None:
    if named is None:
        return None
    path, source = named
    checked = check_file(path, source)
    assert checked is not None  # noqa: S101 -- check_file returns None only for None
    stat = Path(checked).stat()
    return (checked, source, stat.st_mtime_ns, stat.st_size)


def _directory_version(path: str | None) -> tuple[str, int] | None:
    if path is None:
        return None
    try:
        is_directory = Path(path).is_dir()
    except (OSError, ValueError):
        is_directory = False
    if not is_directory:
        raise ConfigurationError("SSL_CERT_DIR names no readable directory")
    return (path, Path(path).stat().st_mtime_ns)


def _certificate_version(
    client_certificate: tuple[str, str | None] | None, source: str
) -> tuple[_FileVersion, _FileVersion | None] | None:
    if client_certificate is None:
        return None
    certificate, key = client_certificate
    certificate_version = _file_version((certificate, source))
    assert certificate_version is not None  # noqa: S101 -- a path was given
    return (certificate_version, _file_version((key, source)) if key else None)


@functools.lru_cache(maxsize=16)
def _ssl_context(
    bundle: _FileVersion | None,
    directory: tuple[str, int] | None,
    client_certificate: tuple[_FileVersion, _FileVersion | None] | None,
    client_certificate_source: str,
) -> ssl.SSLContext:
    """A verifying TLS context; shared between clients, since building one loads the CA store.

    An SSLContext is safe to share between connections and threads. Neither the process's
    environment nor OpenSSL's is read here: every input is in the arguments (the cache key).
    """
    try:
        if bundle is not None:
            context = ssl.create_default_context(cafile=bundle[0])
        elif directory is not None:
            context = ssl.create_default_context(capath=directory[0])
        else:
            context = httpx2.create_ssl_context(trust_env=False)  # the system's store
    except (OSError, ssl.SSLError, ValueError) as exc:
        source = bundle[1] if bundle is not None else "SSL_CERT_DIR" if directory else "the system"
        failure: ConfigurationError = ConfigurationError(
            f"the trust store from {source} could not be loaded ({type(exc).__name__}): "
            "it must hold PEM CA certificates"
        )
    else:
        if client_certificate is None:
            return context
        (certificate, *_), key = client_certificate
        try:
            context.load_cert_chain(certificate, key[0] if key is not None else None)
        except (OSError, ssl.SSLError, ValueError) as exc:
            failure = ConfigurationError(
                f"{client_certificate_source} could not be loaded: {type(exc).__name__}"
            )
        else:
            return context
    raise failure  # outside the except blocks: no OpenSSL error chained below it


def _proxy_for(
    base_url: str, *, explicit: str | None, trust_env: bool, env: Mapping[str, str]
) -> str | None:
    """The proxy for `base_url`: only https targets off this machine ever use one.

    A plain-http base URL is loopback by construction (`check_base_url`), so no request
    carrying credentials ever reaches a proxy in clear text.
    """
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


def _checked_proxy(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a proxy URL string")
    if any(not character.isprintable() or character.isspace() for character in value):
        raise ConfigurationError(f"{name} contains a control character or a space")
    try:
        url = httpx2.URL(value if "://" in value else f"http://{value}")
        port = url.port
    except Exception:  # InvalidURL and the IDNA errors: all mean "unusable"
        url, port = None, None
    if url is None or (port is not None and not 0 < port < 65536):  # noqa: PLR2004
        raise ConfigurationError(f"{name} is not a valid proxy URL")
    if url.scheme not in _PROXY_SCHEMES or not url.host:
        raise ConfigurationError(
            f"{name} must be an http://, https:// or socks5:// proxy URL with a host"
        )
    check_host_name(url.host, name)  # what httpx2.URL lets through that no resolver takes
    if url.scheme.startswith("socks"):
        try:
            import socksio  # type: ignore[import-not-found]  # noqa: F401, PLC0415 -- optional
        except ImportError:
            raise ConfigurationError(
                f"{name} names a SOCKS proxy, which needs: pip install 'httpx2[socks]'"
            ) from None
    if url.password:
        # The proxy's own credentials are secrets too: out of logs, errors and reprs.
        register_secret(url.password)
        register_secret(_basic(url.username, url.password))
    return str(url)


def _basic(username: str, password: str) -> str:
    """The `Proxy-Authorization` credential httpx2 derives from a proxy URL's user info."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


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


# -- the attempt's deadline, at the socket --------------------------------------------------------

_ATTEMPT_DEADLINE: ContextVar[float | None] = ContextVar("tokencancel_deadline", default=None)
"""The `time.monotonic()` moment the current sync attempt must end by (set by `send`)."""


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` capped at the time left before the attempt's deadline; `expired` when none is.

    Outside `send` (a pool closing connections, say) there is no deadline and `timeout` stands.
    """
    deadline = _ATTEMPT_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    """A network stream whose every read, write and TLS handshake ends by the deadline.

    httpcore2 passes the same per-operation timeout to every read of a phase, so a server
    sending one byte just inside it would keep the phase going for ever; capping each
    operation at the time left turns that into one total deadline. (A TLS read or handshake
    already treats its timeout as a total for the operation, however the bytes trickle in.)
    """

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(
            self._inner.start_tls(
                ssl_context, server_hostname, _time_left(timeout, httpcore2.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    """httpcore2's sync backend, with every connection's stream bounded by the deadline."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(
            host,
            port,
            _time_left(timeout, httpcore2.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _time_left(timeout, httpcore2.ConnectTimeout), socket_options=socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


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
    token = _ATTEMPT_DEADLINE.set(deadline)
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
            body = _BoundedBody(response, limits.max_bytes, facts, secrets)
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
        _ATTEMPT_DEADLINE.reset(token)
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
            body = _BoundedBody(response, limits.max_bytes, facts, secrets)
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
_MAX_ENCODINGS: Final = 3


class _BoundedBody:
    """Decodes a raw body layer by layer, never holding more than `cap` bytes of any layer."""

    def __init__(
        self,
        response: httpx2.Response,
        cap: int,
        facts: AttemptFacts,
        request_secrets: list[str],
    ) -> None:
        self.cap = cap
        self._facts = facts
        self._request_secrets = request_secrets
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
        if len(encodings) > _MAX_ENCODINGS:
            raise self.unexpected(f"{len(encodings)} content encodings, one on top of the other")
        # Listed in the order applied, so decoded in reverse.
        self._layers = [self._layer(name) for name in reversed(encodings)]
        self._decoded = bytearray()
        self._raw = 0

    def _layer(self, name: str) -> _Layer:
        if name in {"gzip", "x-gzip"}:
            return _Layer(self, zlib.decompressobj(16 + zlib.MAX_WBITS), raw_fallback=False)
        if name == "deflate":
            return _Layer(self, zlib.decompressobj(), raw_fallback=True)
        raise self.unexpected(f"Content-Encoding {name!r}, which was not asked for")

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk."""
        # The raw bytes count too: a compressed answer near the cap is no provider's answer,
        # and bytes that decode to nothing (gzip's trailing junk, empty deflate blocks) would
        # otherwise be read until the deadline.
        self._raw += len(chunk)
        if self._raw > self.cap:
            raise self.too_large()
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
        secrets = self._request_secrets
        headers = httpx2.Headers(
            [
                (redact_bytes(name, secrets), redact_bytes(value, secrets))
                for name, value in self._headers.raw
            ]
        )
        return Answer(self._status, headers, redact_bytes(bytes(self._decoded), secrets))

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

    def unexpected(self, what: str) -> UnexpectedResponseError:
        """The error for a body this client will not decode: `what` it was sent with."""
        return UnexpectedResponseError(
            f"unexpected answer: {self._facts.display_name} sent {what}",
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
        if not data or self._decompressor.eof:
            # After the end of the stream zlib would keep every further byte in `unused_data`:
            # trailing bytes are dropped instead (as httpx2 ignores them), so they cost nothing.
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
        if not self._started or self._decompressor.eof:
            return b""
        out = self._decompressor.flush(self._body.cap + 1)
        if len(out) > self._body.cap:
            raise self._body.too_large()
        return bytes(out)


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


def _transport_failure(
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
        # The proxy's own refusal (a 403 or 407 to CONNECT): never the provider's answer.
        return TransportError(
            f"the proxy refused or failed the connection to {name} ({_library_text(exc)}); "
            "check HTTPS_PROXY / ALL_PROXY",
            phase="connect",
            **common,
        )
    if isinstance(exc, httpx2.ConnectError):
        return TransportError(_no_answer(name, exc), phase="connect", **common)
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError | httpx2.WriteError):
        return TransportError(_no_answer(name, exc), phase="send", **common)
    return TransportError(_no_answer(name, exc), **common)


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
