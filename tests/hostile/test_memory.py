"""Bounded memory per answer: huge bodies and decompression bombs end typed, memory untouched.

The client runs in a child process (`memory_child`) that measures its own peak RSS with
`resource.getrusage`; the attacks are served from this process. Each attack must end in its
typed error with the child's peak RSS within `MAX_GROWTH_MIB` of its baseline (measured: under
3 MiB for every attack, docs/overlay.md) — where, without the cap, each would cost from 200 MiB
(the plain bodies) to 1 GiB (the bombs).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .bombs import MIB, double_gzip_zeros, gzip_of, gzip_zeros, raw_deflate_zeros, zlib_zeros
from .hostile_server import Exchange, RawServer, answer_ok, head, ok_body, provider_of

MAX_GROWTH_MIB = 40
BIG = 200 * MIB
BLOCK = b"x" * (64 * 1024)
JSON = ("Content-Type", "application/json")


def _stream(exchange: Exchange, total: int, frame: Callable[[bytes], bytes]) -> None:
    sent = 0
    while sent < total:
        exchange.send(frame(BLOCK))
        sent += len(BLOCK)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def declared_200mb(exchange: Exchange) -> None:
    """A Content-Length of 200 MiB, and the bytes behind it."""
    exchange.send(head(200, [JSON, ("Content-Length", str(BIG))]))
    _stream(exchange, BIG, lambda block: block)


def chunked_200mb(exchange: Exchange) -> None:
    """200 MiB in 64 KiB chunks, no length announced."""
    exchange.send(head(200, [JSON, ("Transfer-Encoding", "chunked")]))
    _stream(exchange, BIG, _chunk)
    exchange.send(b"0\r\n\r\n")


def close_delimited_200mb(exchange: Exchange) -> None:
    """200 MiB ended by closing the connection (neither length nor chunks)."""
    exchange.send(head(200, [JSON, ("Connection", "close")]))
    _stream(exchange, BIG, lambda block: block)
    exchange.close()


def _encoded(exchange: Exchange, encoding: str, body: bytes) -> None:
    exchange.send(
        head(200, [JSON, ("Content-Encoding", encoding), ("Content-Length", str(len(body)))]) + body
    )


def gzip_gzip_1gib(exchange: Exchange) -> None:
    """`Content-Encoding: gzip, gzip`: 2.5 KB on the wire, 1 GiB decoded."""
    _encoded(exchange, "gzip, gzip", double_gzip_zeros(1024))


def gzip_512mib(exchange: Exchange) -> None:
    """Plain gzip: 530 KB on the wire, 512 MiB decoded."""
    _encoded(exchange, "gzip", gzip_zeros(512))


def deflate_raw_512mib(exchange: Exchange) -> None:
    """`deflate` without the zlib wrapper (as some servers send it): 512 MiB decoded."""
    _encoded(exchange, "deflate", raw_deflate_zeros(512))


def deflate_zlib_512mib(exchange: Exchange) -> None:
    """`deflate` with the zlib wrapper: 512 MiB decoded."""
    _encoded(exchange, "deflate", zlib_zeros(512))


def bomb_in_one_chunk(exchange: Exchange) -> None:
    """The 1 GiB double-gzip bomb as one small chunk of a chunked body."""
    exchange.send(
        head(200, [JSON, ("Content-Encoding", "gzip, gzip"), ("Transfer-Encoding", "chunked")])
        + _chunk(double_gzip_zeros(1024))
        + b"0\r\n\r\n"
    )


def gzip_trailing_junk(exchange: Exchange) -> None:
    """A valid gzipped answer followed by 200 MiB that decode to nothing."""
    body = gzip_of(ok_body(provider_of(exchange.request)))
    exchange.send(
        head(200, [JSON, ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")])
        + _chunk(body)
    )
    _stream(exchange, BIG, _chunk)
    exchange.send(b"0\r\n\r\n")


def thousand_encodings(exchange: Exchange) -> None:
    """A Content-Encoding list of 1,000 gzips (each decoder would hold a window of its own)."""
    body = gzip_of(ok_body(provider_of(exchange.request)))
    _encoded(exchange, ", ".join(["gzip"] * 1000), body)


ATTACKS: dict[str, tuple[Callable[[Exchange], None], str]] = {
    attack.__name__: (attack, ended_in)
    for attack, ended_in in [
        (declared_200mb, "ResponseTooLargeError"),
        (chunked_200mb, "ResponseTooLargeError"),
        (close_delimited_200mb, "ResponseTooLargeError"),
        (gzip_gzip_1gib, "ResponseTooLargeError"),
        (gzip_512mib, "ResponseTooLargeError"),
        (deflate_raw_512mib, "ResponseTooLargeError"),
        (deflate_zlib_512mib, "ResponseTooLargeError"),
        (bomb_in_one_chunk, "ResponseTooLargeError"),
        (gzip_trailing_junk, "ResponseTooLargeError"),
        (thousand_encodings, "UnexpectedResponseError"),
    ]
}


def serve(exchange: Exchange) -> None:
    """Answer `URL/ATTACK/...` with that attack, `URL/ok/...` with a success."""
    name = exchange.request.target.split("/")[1]
    if name == "ok":
        answer_ok(exchange)
        return
    ATTACKS[name][0](exchange)
    exchange.close()


def measure(mode: str, *extra: str) -> dict[str, dict[str, object]]:
    """Run every attack from a child process in `mode`; its report, attack by attack."""
    for bomb in (double_gzip_zeros(1024), gzip_zeros(512)):  # built before the clock starts
        assert bomb
    with RawServer(serve) as server:
        done = subprocess.run(
            [sys.executable, "-m", "tests.hostile.memory_child", server.url, mode, *extra,
             *ATTACKS],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=Path(__file__).parents[2],
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report: dict[str, dict[str, object]] = json.loads(done.stdout)["attacks"]
    return report


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_attack_ends_typed_with_memory_bounded(mode):
    """Each huge body or bomb ends in its typed error, the child's peak RSS barely moved."""
    report = measure(mode)
    for name, (_, ended_in) in ATTACKS.items():
        line = report[name]
        assert line["ended_in"] == ended_in, (name, line)
        assert line["peak_growth_kib"] < MAX_GROWTH_MIB * 1024, (name, line)  # type: ignore[operator]
