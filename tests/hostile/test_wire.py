"""Malformed HTTP on the wire ends in a result or a typed error, never anything else.

Each answer below is written to the socket as is, for all three providers, sync and async,
with a 1 s deadline: framing the parser refuses, headers it refuses, status lines no spec
knows, encodings that were not asked for or do not decode, a connection closed or reset at
each point.
"""

from __future__ import annotations

import pytest
from tokencancel import RequestTimeoutError, TokenCancelError

from .bombs import gzip_of
from .clients import RUNNERS
from .hostile_server import Exchange, RawServer

OK = b'{"status":"processing"}'
RAW_ANSWERS: dict[str, bytes] = {
    "not http": b"garbage\r\n\r\n",
    "empty then close": b"",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "float length": b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
    "huge length": b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "two lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    "chunked and length": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3"
    + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "header without colon": b"HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n",
    "nul in header": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
    "bytes 0xff in header": b"HTTP/1.1 200 OK\r\nX-A: \xff\xfe\r\nContent-Length: 0\r\n\r\n",
    "100 KB header": b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 100_000 + b"\r\n\r\n",
    "a thousand 100 Continue": b"HTTP/1.1 100 Continue\r\n\r\n" * 1000
    + b"HTTP/1.1 200 OK\r\nContent-Length: 23\r\nContent-Type: application/json\r\n\r\n"
    + OK,
    "101 switching protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nhello",
    "status 999": b"HTTP/1.1 999 Nope\r\nContent-Length: 23\r\n\r\n" + OK,
    "status 000": b"HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n",
    "http/0.9": OK,
    "http/2.0 status line": b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    "brotli": b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc",
    "gzip that is not": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"
    + b"abc",
    "gzip cut short": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
    + gzip_of(OK)[:10],
    "length longer than body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + OK,
    "tls to a plain client": bytes.fromhex("160303004a020000460303") + b"\x00" * 70,
    "reason with escapes": b"HTTP/1.1 200 \x1b[31mOK\r\nContent-Length: 23\r\n\r\n" + OK,
}


def _answer(raw: bytes):
    def script(exchange: Exchange) -> None:
        exchange.send(raw)
        exchange.close()

    return script


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", list(RAW_ANSWERS))
def test_a_malformed_answer_ends_typed(name, mode):
    """Each provider's cancel ends in a result or a TokenCancelError (a timeout at the latest)."""
    with RawServer(_answer(RAW_ANSWERS[name])) as server:
        endings = RUNNERS[mode](server.url, deadline=1.0)
    for ending in endings:
        assert ending.result is not None or isinstance(ending.error, TokenCancelError), ending
        assert ending.seconds < 2.5, ending
        if isinstance(ending.error, RequestTimeoutError):
            assert name in {"101 switching protocols"}, ending
