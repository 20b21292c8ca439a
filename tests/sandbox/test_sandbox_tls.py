"""The TLS mode: https with a throwaway CA, trusted by a client given its file, not by others."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from tokencancel_sandbox import Sandbox, SandboxConfigError

from .sandbox_helpers import ProviderCalls, SandboxProcess, assert_conforms


@pytest.fixture(scope="module")
def tls_sandbox() -> Iterator[Sandbox]:
    """A sandbox serving https, its certificate also valid for the host name `sandbox`."""
    with Sandbox.start(port=0, tls=True, tls_hostnames=["sandbox"]) as running:
        yield running


def _trusting(sandbox: Sandbox) -> httpx2.Client:
    assert sandbox.ca_bundle is not None
    return httpx2.Client(verify=ssl.create_default_context(cafile=sandbox.ca_bundle), timeout=10)


def test_a_client_trusting_the_ca_cancels_at_every_provider(tls_sandbox: Sandbox) -> None:
    # Over https, with the CA file from env()['TOKENCANCEL_CA_BUNDLE'], all three cancels work.
    env = tls_sandbox.env()
    assert env["TOKENCANCEL_CA_BUNDLE"] == str(tls_sandbox.ca_bundle)
    assert all(env[f"{p}_BASE_URL"].startswith("https://127.0.0.1:") for p in ("KBANK", "XENDIT"))
    with _trusting(tls_sandbox) as http:
        calls = ProviderCalls(tls_sandbox, http)
        for provider in ("kbank", "solidgate", "xendit"):
            response = calls.cancel(provider, tls_sandbox.create_token(provider))
            assert response.status_code == 200
            assert response.url.scheme == "https"
            assert_conforms(provider, response)


def test_a_client_not_trusting_the_ca_fails_verification(tls_sandbox: Sandbox) -> None:
    # The system's trust store does not know the throwaway CA: certificate verification fails.
    with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx2.get(f"{tls_sandbox.url}/_sandbox/health", timeout=10)


def test_a_client_trusting_another_ca_fails_verification(
    tls_sandbox: Sandbox, tmp_path: Path
) -> None:
    # The CA of another sandbox run does not vouch for this one: each run has its own.
    with Sandbox.start(port=0, tls=True) as other:
        assert other.ca_bundle is not None
        assert other.ca_bundle.read_bytes() != tls_sandbox.ca_bundle.read_bytes()  # type: ignore[union-attr]
        context = ssl.create_default_context(cafile=other.ca_bundle)
    with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx2.get(f"{tls_sandbox.url}/_sandbox/health", verify=context, timeout=10)


def _peer_names(port: int, server_hostname: str, ca_file: Path) -> set[str]:
    """Connect over loopback as `server_hostname`, verifying; return the certificate's names."""
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        certificate = tls.getpeercert()
    assert certificate is not None
    return {str(value) for _, value in certificate.get("subjectAltName", ())}


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "sandbox"])
def test_the_certificate_is_valid_for_loopback_and_the_configured_name(
    tls_sandbox: Sandbox, name: str
) -> None:
    # Verified handshakes as 127.0.0.1, localhost and the configured `sandbox` (connected over
    # loopback, as a container network would route it).
    assert tls_sandbox.ca_bundle is not None
    names = _peer_names(tls_sandbox.port, name, tls_sandbox.ca_bundle)
    assert {"127.0.0.1", "localhost", "sandbox"} <= names


def test_the_certificate_is_not_valid_for_other_names(tls_sandbox: Sandbox) -> None:
    # A name the sandbox was not given fails hostname verification.
    assert tls_sandbox.ca_bundle is not None
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _peer_names(tls_sandbox.port, "elsewhere.example", tls_sandbox.ca_bundle)


def test_the_ca_is_served_and_its_temporary_file_removed_on_close(http: httpx2.Client) -> None:
    # GET /_sandbox/ca.pem answers the CA file's PEM; the file goes when the sandbox closes.
    with Sandbox.start(port=0, tls=True) as sandbox:
        ca_file = sandbox.ca_bundle
        assert ca_file is not None
        with _trusting(sandbox) as trusting:
            served = trusting.get(f"{sandbox.url}/_sandbox/ca.pem")
        assert served.content == ca_file.read_bytes()
        assert served.content.startswith(b"-----BEGIN CERTIFICATE-----")
    assert not ca_file.exists()


def test_a_chosen_ca_file_is_written_and_kept(tmp_path: Path) -> None:
    # tls_ca_file (e.g. a volume shared with a client container) is where the PEM goes; kept.
    chosen = tmp_path / "shared" / "sandbox-ca.pem"
    chosen.parent.mkdir()
    with Sandbox.start(port=0, tls=True, tls_ca_file=chosen) as sandbox:
        assert sandbox.ca_bundle == chosen
        assert sandbox.env()["TOKENCANCEL_CA_BUNDLE"] == str(chosen)
    assert chosen.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_plain_http_has_no_ca(sandbox: Sandbox, http: httpx2.Client) -> None:
    # Without TLS: no CA variable, and /_sandbox/ca.pem is a 404 saying why.
    assert "TOKENCANCEL_CA_BUNDLE" not in sandbox.env()
    assert sandbox.ca_bundle is None
    response = http.get(f"{sandbox.url}/_sandbox/ca.pem")
    assert response.status_code == 404
    assert "TLS" in response.json()["error"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tls": True, "tls_hostnames": ["bad name!"]}, "not a host name"),
        ({"tls": True, "tls_hostnames": ["-leading.example"]}, "not a host name"),
        ({"tls_hostnames": ["sandbox"]}, "need tls=True"),
    ],
)
def test_bad_tls_settings_are_refused(arguments: dict[str, object], message: str) -> None:
    # A host name no certificate can carry, or TLS options without TLS: SandboxConfigError.
    with pytest.raises(SandboxConfigError, match=message):
        Sandbox.start(port=0, **arguments)  # type: ignore[arg-type]


def test_a_failed_handshake_is_not_logged_as_an_error(
    tls_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # Plain HTTP sent to the TLS port, and an untrusting client: no warning, the server serves on.
    with caplog.at_level(logging.DEBUG, logger="tokencancel_sandbox"):
        with socket.create_connection(("127.0.0.1", tls_sandbox.port), timeout=10) as raw:
            raw.sendall(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
            raw.recv(100)
        with pytest.raises(httpx2.ConnectError):
            httpx2.get(f"{tls_sandbox.url}/_sandbox/health", timeout=10)
        with _trusting(tls_sandbox) as http:
            assert http.get(f"{tls_sandbox.url}/_sandbox/health").status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_cli_serves_https_and_names_the_ca_file(tmp_path: Path) -> None:
    # --tls --tls-hostname sandbox: an https URL, the CA file in a comment and in the exports.
    process = SandboxProcess("--tls", "--tls-hostname", "sandbox", log_path=tmp_path / "log")
    try:
        assert process.url.startswith("https://127.0.0.1:")
        assert process.process.stdout is not None
        printed = [process.process.stdout.readline() for _ in range(12)]
        ca_line = next(line for line in printed if line.startswith("export TOKENCANCEL_CA_BUNDLE="))
        ca_file = Path(ca_line.split("'")[1])
        context = ssl.create_default_context(cafile=ca_file)
        health = httpx2.get(f"{process.url}/_sandbox/health", verify=context, timeout=10)
        assert health.status_code == 200
        assert any(str(ca_file) in line for line in printed if line.startswith("#"))
    finally:
        process.close()
    assert process.process.returncode == 0
    assert not ca_file.exists()
    assert "Traceback" not in process.log()
