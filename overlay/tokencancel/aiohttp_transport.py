"""The optional aiohttp transport for `AsyncTokenCancelClient`: more requests per second.

httpx2's own async connection pool costs CPU per request that grows with the number of open
connections; aiohttp's does not, so under concurrency (bulk cancellation, a busy service) the
same client does several times the requests per second with aiohttp moving the bytes. Install
the extra and pass the factory:

    pip install 'tokencancel[aiohttp]'

    from tokencancel import AsyncTokenCancelClient, aiohttp_transport

    client = AsyncTokenCancelClient.from_env(transport_factory=aiohttp_transport.factory)

or `tokencancel bulk ... --transport aiohttp`. Everything above the transport stays the same:
httpx2's client adds the credentials and the timeouts, and `_transport.send_async` holds the
attempt's deadline and the answer's size cap (the body is streamed as it arrives, never
buffered by the transport). The transport is built from the client's own `TransportSettings`,
so it verifies TLS with the same context (KBank's client certificate included), uses the same
proxy decision, and keeps at most `limits.max_connections` connections. What aiohttp cannot do:
a per-write timeout (the attempt's deadline covers a stalled upload) and SOCKS proxies (refused
with a `ConfigurationError`; the default transport speaks them with `httpx2[socks]`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._errors import ConfigurationError

if TYPE_CHECKING:
    import httpx2

    from ._transport import TransportSettings

__all__ = ["INSTALL_HINT", "ensure_installed", "factory"]

INSTALL_HINT = "pip install 'tokencancel[aiohttp]'"


def ensure_installed() -> None:
    """Raise a `ConfigurationError` saying how to install aiohttp, unless it is importable."""
    try:
        import aiohttp  # noqa: F401, PLC0415 -- optional, looked up only when chosen
    except ImportError:
        raise ConfigurationError(
            f"the aiohttp transport needs aiohttp, which is not installed: {INSTALL_HINT}"
        ) from None


def factory(settings: TransportSettings) -> httpx2.AsyncBaseTransport:
    """Build the aiohttp transport for one provider (an `AsyncTransportFactory`).

    Raises:
        ConfigurationError: aiohttp is not installed, or the proxy is one aiohttp cannot use.
    """
    ensure_installed()
    from ._aiohttp import AiohttpTransport  # noqa: PLC0415 -- imports aiohttp

    return AiohttpTransport(settings)
