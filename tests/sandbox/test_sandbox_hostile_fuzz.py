"""A fuzz of malformed requests on raw sockets: every one gets an answer, none a 5xx, no error log.

Hypothesis builds requests no HTTP library would send: any method, odd targets, HTTP versions
that are missing, 2.0 or junk, header values of arbitrary bytes (non-ASCII, control characters,
stray line breaks), Basic headers of junk, JSON bodies with lone surrogates and wrong types,
bodies framed by a right or wrong Content-Length, chunked or not at all, sometimes with valid
credentials so they reach the deeper checks. No token has a fault here, so any 5xx would be
unintended.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokencancel.providers.solidgate import solidgate_signature
from tokencancel_sandbox import Sandbox, SandboxConfig

from .sandbox_helpers import raw_exchange

_TARGETS = [
    "/xendit/v3/payment_tokens/pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1/cancel",
    "/xendit/v3/payment_tokens/%ff%00/cancel",
    "/kbank/v1/kplus/payment/cancel-token",
    "/solidgate/api/v1/recurring-token/cancel",
    "/_sandbox/xendit/tokens",
    "/_sandbox/kbank/tokens/%C0%80",
    "/_sandbox/credentials",
    "/_sandbox/env",
    "/_sandbox/reset",
]
_HEADER_NAMES = [
    "Authorization",
    "Content-Type",
    "Partner-Id",
    "Partner-Secret",
    "merchant",
    "signature",
    "api-version",
    "Transfer-Encoding",
    "Content-Length",
    "Connection",
]


class _ErrorRecords(logging.Handler):
    """Collects the sandbox logger's warnings and errors."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[Sandbox, _ErrorRecords]]:
    """A sandbox that checks its own answers, with its logger's warnings collected."""
    records = _ErrorRecords()
    logger = logging.getLogger("tokencancel_sandbox")
    logger.addHandler(records)
    config = SandboxConfig(validate_responses=True, cancel_settle_seconds=3600)
    try:
        with Sandbox.start(port=0, config=config) as sandbox:
            yield sandbox, records
    finally:
        logger.removeHandler(records)


_junk_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(["\ud800", "\udfff"]),
    max_size=40,
)
_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _junk_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_junk_text, children, max_size=4)
    ),
    max_leaves=12,
)


def _credentials_or_junk(valid: str) -> st.SearchStrategy[Any]:
    return st.sampled_from([valid]) | _json_values


@st.composite
def _body(draw: st.DrawFn, credentials: dict[str, dict[str, str]]) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "kbank"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(_json_values)).encode()
    kbank = credentials["kbank"]
    fields = {
        "partnerTxnUid": draw(_credentials_or_junk("TXN1")),
        "partnerId": draw(_credentials_or_junk(kbank["partner_id"])),
        "partnerSecret": draw(_credentials_or_junk(kbank["partner_secret"])),
        "requestDt": draw(_credentials_or_junk("2019-07-04T18:00:42.411") | st.integers()),
        "tokenId": draw(_credentials_or_junk("KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B")),
        "reference1": draw(_credentials_or_junk("ORDER-0001")),
    }
    kept = draw(st.lists(st.sampled_from(sorted(fields)), unique=True))
    return json.dumps({name: fields[name] for name in kept}).encode()


@st.composite
def _request(draw: st.DrawFn, credentials: dict[str, dict[str, str]]) -> bytes:
    method = draw(st.sampled_from(["POST", "GET", "PUT", "HEAD", "OPTIONS", "DELETE", "BREW"]))
    target = draw(
        st.sampled_from(_TARGETS)
        | st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=60).map(
            lambda text: "/" + text
        )
    )
    body = draw(_body(credentials))
    headers: list[tuple[bytes, bytes]] = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(
            st.sampled_from(_HEADER_NAMES)
            | st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)
        )
        value = draw(
            st.binary(max_size=60).filter(lambda raw: b"\r\n\r\n" not in raw)
            | st.sampled_from([b"application/json", b"chunked", b"Basic " + b"\xff" * 3, b"0"])
            | st.binary(max_size=40).map(lambda raw: b"Basic " + base64.b64encode(raw))
        )
        headers.append((name.encode(), value))
    if draw(st.booleans()):  # valid credentials, so requests reach validation and the tokens
        secret = credentials["xendit"]["secret_key"]
        keys = credentials["solidgate"]
        headers += [
            (b"Authorization", b"Basic " + base64.b64encode(f"{secret}:".encode())),
            (b"merchant", keys["public_key"].encode()),
            (
                b"signature",
                solidgate_signature(keys["public_key"], keys["secret_key"], body).encode(),
            ),
        ]
    framing = draw(st.sampled_from(["length", "wrong-length", "chunked", "none"]))
    if framing == "length":
        headers.append((b"Content-Length", str(len(body)).encode()))
    elif framing == "wrong-length":
        headers.append((b"Content-Length", str(draw(st.integers(0, 400))).encode()))
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/x", ""]))
    request_line = f"{method} {target} {version}".rstrip()
    head = [request_line.encode("latin-1"), b"Host: 127.0.0.1"]
    head += [name + b": " + value for name, value in headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _final_status(received: bytes) -> int | None:
    """The status of the first final (non-1xx) answer."""
    for status in re.findall(rb"HTTP/1\.[01] (\d{3}) ", received):
        if not status.startswith(b"1"):
            return int(status)
    return None


def test_malformed_requests_never_get_a_5xx(target: tuple[Sandbox, _ErrorRecords]) -> None:
    # Every fuzzed request gets an answer below 500 and the sandbox logs no warning or error.
    sandbox, records = target
    credentials = sandbox.credentials
    seen: dict[int, int] = {}

    @settings(
        max_examples=400,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=_request(credentials))
    def run(request: bytes) -> None:
        _, received = raw_exchange(sandbox.port, request)
        final = _final_status(received)
        assert final is not None, (request[:300], received[:300])
        assert final < 500, (request[:300], received[:600])
        seen[final] = seen.get(final, 0) + 1

    run()
    assert not records.records, [record.getMessage() for record in records.records]
    # The fuzz reached past the framing: provider answers (200, 401, 404, 405) among them.
    assert {200, 400, 401, 404, 405} <= set(seen), seen
