"""Client side of the contract: hostile answers never raise anything outside the error tree.

Every body of the corpus is sent with every status below, for every provider, through the
generated client and the overlay. Whatever comes back must be a CancelResult or a
TokenCancelError; a KeyError, TypeError, JSONDecodeError, RecursionError or any other exception
escaping to the caller fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from tokencancel import CancelResult, TokenCancelError, UnexpectedResponseError

from .contract_clients import PROVIDERS, Answer, AnsweringClient

JSON = {"Content-Type": "application/json"}

# Documented statuses of the three specs, plus ones no spec documents.
STATUSES = (200, 201, 204, 302, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503, 504)

_BIG_STRING = "x" * (4 * 1024 * 1024)

HOSTILE_BODIES: dict[str, bytes] = {
    # Not JSON at all.
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "plain text": b"Service Unavailable",
    "html page": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
    "truncated json": b'{"statusCode": "00", "tokenList": [{"tokenId": "KP2',
    "invalid utf-8": b'{"status": "\xff\xfe processing"}',
    "utf-8 bom": b'\xef\xbb\xbf{"status": "processing"}',
    "nan literal": b'{"error_code": NaN, "statusCode": Infinity}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    # JSON of the wrong shape.
    "null": b"null",
    "number": b"42",
    "string": b'"processing"',
    "array": b'[{"statusCode": "00"}]',
    "empty object": b"{}",
    "very large": json.dumps({"message": _BIG_STRING, "status": "processing"}).encode(),
    # Fields of the wrong type.
    "kbank wrong types": json.dumps(
        {"statusCode": 0, "tokenList": "CANCELLED", "errorCode": ["KP9999"], "partnerId": {}}
    ).encode(),
    "kbank token list of numbers": json.dumps({"statusCode": "00", "tokenList": [1, 2]}).encode(),
    "solidgate wrong types": json.dumps({"status": 1, "error": "1.01"}).encode(),
    "solidgate error wrong types": json.dumps(
        {"error": {"code": 101, "messages": 3, "recommended_message_for_user": []}}
    ).encode(),
    "xendit wrong types": json.dumps(
        {"payment_token_id": 12345, "status": ["CANCELED"], "actions": {"type": 1}}
    ).encode(),
    "xendit error wrong types": json.dumps(
        {"error_code": 404, "message": None, "errors": "everything"}
    ).encode(),
    # Values the specs do not list.
    "kbank unknown codes": json.dumps(
        {"statusCode": "99", "tokenList": [{"tokenId": "t", "status": "SUSPENDED"}]}
    ).encode(),
    "solidgate unknown status": json.dumps({"status": "revoked_by_moon"}).encode(),
    "solidgate unknown error code": json.dumps(
        {"error": {"code": "9.99", "messages": {"general": [{"nested": True}]}}}
    ).encode(),
    "xendit unknown enum values": json.dumps(
        {"payment_token_id": "pt-x", "status": "SUSPENDED", "country": "ZZ", "currency": "XXX"}
    ).encode(),
    "xendit unknown error code": json.dumps(
        {"error_code": "SOMETHING_NEW", "message": "?"}
    ).encode(),
    # Required fields missing.
    "solidgate error without code": json.dumps({"error": {}}).encode(),
    "xendit error without code": json.dumps({"message": "no code"}).encode(),
}

CONTENT_TYPES: dict[str, dict[str, str]] = {
    "json": JSON,
    "html": {"Content-Type": "text/html; charset=utf-8"},
    "none": {},
}


@pytest.fixture(scope="module")
def client() -> Iterator[AnsweringClient]:
    answering = AnsweringClient()
    yield answering
    answering.close()


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("body_name", sorted(HOSTILE_BODIES))
def test_hostile_answers_end_in_a_result_or_a_typed_error(
    client: AnsweringClient, provider: str, body_name: str
) -> None:
    """Whatever the status and content type, a hostile body never escapes the error tree."""
    content = HOSTILE_BODIES[body_name]
    for status in STATUSES:
        for content_type, headers in CONTENT_TYPES.items():
            outcome = client.cancel(provider, Answer(status, content, headers))
            assert isinstance(outcome, CancelResult | TokenCancelError), (
                f"{provider}: {body_name}, HTTP {status}, {content_type}"
            )
            assert outcome.http_status == status


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("body_name", ["empty", "html page", "truncated json", "deeply nested"])
def test_unparseable_success_is_an_unexpected_response_not_a_result(
    client: AnsweringClient, provider: str, body_name: str
) -> None:
    """An HTTP 200 without a readable body is never mistaken for a cancellation."""
    outcome = client.cancel(provider, Answer(200, HOSTILE_BODIES[body_name], JSON))
    assert isinstance(outcome, UnexpectedResponseError)
    assert outcome.raw_body == HOSTILE_BODIES[body_name]
