"""The HTTP layer: a threading HTTP/1.1 server, with keep-alive, TLS and the socket-level faults.

The standard library's server gives full control of the socket, which the faults need: a body
cut short under a matching Content-Length (`truncated`), and a TCP reset instead of an answer
(`reset`, by closing with SO_LINGER 0).
"""

from __future__ import annotations

import io
import logging
import re
import socket
import ssl
import struct
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tokencancel_sandbox._answers import Answer, ResetConnection, json_answer
from tokencancel_sandbox._app import IncomingRequest, SandboxApp

__all__ = ["SandboxHTTPServer"]

logger = logging.getLogger("tokencancel_sandbox")

_MAX_BODY_BYTES = 1 << 20  # far above any cancel request; bounds what a fuzzer can make us hold
_MAX_LENGTH_DIGITS = 16  # longer Content-Length values are over the cap whatever they say
_MAX_LINE_BYTES = 1024  # a chunk size line, with extensions
_MAX_TRAILER_BYTES = 8192
# Leading zeros are legal, hence up to 16 digits; the value is checked against the cap.
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LINGER_RESET = struct.pack("ii", 1, 0)


class _UnreadableBodyError(Exception):
    """The request's body cannot be read as framed: refuse it with `status` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SandboxHTTPServer(ThreadingHTTPServer):
    """Serves one `SandboxApp`; one daemon thread per connection."""

    daemon_threads = True
    # Do not wait for connections (e.g. a `slow` fault) when closing: they are daemon threads.
    block_on_close = False
    # Benchmarks open many connections at once.
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        app: SandboxApp,
        *,
        log_requests: bool,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self.log_requests = log_requests
        super().__init__(address, _Handler)
        if ssl_context is not None:
            # The handshake happens in the connection's own thread (`_Handler.setup`), not in
            # accept(): a client that stalls or fails it holds up no one else.
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a connection that ended in an exception: one line for a client's doing.

        socketserver's default prints a traceback to stderr for anything raised while serving a
        connection, including a client resetting it or failing a TLS handshake.
        """
        error = sys.exception()
        if isinstance(error, OSError):
            logger.debug("connection ended: %s", type(error).__name__)
            return
        logger.error("sandbox error serving a connection", exc_info=error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK would add ~40 ms to every answer.
    disable_nagle_algorithm = True
    # An idle keep-alive connection, or a client that stalls mid-request, frees its thread.
    timeout = 120
    server: SandboxHTTPServer
    server_version = "tokencancel-sandbox"
    # What a request line is taken to be before it is parsed: the stdlib's default, HTTP/0.9,
    # would send its refusal of a malformed line without a status line or headers.
    default_request_version = "HTTP/1.1"

    def setup(self) -> None:
        """Set the socket's timeout, then finish the TLS handshake (TLS mode) under it."""
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

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
        """Read the request body; None if it could not be read (a refusal was sent)."""
        try:
            return self._framed_body()
        except _UnreadableBodyError as unreadable:
            self._refuse(unreadable.status, unreadable.message)
            return None

    def _framed_body(self) -> bytes:
        """Read the body as framed by Transfer-Encoding: chunked or Content-Length."""
        codings = [
            coding.strip().lower()
            for value in self.headers.get_all("Transfer-Encoding") or ()
            for coding in value.split(",")
            if coding.strip()
        ]
        if codings:
            if codings != ["chunked"]:
                # RFC 9112 6.1: chunked must be the final coding; the sandbox knows no other.
                raise _UnreadableBodyError(400, "the only transfer coding accepted is chunked")
            # A request framed both ways is ambiguous (a smuggling vector): answer, then close.
            self.close_connection = self.close_connection or "Content-Length" in self.headers
            return self._read_chunked()
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        if not lengths:
            return b""
        if len(lengths) > 1:
            raise _UnreadableBodyError(400, "conflicting Content-Length headers")
        (raw_length,) = lengths
        if not (raw_length.isascii() and raw_length.isdigit()):
            raise _UnreadableBodyError(400, "Content-Length is not a non-negative decimal number")
        if len(raw_length) > _MAX_LENGTH_DIGITS or int(raw_length) > _MAX_BODY_BYTES:
            raise _UnreadableBodyError(413, "request body too large")
        length = int(raw_length)
        body = self.rfile.read(length)
        if len(body) < length:
            raise _UnreadableBodyError(400, "the body ended before Content-Length bytes")
        return body

    def _read_chunked(self) -> bytes:
        """Decode a chunked body, counting every chunk against the cap before reading it."""
        body = bytearray()
        while True:
            line = self.rfile.readline(_MAX_LINE_BYTES + 1)
            if not line.endswith(b"\n"):
                raise _UnreadableBodyError(
                    400, "bad chunk size line (missing, unterminated or too long)"
                )
            size_text = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise _UnreadableBodyError(400, "bad chunk size: expected hexadecimal digits")
            size = int(size_text, 16)
            if size == 0:
                self._skip_trailers()
                return bytes(body)
            if len(body) + size > _MAX_BODY_BYTES:
                raise _UnreadableBodyError(413, "request body too large")
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise _UnreadableBodyError(400, "the body ended inside a chunk")
            body += chunk
            if self.rfile.readline(3) not in {b"\r\n", b"\n"}:
                raise _UnreadableBodyError(400, "chunk data not followed by CRLF")

    def _skip_trailers(self) -> None:
        """Read the trailer section, which the sandbox ignores, within a size bound."""
        read = 0
        while True:
            line = self.rfile.readline(_MAX_LINE_BYTES + 1)
            read += len(line)
            if not line.endswith(b"\n") or read > _MAX_TRAILER_BYTES:
                raise _UnreadableBodyError(400, "bad chunked trailer section")
            if not line.strip():
                return

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Send the standard library's own refusals as JSON, like the sandbox's, and never a 5xx.

        They answer a malformed request line, an over-long line or too many headers; a request
        line naming an HTTP version the server does not speak (the stdlib's 505) is a 400.
        """
        status = HTTPStatus.BAD_REQUEST if code >= HTTPStatus.INTERNAL_SERVER_ERROR else code
        self.log_error("refused with %s: %s", int(status), message)
        self._refuse(int(status), message or HTTPStatus(status).phrase)

    def _refuse(self, status: int, message: str) -> None:
        """Answer a request the sandbox cannot read, and close the connection after it."""
        self.close_connection = True
        self._send(json_answer(status, {"error": message}, documented=False))

    def __getattr__(self, name: str) -> Any:
        # Any method (not only the common ones) reaches the router, which answers 405 or 404:
        # the stdlib would answer an unknown method with 501, a 5xx the sandbox never means.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

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
