"""A real HTTP server on 127.0.0.1 that records each request and answers from a script.

The overlay's tests talk to it over real sockets, so what they assert about the wire (method,
path, headers, exact body bytes) is what httpx2 actually sent, and hostile answers (HTML pages,
truncated bodies, slow answers, connection resets) reach the client the way a network delivers
them.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import httpx2
from tokencancel import RetryPolicy

# Credentials shaped like the providers' own examples (docs/providers.md); fake by construction.
KBANK_PARTNER_ID = "KP2XXX000033159"
KBANK_PARTNER_SECRET = "S1AyQ0ZCMDAwMDMzMTU5LWtwbHVzLXNpdC0yYzJwLWZhY2Vib29r"
SOLIDGATE_PUBLIC_KEY = "api_pk_test_1"
SOLIDGATE_SECRET_KEY = "api_sk_test_1"
XENDIT_SECRET_KEY = "xnd_development_P4qDfOss0OCpl8RtKrROHjaQYNCk9dN5lSfk"
SECRETS = (KBANK_PARTNER_SECRET, SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, XENDIT_SECRET_KEY)

KBANK_TOKEN = "KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B"
SOLIDGATE_TOKEN = "923bb4e6-4a5f-41ec-81fb-28eb8a152e55"
XENDIT_TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"


@attrs.frozen
class Reply:
    """One scripted answer. `drop` resets the connection instead of answering."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    delay: float = 0.0
    drop: bool = False
    # Announce this Content-Length instead of the body's, then close: an answer cut short.
    declared_length: int | None = None


def json_reply(status: int, payload: Any, *extra_headers: tuple[str, str]) -> Reply:
    """A JSON answer, serialised compactly."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, (("Content-Type", "application/json"), *extra_headers))


def html_reply(status: int) -> Reply:
    """A gateway's HTML error page."""
    body = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    return Reply(status, body, (("Content-Type", "text/html"),))


@attrs.frozen
class Captured:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int

    def json(self) -> Any:
        return json.loads(self.body)


class CaptureServer:
    """Records requests; answers each with the next scripted Reply, else the default."""

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self._script: deque[Reply] = deque()
        self.default = json_reply(404, {"error_code": "NO_SCRIPT", "message": "nothing scripted"})
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                captured = Captured(
                    method="POST",
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                    client_port=self.client_address[1],
                )
                reply = server.record(captured)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    # SO_LINGER 0 turns close() into a TCP RST: no answer, connection reset.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    length = reply.declared_length
                    self.send_header(
                        "Content-Length", str(len(reply.body) if length is None else length)
                    )
                    self.end_headers()
                    self.wfile.write(reply.body)
                    if length is not None:
                        self.close_connection = True
                except OSError:  # the client gave up (timeout tests)
                    self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def record(self, captured: Captured) -> Reply:
        with self._lock:
            self.requests.append(captured)
            return self._script.popleft() if self._script else self.default

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class SleepRecorder:
    """Stands in for time.sleep: records the waits, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=5.0, jitter=0.0)
SHORT_TIMEOUT = httpx2.Timeout(2.0)
