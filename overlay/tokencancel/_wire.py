"""The network under one provider's pool: TLS, proxies, and the attempt's deadline at the socket.

`transport_settings` settles TLS (always verifying; a CA bundle or the system store; a client
certificate where a provider needs one) and the proxy (only for https targets off this machine)
once per provider, and the transport factories build every transport from those settings. The
sync transport's network backend (`_DeadlineBackend`) caps every connect, TLS handshake, read and
write at the time left before the attempt's deadline (`ATTEMPT_DEADLINE`, set by `send`).
"""

from __future__ import annotations

import base64
import functools
import ssl
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import attrs
import httpcore2
import httpx2

from ._checks import check_file, check_host_name, is_loopback_host
from ._environment import CA_BUNDLE_VARIABLE
from ._errors import (
    ConfigurationError,
)
from ._redact import register_secret

__all__ = [
    "ATTEMPT_DEADLINE",
    "AsyncTransportFactory",
    "SyncTransportFactory",
    "TransportSettings",
    "default_async_transport",
    "default_sync_transport",
    "transport_settings",
]

_PROXY_VARIABLES: Final = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
_PROXY_SCHEMES: Final = frozenset({"http", "https", "socks5", "socks5h"})


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
    elif trust_env and env.get(CA_BUNDLE_VARIABLE):
        bundle = (env[CA_BUNDLE_VARIABLE], CA_BUNDLE_VARIABLE)
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

ATTEMPT_DEADLINE: ContextVar[float | None] = ContextVar("tokencancel_deadline", default=None)
"""The `time.monotonic()` moment the current sync attempt must end by (set by `send`)."""


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` capped at the time left before the attempt's deadline; `expired` when none is.

    Outside `send` (a pool closing connections, say) there is no deadline and `timeout` stands.
    """
    deadline = ATTEMPT_DEADLINE.get()
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
