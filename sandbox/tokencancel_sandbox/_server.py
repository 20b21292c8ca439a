"""The HTTP layer: a threading HTTP/1.1 server with keep-alive, and the faults that need the socket.

The standard library's server gives full control of the socket, which the faults need: a body
cut short under a matching Content-Length (`truncated`), and a TCP reset instead of an answer
(`reset`, by closing with SO_LINGER 0).
"""

from __future__ import annotations

import io
import logging
import socket
import struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tokencancel_sandbox._answers import Answer, ResetConnection, json_answer
from tokencancel_sandbox._app import IncomingRequest, SandboxApp

__all__ = ["SandboxHTTPServer"]

logger = logging.getLogger("tokencancel_sandbox")

_MAX_BODY_BYTES = 1 << 20  # far above any cancel request; bounds what a fuzzer can make us hold
_LINGER_RESET = struct.pack("ii", 1, 0)


class SandboxHTTPServer(ThreadingHTTPServer):
    """Serves one `SandboxApp`; one daemon thread per connection."""

    daemon_threads = True
    # Do not wait for connections (e.g. a `slow` fault) when closing: they are daemon threads.
    block_on_close = False
    # Benchmarks open many connections at once.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: SandboxApp, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK would add ~40 ms to every answer.
    disable_nagle_algorithm = True
    # An idle keep-alive connection, or a client that stalls mid-request, frees its thread.
    timeout = 120
    server: SandboxHTTPServer
    server_version = "tokencancel-sandbox"

    def version_string(self) -> str:
        """The Server header: the sandbox's name only, not the Python version."""
        return self.server_version

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in reversed(self.headers.items())},
            body=body,
        )
        try:
            reply = self.server.app.handle(request)
        except Exception:
            # A bug of the sandbox, not a provider answer: say so, keep serving.
            logger.exception("sandbox error answering %s %s", self.command, self.path.split("?")[0])
            reply = json_answer(500, {"error": "sandbox internal error"}, documented=False)
        try:
            if isinstance(reply, ResetConnection):
                self._reset()
            else:
                self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (e.g. timed out on `slow`)

    # Every method reaches the router, which answers 405 (not the stdlib's 501) where needed.
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = _dispatch  # noqa: N815

    def _read_body(self) -> bytes | None:
        """Read the request body (Content-Length or chunked); None if an answer was sent."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
        except ValueError:
            self._refuse(400, "Content-Length is not a number")
            return None
        if length < 0:
            self._refuse(400, "Content-Length is negative")
            return None
        if length > _MAX_BODY_BYTES:
            self._refuse(413, "request body too large")
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self._refuse(400, "bad chunk size")
                return None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers, ignored
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY_BYTES:
                self._refuse(413, "request body too large")
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        self._send(json_answer(status, {"error": message}, documented=False))

    def _send(self, answer: Answer) -> None:
        body = answer.body if answer.truncate_to is None else answer.body[: answer.truncate_to]
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _reset(self) -> None:
        """Drop the connection with a TCP RST, before any byte of an answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        # The socket really closes only once its file objects are closed too.
        self.rfile.close()
        self.wfile.close()
        self.connection.close()
        # The stdlib flushes wfile after every request: give it something harmless to flush.
        self.wfile = io.BytesIO()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.log_requests:
            # Method, path and status only: headers and bodies carry credentials.
            logger.info("%s %s -> %s", self.command, self.path.split("?")[0], code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("http: " + format, *args)
