"""KBank's outcome table, row by row (docs/providers.md, "KBank outcomes")."""

from __future__ import annotations

import pytest
from tokencancel import (
    CancelOutcome,
    NotFoundError,
    ProviderServerError,
    RateLimitedError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from tokencancel._exit import category_of
from tokencancel.providers.kbank import CANCEL_DOC, KBANK

from .reading import answer, interpret, rules

TOKEN = "KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B"
FIELDS = {"reference1": "ORDER-0001"}


def ok(status: object, token_id: object = TOKEN) -> dict[str, object]:
    return {"statusCode": "00", "tokenList": [{"tokenId": token_id, "status": status}]}


def refused(code: str | None) -> dict[str, object]:
    return {"statusCode": "10", "errorCode": code, "errorDesc": "why"}


ROWS = [
    ("cancelled", answer(200, ok("CANCELLED")), CancelOutcome.CANCELLED, CANCEL_DOC),
    ("cancelled-array", answer(200, ok(["CANCELLED"])), CancelOutcome.CANCELLED, CANCEL_DOC),
    ("00-other-status", answer(200, ok("ACTIVE")), UnexpectedResponseError, None),
    ("00-other-token", answer(200, ok("CANCELLED", "OTHER")), UnexpectedResponseError, None),
    ("kp9999", answer(200, refused("KP9999")), ProviderServerError, CANCEL_DOC),
    (
        "sandbox-code",
        answer(200, refused("TOKEN_ALREADY_CANCELLED")),
        UnrecognizedAnswerError,
        None,
    ),
    ("qr-style-code", answer(200, refused("authentication_error")), UnrecognizedAnswerError, None),
    ("no-code", answer(200, {"statusCode": "10"}), UnrecognizedAnswerError, None),
    ("429", answer(429, b""), RateLimitedError, None),
    ("503", answer(503, b""), ProviderServerError, None),
    ("404", answer(404, {"statusCode": "10"}), UnexpectedResponseError, None),
    ("not-json", answer(200, b"<html/>"), UnexpectedResponseError, None),
]


@pytest.mark.parametrize(("name", "reply", "expected", "source"), ROWS, ids=[r[0] for r in ROWS])
def test_each_row_of_the_table(name, reply, expected, source):
    """Each answer gets its documented outcome or error, naming the rule's source."""
    got = interpret(KBANK, reply, token_id=TOKEN, fields=FIELDS)
    if isinstance(expected, CancelOutcome):
        assert got.outcome is expected
    else:
        assert type(got) is expected
    assert got.rule_source == source


def test_no_code_kbank_never_published_is_final():
    """KBank publishes no code table: every error code but KP9999 is unknown until taught."""
    for code in (
        "TOKEN_NOT_FOUND",
        "TOKEN_ALREADY_CANCELLED",
        "AUTHENTICATION_FAILED",
        "duplicate_request",
    ):
        got = interpret(KBANK, answer(200, refused(code)), token_id=TOKEN, fields=FIELDS)
        assert isinstance(got, UnrecognizedAnswerError)
        assert got.error_code == code
        assert not got.retryable


def test_a_taught_not_found_warns_about_reference1():
    """A rule mapping a code to not_found gives NotFoundError that names the reference1 trap."""
    taught = rules(
        '[[rule]]\nprovider = "kbank"\nerror_code = "TOKEN_NOT_FOUND"\n'
        'outcome = "not_found"\nsource = "UAT"\n'
    )
    got = interpret(
        KBANK, answer(200, refused("TOKEN_NOT_FOUND")), token_id=TOKEN, fields=FIELDS, rules=taught
    )
    assert isinstance(got, NotFoundError)
    assert "reference1" in got.message
    assert got.rule_source == "operator rule (UAT)"
    assert got.ambiguous  # a wrong reference1 answers the same: the token may still be active
    assert not category_of(got).done
