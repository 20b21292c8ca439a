"""Deliberately non-conforming provider servers on 127.0.0.1, to prove the contract run can fail.

Each breaks its spec in named ways the contract run must report:

- `xendit`: answers the spec's example token with a 200 whose `payment_token_id` is a number
  (wrong field type), answers other well-formed ids with 409 (a status the spec does not
  document), and never looks at `Authorization` (requests without valid auth are accepted).
- `kbank`: cancels whatever it is sent, with or without credentials, and accepts invalid bodies.
- `solidgate`: checks the `merchant` header but never the signature, and accepts invalid bodies.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

XENDIT_EXAMPLE_TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"
XENDIT_TOKEN_LENGTH = 39
XENDIT_PREFIX = "/v3/payment_tokens/"
KBANK_PATH = "/v1/kplus/payment/cancel-token"
SOLIDGATE_PATH = "/api/v1/recurring-token/cancel"

# Base URL (relative to the server's root) that each fake stands behind.
BASE_PATHS = {"kbank": "/v1", "solidgate": "/api", "xendit": ""}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    provider: ClassVar[str] = ""
    solidgate_merchant: ClassVar[str] = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def _answer(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_allowed(self) -> None:
        self._read_body()
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _not_allowed  # noqa: N815

    def do_POST(self) -> None:
        raw = self._read_body()
        path = self.path.split("?", 1)[0]
        if (
            self.provider == "xendit"
            and path.startswith(XENDIT_PREFIX)
            and path.endswith("/cancel")
        ):
            self._xendit(path.removeprefix(XENDIT_PREFIX).removesuffix("/cancel"))
        elif self.provider == "kbank" and path == KBANK_PATH:
            self._kbank(raw)
        elif self.provider == "solidgate" and path == SOLIDGATE_PATH:
            self._solidgate(raw)
        else:
            self._answer(404, {"error_code": "DATA_NOT_FOUND", "message": "no such route"})

    def _xendit(self, token_id: str) -> None:
        if token_id == XENDIT_EXAMPLE_TOKEN:
            self._answer(200, {"payment_token_id": 12345, "status": "CANCELED"})
        elif len(token_id) == XENDIT_TOKEN_LENGTH:
            self._answer(409, {"error_code": "CONFLICT", "message": "undocumented status"})
        else:
            self._answer(400, {"error_code": "API_VALIDATION_ERROR", "message": "bad id"})

    def _kbank(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        token = body.get("tokenId") if isinstance(body, dict) else None
        self._answer(
            200,
            {
                "statusCode": "00",
                "tokenList": [{"tokenId": str(token), "reference1": "x", "status": "CANCELLED"}],
            },
        )

    def _solidgate(self, raw: bytes) -> None:
        if self.headers.get("merchant") != self.solidgate_merchant:
            self._answer(200, {"error": {"code": "1.01", "messages": ["Authentication failed"]}})
        else:
            self._answer(200, {"status": "processing"})


@contextmanager
def nonconforming_server(provider: str, *, solidgate_merchant: str = "") -> Iterator[str]:
    """Serve the `provider` fake on a free loopback port; yield its base URL."""
    handler = type(
        f"{provider.title()}Fake",
        (_Handler,),
        {"provider": provider, "solidgate_merchant": solidgate_merchant},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{BASE_PATHS[provider]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
