"""`tokencancel check` over TLS: a trusted certificate is reported verified, an untrusted one
fails the check naming TLS as the cause."""

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
from tokencancel._cli import main

from ..overlay.loopback_server import XENDIT_SECRET_KEY

_NOT_FOUND = json.dumps(
    {"error_code": "DATA_NOT_FOUND", "message": "ID specified in request cannot be found."}
).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_NOT_FOUND)))
        self.end_headers()
        self.wfile.write(_NOT_FOUND)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_xendit(ca: trustme.CA) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 answering as Xendit does for an unknown token."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _check(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["check", "xendit", "--timeout", "5"], env=env)
    return code, json.loads(capsys.readouterr().out)


def test_a_trusted_certificate_is_verified(
    https_xendit: str, ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the server's CA trusted, the check passes and says the certificate was verified."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    env = {
        "XENDIT_SECRET_KEY": XENDIT_SECRET_KEY,
        "XENDIT_BASE_URL": https_xendit,
        "TOKENCANCEL_CA_BUNDLE": str(bundle),
    }

    code, report = _check(env, capsys)

    assert code == 0
    assert "TLS: 127.0.0.1's certificate was verified against the trusted CAs" in report["verified"]


def test_an_untrusted_certificate_fails_the_check_on_tls(
    https_xendit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without that CA, the same server fails the check (exit 2), naming TLS as the cause."""
    env = {"XENDIT_SECRET_KEY": XENDIT_SECRET_KEY, "XENDIT_BASE_URL": https_xendit}

    code, report = _check(env, capsys)

    assert code == 2
    assert report["cause"].startswith("TLS failed")
    assert "TOKENCANCEL_CA_BUNDLE" in report["cause"]
