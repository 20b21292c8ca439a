"""An attacker's loopback kit: a raw-socket server answering from a script, and a proxy.

`RawServer` hands each request to a script function with the connection itself (`Exchange`),
so an answer can be anything a hostile network can send: headers or a body dripped one byte at
a time, a stall right after the deadline, chunked or close-delimited bodies of any size, stacked
compression, an echo of the credentials in every field. `ConnectProxy` is a loopback forward
proxy that records everything it is sent and either tunnels CONNECT to 127.0.0.1 or refuses.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterable, Iterator

import attrs

# Credentials of the hostile tests: realistic shapes, fake by construction, and each holding
# what breaks naive redaction (a "/" that JSON encoders may escape, a quote, a backslash).
KBANK_PARTNER_ID = "KP2HST000000001"
KBANK_PARTNER_SECRET = 'hst/Kb4nk+Partner/Secret"quote\\back==0001'
SOLIDGATE_PUBLIC_KEY = "api_pk_hostile/0000000000000000000000000001"
SOLIDGATE_SECRET_KEY = 'api_sk_hostile"0000000000\\0000000000000001'
XENDIT_SECRET_KEY = "xnd_development_hostile/0000000000000000000001"
SECRETS = (KBANK_PARTNER_SECRET, SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, XENDIT_SECRET_KEY)

KBANK_TOKEN = "KP2HST00000000100BBC3C374D644DE9F2BA5CDC189C27B"
SOLIDGATE_TOKEN = "923bb4e6-4a5f-41ec-81fb-28eb8a152e55"
XENDIT_TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"

_HEAD_LIMIT = 64 * 1024


@attrs.frozen
class Received:
    """A request as the server read it off the socket."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    raw: bytes  # request line, headers and body, byte for byte


class ClientGone(Exception):  # noqa: N818 -- a condition of the test server, not an error
    """The client closed the connection (or the server is stopping)."""


class Exchange:
    """One request on one accepted connection, and the ways to answer it."""

    def __init__(self, sock: socket.socket, request: Received, stopping: threading.Event) -> None:
        self.sock = sock
        self.request = request
        self._stopping = stopping
        self.keep_alive = True

    def send(self, data: bytes) -> None:
        """Send `data` whole, or raise ClientGone."""
        if self._stopping.is_set():
            raise ClientGone
        try:
            self.sock.sendall(data)
        except OSError:
            raise ClientGone from None

    def drip(self, data: bytes, every: float) -> None:
        """Send `data` one byte at a time, `every` seconds apart (the first one at once)."""
        for index in range(len(data)):
            self.send(data[index : index + 1])
            self.wait(every)

    def drip_for_ever(self, byte: bytes, every: float) -> None:
        """Send `byte` every `every` seconds until the client goes (or the server stops)."""
        while True:
            self.send(byte)
            self.wait(every)

    def wait(self, seconds: float) -> None:
        """Sleep, or raise ClientGone as soon as the server stops."""
        if self._stopping.wait(seconds):
            raise ClientGone

    def hold(self) -> None:
        """Say nothing more until the client goes (or the server stops)."""
        self.sock.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                if self.sock.recv(65536) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        raise ClientGone

    def answer(self, status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
        """A complete answer with a Content-Length."""
        self.send(head(status, [*headers, ("Content-Length", str(len(body)))]) + body)

    def close(self) -> None:
        """Close the connection after this answer."""
        self.keep_alive = False

    def reset(self) -> None:
        """Reset the connection (TCP RST) instead of answering."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.keep_alive = False
        raise ClientGone


Script = Callable[[Exchange], None]


def head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """A status line and headers, ready for a body."""
    lines = [f"HTTP/1.1 {status} Hostile"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """`pieces` framed as HTTP/1.1 chunks, with the final empty chunk."""
    for piece in pieces:
        if piece:
            yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


class RawServer:
    """A loopback server that reads each request and hands it to `script` with its socket.

    `requests` records every request; `connections` counts accepted connections. With
    `tls`, each connection is wrapped in that server-side TLS context first.
    """

    def __init__(self, script: Script, *, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.requests: list[Received] = []
        self.connections = 0
        self._tls = tls
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawServer:
        self._accepter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._accepter.join(timeout=5)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _shut(sock)  # wakes a thread blocked reading a kept-alive connection
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        self._listener.settimeout(0.05)  # closing a listener does not wake accept(): poll
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                self.connections += 1
                self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self._tls is not None:
                sock.settimeout(5)
                sock = self._tls.wrap_socket(sock, server_side=True)
                sock.settimeout(None)
            while not self._stopping.is_set():
                request = read_request(sock)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                exchange = Exchange(sock, request, self._stopping)
                self.script(exchange)
                if not exchange.keep_alive:
                    return
        except (ClientGone, OSError, ssl.SSLError):
            return
        finally:
            _close(sock)


def read_request(sock: socket.socket) -> Received | None:
    """Read one request (head, and a Content-Length body), or None at end of stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return None
        data += piece
        if len(data) > _HEAD_LIMIT:
            return None
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        piece = sock.recv(65536)
        if not piece:
            return None
        rest += piece
    body = rest[:length]
    return Received(method, target, headers, body, head_bytes + b"\r\n\r\n" + body)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _shut(sock: socket.socket) -> None:
    """Shut a socket down: unlike close(), this wakes a thread blocked reading it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# -- a loopback forward proxy ---------------------------------------------------------------------


@attrs.frozen
class ProxyRefusal:
    """What the proxy answers instead of tunnelling."""

    status: int
    reason: str
    body: bytes = b"<html><body>Access denied by the proxy</body></html>"


class ConnectProxy:
    """A forward proxy on 127.0.0.1 that records what it receives.

    CONNECT host:port is tunnelled to 127.0.0.1:port whatever the host (so a non-loopback name
    reaches a loopback test server), unless `refusal` is set; any other request (a plain-http
    forward, which must never come) is recorded and answered 502. `sent_upstream` holds every
    byte a client sent through a tunnel.
    """

    def __init__(self, refusal: ProxyRefusal | None = None) -> None:
        self.refusal = refusal
        self.requests: list[Received] = []
        self.sent_upstream = bytearray()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> ConnectProxy:
        self._accepter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._accepter.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def seen(self) -> bytes:
        """Everything the proxy received: request heads and tunnelled bytes."""
        with self._lock:
            return b"".join(request.raw for request in self.requests) + bytes(self.sent_upstream)

    def _accept(self) -> None:
        self._listener.settimeout(0.05)  # closing a listener does not wake accept(): poll
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            request = read_request(sock)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            if request.method != "CONNECT":
                sock.sendall(head(502, [("Content-Length", "0"), ("Connection", "close")]))
                return
            if self.refusal is not None:
                refusal = self.refusal
                sock.sendall(
                    f"HTTP/1.1 {refusal.status} {refusal.reason}\r\n".encode()
                    + b'Content-Type: text/html\r\nProxy-Authenticate: Basic realm="proxy"\r\n'
                    + f"Content-Length: {len(refusal.body)}\r\n\r\n".encode()
                    + refusal.body
                )
                return
            port = int(request.target.rpartition(":")[2])
            upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(sock, upstream)
        except (OSError, ValueError):
            return
        finally:
            _close(sock)

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        def upward() -> None:
            try:
                while piece := client.recv(65536):
                    with self._lock:
                        self.sent_upstream += piece
                    upstream.sendall(piece)
            except OSError:
                pass
            finally:
                _shut(upstream)

        thread = threading.Thread(target=upward, daemon=True)
        thread.start()
        try:
            while piece := upstream.recv(65536):
                client.sendall(piece)
        except OSError:
            pass
        finally:
            _shut(client)
            thread.join(timeout=5)
            _close(client)
            _close(upstream)


def env_for(url: str) -> dict[str, str]:
    """The provider variables pointing all three providers at `url`."""
    return {
        "KBANK_PARTNER_ID": KBANK_PARTNER_ID,
        "KBANK_PARTNER_SECRET": KBANK_PARTNER_SECRET,
        "KBANK_BASE_URL": f"{url}/v1",
        "SOLIDGATE_PUBLIC_KEY": SOLIDGATE_PUBLIC_KEY,
        "SOLIDGATE_SECRET_KEY": SOLIDGATE_SECRET_KEY,
        "SOLIDGATE_BASE_URL": f"{url}/api",
        "XENDIT_SECRET_KEY": XENDIT_SECRET_KEY,
        "XENDIT_BASE_URL": url,
    }


def provider_of(request: Received) -> str:
    """Which provider a request was for, from its path."""
    if "/kplus/" in request.target:
        return "kbank"
    if "/recurring-token/" in request.target:
        return "solidgate"
    return "xendit"


def ok_body(provider: str) -> bytes:
    """The body of each provider's documented success answer, compact JSON."""
    payload: dict[str, object] = {
        "kbank": {
            "partnerTxnUid": "TXN0001",
            "statusCode": "00",
            "tokenList": [{"tokenId": KBANK_TOKEN, "reference1": "ORDER-1", "status": "CANCELLED"}],
        },
        "solidgate": {"status": "processing"},
        "xendit": {"id": XENDIT_TOKEN, "status": "CANCELED"},
    }[provider]
    return json.dumps(payload, separators=(",", ":")).encode()


def answer_ok(exchange: Exchange) -> None:
    """The provider's success answer, whichever provider asked."""
    exchange.answer(
        200, ok_body(provider_of(exchange.request)), [("Content-Type", "application/json")]
    )
