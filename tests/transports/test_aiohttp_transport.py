"""The aiohttp transport keeps every promise of the default one: streamed bodies under the cap,
the deadline against a drip-feeding server, the proxy decision, pacing's trace, and a clear
error when the extra is missing. The shared client suite (tests/overlay) runs on it as well;
these are the properties that suite cannot see from the outside.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from tokencancel import (
    AsyncTokenCancelClient,
    CancelOutcome,
    ConfigurationError,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    TransportError,
    XenditSettings,
    aiohttp_transport,
)
from tokencancel._cli import main
from tokencancel._transport import (
    AsyncTransportFactory,
    TransportSettings,
    default_async_transport,
    transport_settings,
)
from tokencancel_sandbox import RateLimit, Sandbox, SandboxConfig
from tokencancel_sandbox._ratelimit import SlidingWindowLimiter

XENDIT_KEY = "xnd_development_transport_test_0000000001"
XENDIT_TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"
CANCELED = b'{"status":"CANCELED"}'
NO_RETRY = RetryPolicy(max_attempts=1)
FACTORIES: dict[str, AsyncTransportFactory] = {
    "httpx2": default_async_transport,
    "aiohttp": aiohttp_transport.factory,
}


class RawServer:
    """A loopback server that answers each request by running `answer(connection)`.

    It counts what it managed to send, so a test can tell a streamed body (the client stopped
    reading early) from one the transport buffered whole.
    """

    def __init__(self) -> None:
        self.sent = 0
        self.connections = 0
        self.answer = self.canceled
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            try:
                while not self._stop.is_set():
                    request = b""
                    while b"\r\n\r\n" not in request:
                        data = connection.recv(65536)
                        if not data:
                            return
                        request += data
                    self.answer(connection)
            except OSError:  # the client hung up: that is what the tests provoke
                return

    def send(self, connection: socket.socket, data: bytes) -> None:
        connection.sendall(data)
        self.sent += len(data)

    def canceled(self, connection: socket.socket) -> None:
        self.send(
            connection,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(CANCELED)}\r\n\r\n".encode()
            + CANCELED,
        )

    def endless(self, connection: socket.socket) -> None:
        """A chunked body that never ends (no Content-Length to refuse up front)."""
        self.send(
            connection,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
        )
        chunk = b"x" * 65536
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        for _ in range(4096):  # 256 MiB at most; the client must stop long before
            if self._stop.is_set():
                return
            self.send(connection, framed)

    def drip(self, connection: socket.socket) -> None:
        """Headers at once, then one byte every 50 ms: each read is fast, the whole is not."""
        self.send(
            connection,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
        )
        for _ in range(200):  # 10 s at most
            if self._stop.is_set():
                return
            self.send(connection, b" ")
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=list(FACTORIES))
def factory(request: pytest.FixtureRequest) -> AsyncTransportFactory:
    """The default transport and the aiohttp one, held to the same properties."""
    return FACTORIES[request.param]


def cancel(url: str, factory: AsyncTransportFactory, **options: Any) -> Any:
    async def scenario() -> Any:
        async with AsyncTokenCancelClient(
            xendit=XenditSettings(XENDIT_KEY, base_url=url),
            retry=NO_RETRY,
            transport_factory=factory,
            **options,
        ) as client:
            return await client.cancel_xendit(XENDIT_TOKEN)

    return asyncio.run(scenario())


def test_the_aiohttp_transport_is_the_one_sending(raw_server: RawServer):
    """The factory builds an aiohttp transport, and a cancel goes through it to the server."""
    settings = transport_settings(
        raw_server.url,
        limits=httpx2.Limits(max_connections=4),
        ca_bundle=None,
        client_certificate=None,
        proxy=None,
        trust_env=False,
        env={},
    )
    transport = aiohttp_transport.factory(settings)
    assert type(transport).__name__ == "AiohttpTransport"
    assert type(transport).__module__ == "tokencancel._aiohttp"
    assert cancel(raw_server.url, aiohttp_transport.factory).outcome is CancelOutcome.CANCELLED


def test_an_endless_body_is_cut_at_the_cap_not_buffered(raw_server: RawServer, factory):
    """The body streams into the size cap: the client stops long before the server's 256 MiB."""
    raw_server.answer = raw_server.endless
    with pytest.raises(ResponseTooLargeError):
        cancel(raw_server.url, factory, max_response_bytes=64 * 1024)
    # A transport that buffered the body would have read all 256 MiB before the cap saw any.
    # Socket buffers let the server get some megabytes ahead of the reader, never hundreds.
    assert raw_server.sent < 32 * 1024 * 1024


def test_a_drip_fed_answer_ends_at_the_deadline(raw_server: RawServer, factory):
    """Every read is quick, the whole answer is not: the attempt's deadline ends it."""
    raw_server.answer = raw_server.drip
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError) as caught:
        cancel(raw_server.url, factory, timeout=5.0, deadline=0.5)
    assert caught.value.http_status == 200  # headers came; the body did not finish
    assert caught.value.phase == "answer"
    assert time.monotonic() - started < 4.0  # the deadline, not the 5 s timeouts or 10 s drip


def test_an_abandoned_body_does_not_poison_the_pool(raw_server: RawServer):
    """After a body cut off at the cap, the next cancel gets a fresh connection and succeeds."""
    answers = iter([raw_server.endless, raw_server.canceled])

    def first_endless_then_canceled(connection: socket.socket) -> None:
        next(answers)(connection)

    raw_server.answer = first_endless_then_canceled

    async def scenario() -> Any:
        async with AsyncTokenCancelClient(
            xendit=XenditSettings(XENDIT_KEY, base_url=raw_server.url),
            retry=NO_RETRY,
            max_response_bytes=64 * 1024,
            transport_factory=aiohttp_transport.factory,
        ) as client:
            with pytest.raises(ResponseTooLargeError):
                await client.cancel_xendit(XENDIT_TOKEN)
            return await client.cancel_xendit(XENDIT_TOKEN)

    assert asyncio.run(scenario()).outcome is CancelOutcome.CANCELLED
    assert raw_server.connections == 2


class ProxyServer:
    """A loopback 'proxy' that records each CONNECT and refuses it: nothing leaves the machine."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with self._listener:
            connection, _ = self._listener.accept()
            with connection:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = connection.recv(65536)
                    if not data:
                        break
                    head += data
                self.requests.append(head)
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


def test_the_proxy_decision_is_followed(factory):
    """An https provider goes through the configured proxy, with the proxy's credentials."""
    proxy = ProxyServer()
    settings = XenditSettings(XENDIT_KEY, base_url="https://api.xendit.co")
    # Percent-encoded user information, decoded and sent as UTF-8 by both transports.
    proxy_url = f"http://us%40er:p%C3%A9w@127.0.0.1:{proxy.port}"

    async def scenario() -> None:
        async with AsyncTokenCancelClient(
            xendit=settings,
            retry=NO_RETRY,
            proxy=proxy_url,
            timeout=5.0,
            transport_factory=factory,
        ) as client:
            await client.cancel_xendit(XENDIT_TOKEN)

    with pytest.raises(TransportError) as caught:
        asyncio.run(scenario())
    assert "proxy" in str(caught.value).lower()
    (head,) = proxy.requests
    assert head.startswith(b"CONNECT api.xendit.co:443 ")
    credentials = base64.b64encode("us@er:péw".encode()).lower()
    assert b"proxy-authorization: basic " + credentials in head.lower()
    assert "p%C3%A9w" not in str(caught.value)
    assert "péw" not in str(caught.value)


def test_a_socks_proxy_is_refused_by_the_aiohttp_transport():
    """aiohttp does not speak SOCKS: choosing both is a ConfigurationError, not a silent bypass."""
    settings = TransportSettings(
        ssl_context=ssl.create_default_context(),
        limits=httpx2.Limits(),
        proxy="socks5://127.0.0.1:1080",
    )
    with pytest.raises(ConfigurationError, match="socks5"):
        aiohttp_transport.factory(settings)


def test_the_pacing_trace_hears_when_headers_leave(raw_server: RawServer):
    """The bulk pacing's trace extension is called by the aiohttp transport as by httpcore2."""
    events: list[str] = []

    async def trace(event: str, _info: dict[str, Any]) -> None:
        events.append(event)

    async def scenario() -> int:
        settings = TransportSettings(
            ssl_context=ssl.create_default_context(),
            limits=httpx2.Limits(max_connections=1),
            proxy=None,
        )
        transport = aiohttp_transport.factory(settings)
        async with httpx2.AsyncClient(transport=transport) as client:
            response = await client.post(
                f"{raw_server.url}/x", content=b"{}", extensions={"trace": trace}
            )
            return response.status_code

    assert asyncio.run(scenario()) == 200
    assert events == ["http11.send_request_headers.started"]


def test_without_aiohttp_choosing_it_says_how_to_install(monkeypatch: pytest.MonkeyPatch):
    """Missing extra: a ConfigurationError naming `pip install 'tokencancel[aiohttp]'`."""
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # what an environment without it sees
    with pytest.raises(ConfigurationError, match=r"pip install 'tokencancel\[aiohttp\]'"):
        AsyncTokenCancelClient(
            xendit=XenditSettings(XENDIT_KEY, base_url="http://127.0.0.1:9"),
            transport_factory=aiohttp_transport.factory,
        )


def test_bulk_without_aiohttp_exits_2_with_the_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """`tokencancel bulk --transport aiohttp` without the extra: exit 2 and the install line."""
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.setenv("XENDIT_SECRET_KEY", XENDIT_KEY)
    monkeypatch.setenv("XENDIT_BASE_URL", "http://127.0.0.1:9")
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{XENDIT_TOKEN}\n")
    output = tmp_path / "out.jsonl"
    code = main(["bulk", "xendit", str(ids), "-o", str(output), "--transport", "aiohttp"])
    assert code == 2
    assert "pip install 'tokencancel[aiohttp]'" in capsys.readouterr().err
    assert not output.exists() or output.read_text() == ""


def test_bulk_over_aiohttp_holds_the_servers_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`bulk --transport aiohttp` paced at a sandbox's limit: every token done, never a 429."""
    accepted: list[float] = []
    refused = 0
    lock = threading.Lock()
    acquire = SlidingWindowLimiter.acquire

    def logged_acquire(limiter: SlidingWindowLimiter) -> float | None:
        nonlocal refused
        with lock:
            verdict = acquire(limiter)
            if verdict is None:
                accepted.append(time.monotonic())
            else:
                refused += 1
            return verdict

    monkeypatch.setattr(SlidingWindowLimiter, "acquire", logged_acquire)
    limit = RateLimit(requests=10, per_seconds=2.0)
    with Sandbox.start(config=SandboxConfig(rate_limits={"xendit": limit})) as sandbox:
        tokens = [sandbox.create_token("xendit") for _ in range(24)]
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(tokens) + "\n")
        output = tmp_path / "out.jsonl"
        command = [sys.executable, "-m", "tokencancel", "bulk", "xendit", str(ids)]
        command += ["--output", str(output), "--no-progress", "--transport", "aiohttp"]
        command += ["--rate", "10/2s", "--concurrency", "8"]
        done = subprocess.run(
            command,
            env={**os.environ, **sandbox.env()},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(line["outcome"], line["attempts"]) for line in lines] == [("cancelled", 1)] * 24
    assert refused == 0
    assert len(accepted) == 24 + 1  # the tokens and the preflight check's one request
    times = sorted(accepted)
    busiest = max(
        bisect.bisect_right(times, t + limit.per_seconds) - i for i, t in enumerate(times)
    )
    assert busiest <= limit.requests
