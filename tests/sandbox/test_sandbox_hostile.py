"""Hostile input, as an attacker sends it on loopback: never an unintended 5xx, a traceback, or
a body held beyond the cap.

Most tests run against a sandbox in a child process (`python -m tokencancel_sandbox`), so its
stderr log and its peak memory (VmHWM, Linux /proc) can be read from outside.
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tokencancel_sandbox import ControlRequestError, Sandbox

from .sandbox_helpers import SandboxProcess, answer_body, raw_exchange

XENDIT_CANCEL = "/xendit/v3/payment_tokens/pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1/cancel"
KBANK_CANCEL = "/kbank/v1/kplus/payment/cancel-token"
SOLIDGATE_CANCEL = "/solidgate/api/v1/recurring-token/cancel"
MIB = 1 << 20

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the server's peak memory from /proc"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox child process for the module, its stderr in a file."""
    process = SandboxProcess(log_path=tmp_path_factory.mktemp("hostile") / "sandbox.log")
    yield process
    process.close()


def _request(method: str, target: str, headers: dict[str, bytes], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _assert_clean_log(server: SandboxProcess) -> None:
    log = server.log()
    assert "Traceback" not in log, log
    assert "sandbox error" not in log, log


def test_a_non_ascii_basic_header_is_xendits_401(server: SandboxProcess) -> None:
    # Latin-1 bytes where base64 belongs: Xendit's INVALID_API_KEY, not a 500.
    for credentials in (b"\xe9\xe9\xe9", base64.b64encode("ключ:".encode()) + b"\xff"):
        status, received = raw_exchange(
            server.port,
            _request("POST", XENDIT_CANCEL, {"Authorization": b"Basic " + credentials, **_EMPTY}),
        )
        assert status == 401
        assert json.loads(answer_body(received))["error_code"] == "INVALID_API_KEY"
    _assert_clean_log(server)


_EMPTY = {"Content-Length": b"0"}


def test_a_lone_surrogate_echoed_by_kbank_stays_valid_json(server: SandboxProcess) -> None:
    # partnerTxnUid "\ud800" (valid JSON, no valid UTF-8) is echoed escaped, as sent: HTTP 200.
    credentials = json.loads(
        raw_exchange(server.port, _request("GET", "/_sandbox/credentials", {}))[1].partition(
            b"\r\n\r\n"
        )[2]
    )["kbank"]
    body = (
        b'{"partnerTxnUid": "\\ud800", "partnerId": "' + credentials["partner_id"].encode()
        + b'", "partnerSecret": "' + credentials["partner_secret"].encode()
        + b'", "requestDt": 1519630776, "tokenId": "KP2SBX0000000010", "reference1": "R"}'
    )  # fmt: skip
    status, received = raw_exchange(
        server.port,
        _request(
            "POST",
            KBANK_CANCEL,
            {"Content-Type": b"application/json", "Content-Length": str(len(body)).encode()},
            body,
        ),
    )
    assert status == 200
    answer = json.loads(answer_body(received).decode("utf-8"))  # strict UTF-8
    assert answer["partnerTxnUid"] == "\ud800"
    assert answer["errorCode"] == "TOKEN_NOT_FOUND"
    _assert_clean_log(server)


@pytest.mark.parametrize("delay", [1e300, 3601, -1, "soon"])
def test_an_out_of_range_delay_is_a_control_api_400(server: SandboxProcess, delay: object) -> None:
    # delay_seconds beyond an hour (1e300 used to overflow the wait) is refused at creation.
    body = json.dumps({"fault": "slow", "delay_seconds": delay}).encode()
    status, received = raw_exchange(
        server.port,
        _request(
            "POST", "/_sandbox/xendit/tokens", {"Content-Length": str(len(body)).encode()}, body
        ),
    )
    assert status == 400
    assert "delay_seconds" in json.loads(answer_body(received))["error"]
    _assert_clean_log(server)


def test_the_python_api_refuses_a_huge_delay_too() -> None:
    # Sandbox.create_token raises the control API's refusal for delay_seconds=1e300.
    with Sandbox.start(port=0) as sandbox, pytest.raises(ControlRequestError, match="delay"):
        sandbox.create_token("xendit", fault="slow", delay_seconds=1e300)


@pytest.mark.parametrize(
    "size_line",
    [b"-1", b"-5", b"+10", b"0x10", b"1_0", b"zz", b"", b"1" * 17, b"10" + b" " * 2000],
    ids=["minus-1", "minus-5", "plus", "0x", "underscore", "not-hex", "empty", "17-digits", "long"],
)
def test_a_bad_chunk_size_is_a_400(server: SandboxProcess, size_line: bytes) -> None:
    # Anything but hex digits as a chunk size: a 400 answer (not a dropped connection), no
    # traceback in the log, promptly.
    started = time.monotonic()
    status, _ = raw_exchange(
        server.port,
        _request("POST", XENDIT_CANCEL, {"Transfer-Encoding": b"chunked"}, size_line + b"\r\n"),
    )
    assert status == 400
    assert time.monotonic() - started < 5
    _assert_clean_log(server)


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Length": b"+5"},
        {"Content-Length": b"-1"},
        {"Content-Length": b"5, 6"},
        {"Content-Length": b"\xd9\xa5"},
        {"Transfer-Encoding": b"gzip"},
        {"Transfer-Encoding": b"chunked, gzip"},
    ],
    ids=["plus", "negative", "list", "non-ascii-digit", "gzip", "chunked-not-last"],
)
def test_bad_framing_headers_are_a_400(server: SandboxProcess, headers: dict[str, bytes]) -> None:
    # A Content-Length that is not one decimal number, or a coding other than chunked: 400.
    status, _ = raw_exchange(server.port, _request("POST", XENDIT_CANCEL, headers, b"12345"))
    assert status == 400
    _assert_clean_log(server)


@pytest.mark.parametrize(
    "headers",
    [{"Content-Length": b"99999999999999999999999999"}, {"Content-Length": str(MIB + 1).encode()}],
    ids=["absurd", "one-over"],
)
def test_a_content_length_over_the_cap_is_413(
    server: SandboxProcess, headers: dict[str, bytes]
) -> None:
    # The body cap (1 MiB) is decided from the header, before reading a byte.
    status, _ = raw_exchange(server.port, _request("POST", XENDIT_CANCEL, headers))
    assert status == 413


def _stream_attack(server: SandboxProcess, head: bytes, chunks: Iterator[bytes]) -> int | None:
    """Send `head` then `chunks` until the server stops reading; return its answer's status."""
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        try:
            connection.sendall(head)
            for chunk in chunks:
                connection.sendall(chunk)
            connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused and closed: what we want
        try:
            while data := connection.recv(65536):
                received += data
        except ConnectionResetError:
            pass
    return int(received[9:12]) if received.startswith(b"HTTP/1.1 ") else None


_HEAD = _request("POST", XENDIT_CANCEL, {"Transfer-Encoding": b"chunked"})
_ATTACK_MIB = 64


@pytest.mark.parametrize(
    ("name", "chunks"),
    [
        # -1 used to read to the end of the stream, whatever its size.
        ("negative-size", lambda: iter([b"-1\r\n", *([b"x" * MIB] * _ATTACK_MIB)])),
        # Valid framing, 64 KiB chunks: refused once the decoded body passes 1 MiB.
        (
            "many-chunks",
            lambda: (b"10000\r\n" + b"x" * 0x10000 + b"\r\n" for _ in range(_ATTACK_MIB * 16)),
        ),
        # One chunk announcing 4 GiB: refused before a byte of it is read.
        ("huge-chunk", lambda: iter([b"FFFFFFFF\r\n", *([b"x" * MIB] * _ATTACK_MIB)])),
    ],
)
def test_chunked_bodies_cannot_pass_the_body_cap(
    server: SandboxProcess, name: str, chunks: object
) -> None:
    # Streaming 64 MiB in a chunked body grows the server's peak memory by far less than that
    # (measured: a few MiB at most), gets a 400/413 or a closed connection, and takes seconds.
    before = server.peak_rss_kib()
    started = time.monotonic()
    status = _stream_attack(server, _HEAD, chunks())  # type: ignore[operator]
    elapsed = time.monotonic() - started
    growth_mib = (server.peak_rss_kib() - before) / 1024
    print(f"{name}: answer {status}, peak RSS +{growth_mib:.1f} MiB, {elapsed:.2f} s")
    assert growth_mib < _ATTACK_MIB / 4, f"peak RSS grew {growth_mib:.1f} MiB"
    assert status in {400, 413, None}
    assert elapsed < 30
    _assert_clean_log(server)
    # The server still serves.
    assert raw_exchange(server.port, _request("GET", "/_sandbox/health", {}))[0] == 200


def test_the_memory_measure_sees_a_body_the_server_holds(server: SandboxProcess) -> None:
    # The measure above can fail: 32 concurrent legitimate 1 MiB bodies do raise the peak.
    before = server.peak_rss_kib()
    body = b"x" * MIB
    head = _request("POST", XENDIT_CANCEL, {"Content-Length": str(MIB).encode()})
    connections = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(32)]
    try:
        for connection in connections:
            connection.sendall(head + body)
        for connection in connections:
            connection.settimeout(30)
            assert connection.recv(12).startswith(b"HTTP/1.1 401")
    finally:
        for connection in connections:
            connection.close()
    assert (server.peak_rss_kib() - before) / 1024 > 8


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("BREW", XENDIT_CANCEL, 405),
        ("FOO", "/_sandbox/health", 405),
        ("GET", "http://[x/_sandbox/health", 404),
        ("GET", "/_sandbox/tokens/%ff%fe", 404),
        ("GET", "/\u00e9\u00ff", 404),
    ],
    ids=["unknown-method", "unknown-control-method", "bad-absolute-target", "bad-escape", "latin1"],
)
def test_odd_methods_and_targets_are_4xx(
    server: SandboxProcess, method: str, target: str, expected: int
) -> None:
    # An unknown method is 405 (never the stdlib's 501); a malformed target matches no route.
    request = f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    status, _ = raw_exchange(server.port, request.encode("latin-1"))
    assert status == expected
    _assert_clean_log(server)


@pytest.mark.parametrize(
    ("request_head", "expected"),
    [
        (b"GET / HTTP/2.0", 400),
        (b"GET / FOO/1.1", 400),
        (b"\x00\x01\x02 garbage", 400),
        (b"GET", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", 414),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000, 431),
        (b"GET / HTTP/1.1" + b"\r\nX: a" * 101, 431),
    ],
    ids=["http-2", "not-http", "binary", "no-target", "long-line", "long-header", "headers"],
)
def test_malformed_request_heads_get_a_4xx_with_a_status_line(
    server: SandboxProcess, request_head: bytes, expected: int
) -> None:
    # The stdlib's own refusals come as real HTTP/1.1 answers (not HTTP/0.9 bodies) and never
    # as a 5xx: a request line naming HTTP/2.0 is a 400, not a 505.
    status, received = raw_exchange(server.port, request_head + b"\r\n\r\n")
    assert status == expected, received[:200]
    assert "error" in json.loads(answer_body(received))
    _assert_clean_log(server)


def test_a_client_resetting_mid_request_leaves_no_traceback(server: SandboxProcess) -> None:
    # A client that sends half a request and resets the connection is a one-line debug event.
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(_request("POST", XENDIT_CANCEL, {"Content-Length": b"100"}, b"{"))
        connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
    time.sleep(0.2)
    assert raw_exchange(server.port, _request("GET", "/_sandbox/health", {}))[0] == 200
    _assert_clean_log(server)


def test_the_log_check_can_fail(tmp_path: Path) -> None:
    # _assert_clean_log would notice a traceback: here one written by hand to a log file.
    class _Fake:
        def log(self) -> str:
            return (tmp_path / "log").read_text()

    (tmp_path / "log").write_text("Traceback (most recent call last):\n")
    with pytest.raises(AssertionError):
        _assert_clean_log(_Fake())  # type: ignore[arg-type]
