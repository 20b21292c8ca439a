"""Answers that echo the request back: every header and the body, in every field, every encoding.

A server (or a gateway, or a debugging proxy) that repeats what it received puts the
credentials (KBank's partner secret in the body and headers, Xendit's Basic credential, the
Solidgate public key and this request's signature) into the fields the client reads and
stores: error codes, messages, statuses, and response headers. Each echo is written four ways
into one body: plain JSON, JSON with escaped slashes (as PHP writes it), every character as
`\\uXXXX`, and base64; and it carries a CR/LF and a terminal escape, to try to forge log lines.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import attrs

from .hostile_server import Exchange, Received, provider_of

CONTROL_TAIL = "\r\nFORGED: line\x1b[31m"
"""Appended to every echo: a log line of its own, and a terminal colour escape."""


def echo_text(request: Received) -> str:
    """Everything the request carried, as one text."""
    headers = [f"{name}: {value}" for name, value in request.headers.items()]
    return "; ".join([*headers, request.body.decode("utf-8", "replace")]) + CONTROL_TAIL


def plain(text: str) -> str:
    """`text` as a JSON string literal, as most encoders write it."""
    return json.dumps(text)


def slashed(text: str) -> str:
    """`text` as a JSON string literal with "/" escaped, as PHP's json_encode writes it."""
    return json.dumps(text).replace("/", "\\/")


def unicode_escaped(text: str) -> str:
    """`text` as a JSON string literal with every character a `\\uXXXX` escape."""
    return '"' + "".join(f"\\u{ord(character):04x}" for character in text) + '"'


def base64_literal(text: str) -> str:
    """`text` base64-encoded, as a JSON string literal."""
    return json.dumps(base64.b64encode(text.encode()).decode())


def echo_headers(request: Received) -> list[tuple[str, str]]:
    """The request's headers sent back as response headers, and its body in base64."""
    echoed = [(f"X-Echo-{name}", value) for name, value in request.headers.items()]
    return [*echoed, ("X-Echo-Body", base64.b64encode(request.body).decode())]


def refusal_body(provider: str, code: str, echo: str) -> bytes:
    """`provider`'s refusal with `code` (a JSON literal) and the echo in every text field."""
    forms = [plain(echo), slashed(echo), unicode_escaped(echo), base64_literal(echo)]
    listed = ",".join(forms)
    if provider == "kbank":
        text = (
            f'{{"partnerTxnUid":{forms[0]},"statusCode":"10","errorCode":{code},'
            f'"errorDesc":{forms[1]},"tokenList":null,"echo":[{listed}]}}'
        )
    elif provider == "solidgate":
        text = (
            f'{{"error":{{"code":{code},"messages":{{"token":[{listed}]}},'
            f'"recommended_message_for_user":{forms[2]}}}}}'
        )
    else:
        text = (
            f'{{"error_code":{code},"message":{forms[0]},"errors":['
            f'{{"path":{forms[1]},"message":{forms[2]}}},{forms[3]}]}}'
        )
    return text.encode()


def success_body(provider: str, echo: str) -> bytes:
    """`provider`'s success, with the echo in every field the outcome does not depend on."""
    forms = [plain(echo), slashed(echo), unicode_escaped(echo), base64_literal(echo)]
    listed = ",".join(forms)
    if provider == "kbank":
        text = (
            f'{{"partnerTxnUid":{forms[0]},"statusCode":"00","errorCode":{forms[1]},'
            f'"errorDesc":{forms[2]},"tokenList":[{{"tokenId":null,"reference1":{forms[3]},'
            f'"status":"CANCELLED"}}],"echo":[{listed}]}}'
        )
    elif provider == "solidgate":
        text = f'{{"status":"processing","echo":[{listed}]}}'
    else:
        text = (
            f'{{"id":{forms[0]},"status":"CANCELED","reference_id":{forms[1]},'
            f'"customer_id":{forms[2]},"description":{forms[3]},"echo":[{listed}]}}'
        )
    return text.encode()


@attrs.frozen
class Echo:
    """A script: answer each request with `status` and a body built from its echo."""

    status: int | Callable[[str], int]
    body: Callable[[str, str], bytes]
    content_type: str = "application/json"

    def __call__(self, exchange: Exchange) -> None:
        request = exchange.request
        provider = provider_of(request)
        status = self.status if isinstance(self.status, int) else self.status(provider)
        exchange.answer(
            status,
            self.body(provider, echo_text(request)),
            [("Content-Type", self.content_type), *echo_headers(request)],
        )


def refusing(code: str, status: int | Callable[[str], int] | None = None) -> Echo:
    """A refusal with `code` (a plain string), HTTP 200 (Xendit: 400) unless told otherwise."""
    return Echo(
        status if status is not None else (lambda provider: 400 if provider == "xendit" else 200),
        lambda provider, echo: refusal_body(provider, json.dumps(code), echo),
    )


def refusing_with_echoed_code() -> Echo:
    """A refusal whose error code is the echo itself."""
    return Echo(
        lambda provider: 400 if provider == "xendit" else 200,
        lambda provider, echo: refusal_body(provider, plain(echo), echo),
    )


def succeeding() -> Echo:
    """Each provider's success, echoing into every other field."""
    return Echo(200, success_body)
