"""Two-way TLS for KBank on loopback: the client certificate is presented, the server verified."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from tokencancel import (
    CancelOutcome,
    KBankSettings,
    RetryPolicy,
    TransportError,
)

from .loopback_server import KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, KBANK_TOKEN, SleepRecorder

CLIENT_IDENTITY = "partner.kbank.test"


class _TLSServer:
    """An HTTPS server on 127.0.0.1 that requires a client certificate signed by `ca`."""

    def __init__(self, ca: trustme.CA) -> None:
        self.peer_subjects: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                # The names in the certificate the client presented (trustme puts them in SAN).
                peer = self.connection.getpeercert()  # type: ignore[attr-defined]
                server.peer_subjects.extend(value for _, value in peer.get("subjectAltName", ()))
                body = json.dumps(
                    {
                        "statusCode": "00",
                        "tokenList": [{"tokenId": KBANK_TOKEN, "status": "CANCELLED"}],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[_TLSServer]:
    server = _TLSServer(ca)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client_cert_files(ca: trustme.CA, tmp_path: Path) -> tuple[str, str]:
    """The partner's certificate and key, as two PEM files like KBank issues them."""
    issued = ca.issue_cert(CLIENT_IDENTITY)
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    return str(cert), str(key)


def test_kbank_presents_its_client_certificate(  # noqa: PLR0917 -- pytest passes fixtures by name
    tls_server: _TLSServer,
    ca: trustme.CA,
    client_cert_files: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_client,
):
    """With KBANK_CLIENT_CERT/KEY set, the TLS server sees the partner's certificate."""
    trusted = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(trusted))
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted))  # trust the test CA, verification stays on
    cert, key = client_cert_files
    settings = KBankSettings.from_env(
        {
            "KBANK_PARTNER_ID": KBANK_PARTNER_ID,
            "KBANK_PARTNER_SECRET": KBANK_PARTNER_SECRET,
            "KBANK_BASE_URL": f"{tls_server.url}/v1",
            "KBANK_CLIENT_CERT": cert,
            "KBANK_CLIENT_KEY": key,
        }
    )
    with make_client(kbank=settings, timeout=5.0) as client:
        result = client.cancel_kbank(KBANK_TOKEN, reference1="R")
    assert result.outcome is CancelOutcome.CANCELLED
    assert CLIENT_IDENTITY in tls_server.peer_subjects


def test_an_untrusted_server_certificate_is_refused(
    tls_server: _TLSServer,
    client_cert_files: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    make_client,
):
    """Verification is always on: a server certificate from an unknown CA is a TransportError."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    cert, key = client_cert_files
    settings = KBankSettings(
        KBANK_PARTNER_ID,
        KBANK_PARTNER_SECRET,
        base_url=f"{tls_server.url}/v1",
        client_cert=cert,
        client_key=key,
    )
    sleeps = SleepRecorder()
    with (
        make_client(
            kbank=settings, timeout=5.0, retry=RetryPolicy(max_attempts=1), sleep=sleeps
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.cancel_kbank(KBANK_TOKEN, reference1="R")
    assert caught.value.http_status is None
    assert tls_server.peer_subjects == []
