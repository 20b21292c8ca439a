"""One proxy and TLS policy for the library, `tokencancel cancel` and `tokencancel bulk`.

A loopback CONNECT proxy records everything it receives; a loopback TLS server (a throwaway CA
from trustme) plays the provider at `gateway.test`, a name the client never resolves itself:
only the proxy turns it into 127.0.0.1. Proved: https targets off this machine go through the
proxy as an opaque tunnel, for all three entry points alike; loopback targets never use one;
plain http with credentials can never reach a proxy; a bad proxy variable is a
ConfigurationError naming it; the proxy's own refusal is reported as the proxy's; a custom
transport factory is handed the client's TLS context, pool limits and proxy.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import trustme
from tokencancel import (
    AsyncTokenCancelClient,
    ConfigurationError,
    ProviderError,
    TokenCancelClient,
    TransportError,
    TransportSettings,
    XenditSettings,
)
from tokencancel._cli import main as tokencancel_main
from tokencancel._transport import default_async_transport, default_sync_transport

from .clients import FIELDS, NO_RETRY, PROVIDERS, TOKENS, run_async, run_sync
from .hostile_server import (
    XENDIT_SECRET_KEY,
    ConnectProxy,
    ProxyRefusal,
    RawServer,
    answer_ok,
    env_for,
)
from .secret_forms import forbidden, leaks

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                   "all_proxy", "NO_PROXY", "no_proxy")  # fmt: skip
RUNNERS = {"sync": run_sync, "async": run_async}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def bundle(ca: trustme.CA, tmp_path: Path) -> str:
    """The test CA as a PEM bundle file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[RawServer]:
    """An https provider on 127.0.0.1, with a certificate for gateway.test and 127.0.0.1."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("gateway.test", "127.0.0.1", "localhost").configure_cert(context)
    with RawServer(answer_ok, tls=context) as server:
        yield server


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy, trust-store or provider variable but what the test sets."""
    for name in (*PROXY_VARIABLES, "SSL_CERT_FILE", "SSL_CERT_DIR", "TOKENCANCEL_CA_BUNDLE",
                 *env_for("x")):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def point_at(monkeypatch: pytest.MonkeyPatch, url: str, **variables: str) -> None:
    """Put the provider variables for `url`, and `variables`, in the process environment."""
    for name, value in {**env_for(url), **variables}.items():
        monkeypatch.setenv(name, value)


def cli(*argv: str) -> int:
    """`tokencancel ...` in-process, configured from the process environment."""
    return tokencancel_main(list(argv))


def cancel_argv(provider: str) -> list[str]:
    argv = ["cancel", provider, TOKENS[provider]]
    return argv + [f"--{name}={value}" for name, value in FIELDS[provider].items()]


def bulk_argv(provider: str, tmp_path: Path) -> list[str]:
    tokens = tmp_path / f"{provider}.jsonl"
    tokens.write_text(json.dumps({"token_id": TOKENS[provider], **FIELDS[provider]}) + "\n")
    output = tmp_path / f"{provider}-out.jsonl"
    # The scripted server answers the tokens, not the preflight's probe (tested in tests/cli).
    return ["bulk", provider, str(tokens), "--output", str(output), "--no-progress", "--skip-check"]


def bulk_outcomes(provider: str, tmp_path: Path) -> list[str]:
    lines = (tmp_path / f"{provider}-out.jsonl").read_text().splitlines()
    return [json.loads(line)["outcome"] for line in lines]


# -- https off this machine: through the proxy, as a tunnel ---------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_library_tunnels_https_through_the_proxy(
    mode, tls_server: RawServer, bundle: str, clean_env: pytest.MonkeyPatch
):
    """HTTPS_PROXY carries each provider's https call as CONNECT; no credential in clear."""
    with ConnectProxy() as proxy:
        clean_env.setenv("HTTPS_PROXY", proxy.url)
        url = f"https://gateway.test:{tls_server.port}"
        endings = RUNNERS[mode](url, ca_bundle=bundle)
    assert [ending.result is not None for ending in endings] == [True] * 3, endings
    assert [request.method for request in proxy.requests] == ["CONNECT"] * 3
    assert {request.target for request in proxy.requests} == {f"gateway.test:{tls_server.port}"}
    assert len(tls_server.requests) == 3
    assert leaks(proxy.seen.decode("latin-1"), forbidden(tls_server.requests)) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_and_bulk_use_the_proxy_the_library_uses(
    provider, tls_server: RawServer, bundle: str, clean_env: pytest.MonkeyPatch, tmp_path: Path
):
    """`tokencancel cancel` and `bulk` go through the same proxy, trusting the same CA."""
    with ConnectProxy() as proxy:
        url = f"https://gateway.test:{tls_server.port}"
        point_at(clean_env, url, HTTPS_PROXY=proxy.url, TOKENCANCEL_CA_BUNDLE=bundle)
        assert cli(*cancel_argv(provider)) == 0
        assert cli(*bulk_argv(provider, tmp_path)) == 0
    assert bulk_outcomes(provider, tmp_path) in (["cancelled"], ["cancellation_pending"])
    assert [request.method for request in proxy.requests] == ["CONNECT", "CONNECT"]
    assert len(tls_server.requests) == 2
    assert leaks(proxy.seen.decode("latin-1"), forbidden(tls_server.requests)) == []


# -- loopback: never through a proxy ------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_loopback_targets_never_use_a_proxy(
    scheme, ca: trustme.CA, bundle: str, clean_env: pytest.MonkeyPatch, tmp_path: Path
):
    """With every proxy variable set, loopback providers are called directly, by every entry."""
    context = None
    if scheme == "https":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with ConnectProxy() as proxy, RawServer(answer_ok, tls=context) as server:
        for name in PROXY_VARIABLES[:6]:
            clean_env.setenv(name, proxy.url)
        point_at(clean_env, server.url, TOKENCANCEL_CA_BUNDLE=bundle)
        for run in RUNNERS.values():
            endings = run(server.url, ca_bundle=bundle)
            assert all(ending.result is not None for ending in endings), endings
        localhost = server.url.replace("127.0.0.1", "localhost")
        assert all(ending.result for ending in run_sync(localhost, ca_bundle=bundle))
        for provider in PROVIDERS:
            assert cli(*cancel_argv(provider)) == 0
            assert cli(*bulk_argv(provider, tmp_path)) == 0
    assert proxy.requests == []
    assert len(server.requests) == 3 * 3 + 2 * 3


def test_plain_http_off_this_machine_is_refused_before_any_proxy(
    clean_env: pytest.MonkeyPatch,
):
    """A plain-http provider that is not loopback is a ConfigurationError: nothing is sent."""
    with ConnectProxy() as proxy:
        for name in PROXY_VARIABLES[:6]:
            clean_env.setenv(name, proxy.url)
        with pytest.raises(ConfigurationError, match="base_url uses plain http://"):
            XenditSettings(XENDIT_SECRET_KEY, base_url="http://gateway.test")
        point_at(clean_env, "http://gateway.test")
        assert cli(*cancel_argv("xendit")) == 2
        with pytest.raises(ConfigurationError, match="KBANK_BASE_URL uses plain http"):
            TokenCancelClient.from_env()
    assert proxy.requests == []


# -- a malformed proxy variable -------------------------------------------------------------------

BAD_PROXIES = [
    "http://[::1",
    "http://proxy.test:99999",
    "ftp://proxy.test:21",
    "socks5://proxy.test:1080",
    "http://pro xy.test:3128",
    "http://proxy.test\r\n:3128",
    "http://xn--.test:3128",
    "http://:3128",
    "http://\udcff.test",
]


@pytest.mark.parametrize("value", BAD_PROXIES)
@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "ALL_PROXY", "https_proxy"])
def test_a_bad_proxy_variable_is_a_configuration_error_naming_it(
    variable, value, clean_env: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):  # fmt: skip
    """The library, `cancel` and `bulk` all refuse it the same way, naming the variable."""
    point_at(clean_env, "https://gateway.test", **{variable: value})
    for client_type in (TokenCancelClient, AsyncTokenCancelClient):
        with pytest.raises(ConfigurationError, match=variable):
            client_type.from_env()
    assert cli(*cancel_argv("xendit")) == 2
    assert cli(*bulk_argv("xendit", tmp_path)) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2
    assert all(variable in line for line in errors), errors


# -- the proxy's own refusal --------------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [ProxyRefusal(403, "Forbidden"), ProxyRefusal(407, "Proxy Authentication Required")],
    ids=["403", "407"],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_proxy_s_refusal_is_reported_as_the_proxy_s(
    mode, refusal, tls_server: RawServer, bundle: str, clean_env: pytest.MonkeyPatch
):
    """A 403 or 407 to CONNECT is a TransportError about the proxy, never a provider's refusal."""
    with ConnectProxy(refusal) as proxy:
        clean_env.setenv("HTTPS_PROXY", proxy.url)
        endings = RUNNERS[mode](
            f"https://gateway.test:{tls_server.port}", ca_bundle=bundle, retry=NO_RETRY
        )
    for ending in endings:
        error = ending.error
        assert type(error) is TransportError, ending
        assert not isinstance(error, ProviderError)
        assert "proxy" in error.message
        assert str(refusal.status) in error.message
        assert error.http_status is None
    assert tls_server.requests == []


def test_the_command_line_reports_the_proxy_s_refusal_as_a_transport_failure(
    tls_server: RawServer, bundle: str, clean_env: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):  # fmt: skip
    """Exit 3 (transport), and a message about the proxy, for Xendit's 403 look-alike."""
    with ConnectProxy(ProxyRefusal(403, "Forbidden")) as proxy:
        url = f"https://gateway.test:{tls_server.port}"
        point_at(clean_env, url, HTTPS_PROXY=proxy.url, TOKENCANCEL_CA_BUNDLE=bundle)
        assert cli(*cancel_argv("xendit")) == 3
    error = capsys.readouterr().err
    assert "proxy refused" in error
    assert "permission" not in error


# -- a custom transport keeps the client's TLS ----------------------------------------------------


def test_a_transport_factory_is_handed_the_client_s_tls_limits_and_proxy(
    bundle: str, clean_env: pytest.MonkeyPatch
):
    """The factory gets a verifying context holding the CA bundle, the limits and the proxy."""
    handed: list[TransportSettings] = []

    def factory(settings: TransportSettings) -> httpx2.BaseTransport:
        handed.append(settings)
        return default_sync_transport(settings)

    clean_env.setenv("HTTPS_PROXY", "http://user:pa55word@proxy.test:3128")
    limits = httpx2.Limits(max_connections=7, max_keepalive_connections=3)
    TokenCancelClient(
        xendit=XenditSettings(XENDIT_SECRET_KEY, base_url="https://gateway.test"),
        ca_bundle=bundle,
        limits=limits,
        transport_factory=factory,
    ).close()
    (settings,) = handed
    context = settings.ssl_context
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    # The bundle's CA, and only it: not the system store.
    assert context.get_ca_certs() == ssl.create_default_context(cafile=bundle).get_ca_certs()
    assert len(context.get_ca_certs()) == 1
    assert settings.limits == limits
    assert settings.proxy == "http://user:pa55word@proxy.test:3128"
    assert "pa55word" not in repr(settings)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_wrapping_transport_still_verifies_the_server(
    mode, tls_server: RawServer, bundle: str, tmp_path: Path, clean_env: pytest.MonkeyPatch
):
    """Through a caller's transport, the bundle's CA is trusted and any other is refused."""
    built: list[TransportSettings] = []

    def sync_factory(settings: TransportSettings) -> httpx2.BaseTransport:
        built.append(settings)
        return default_sync_transport(settings)

    def async_factory(settings: TransportSettings) -> httpx2.AsyncBaseTransport:
        built.append(settings)
        return default_async_transport(settings)

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    factory = {"transport_factory": sync_factory if mode == "sync" else async_factory}
    trusted = RUNNERS[mode](tls_server.url, ca_bundle=bundle, **factory)
    untrusted = RUNNERS[mode](tls_server.url, ca_bundle=str(other), retry=NO_RETRY, **factory)
    assert all(ending.result is not None for ending in trusted), trusted
    assert all(type(ending.error) is TransportError for ending in untrusted), untrusted
    assert len(built) == 6
    assert len(tls_server.requests) == 3


def test_the_async_client_gets_the_same_settings_as_the_sync_one(
    bundle: str, clean_env: pytest.MonkeyPatch
):
    """Sync and async clients settle TLS and proxy identically (one policy, one place)."""
    clean_env.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    seen: list[TransportSettings] = []

    def sync_factory(settings: TransportSettings) -> httpx2.BaseTransport:
        seen.append(settings)
        return default_sync_transport(settings)

    def async_factory(settings: TransportSettings) -> httpx2.AsyncBaseTransport:
        seen.append(settings)
        return default_async_transport(settings)

    settings = XenditSettings(XENDIT_SECRET_KEY, base_url="https://gateway.test")
    TokenCancelClient(xendit=settings, ca_bundle=bundle, transport_factory=sync_factory).close()
    asyncio.run(
        AsyncTokenCancelClient(
            xendit=settings, ca_bundle=bundle, transport_factory=async_factory
        ).aclose()
    )
    assert seen[0] == seen[1]
    assert seen[0].proxy == "http://proxy.test:3128"
