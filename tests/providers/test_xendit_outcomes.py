"""Xendit's outcome table, row by row (docs/providers.md, "Xendit outcomes")."""

from __future__ import annotations

import pytest
from tokencancel import (
    AuthenticationError,
    CancelOutcome,
    NotFoundError,
    PermissionDeniedError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from tokencancel.providers.xendit import AUTH_DOC, CANCEL_DOC, RATE_LIMITS_DOC, XENDIT

from .reading import answer, interpret, rules

TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"
FINAL = (CancelOutcome.CANCELLED, CancelOutcome.ALREADY_INACTIVE)

ROWS = [
    ("canceled", answer(200, {"status": "CANCELED"}), CancelOutcome.CANCELLED, CANCEL_DOC),
    ("expired", answer(200, {"status": "EXPIRED"}), CancelOutcome.ALREADY_INACTIVE, CANCEL_DOC),
    ("failed", answer(200, {"status": "FAILED"}), CancelOutcome.ALREADY_INACTIVE, CANCEL_DOC),
    ("active", answer(200, {"status": "ACTIVE"}), UnexpectedResponseError, None),
    ("suspended", answer(200, {"status": "SUSPENDED"}), UnexpectedResponseError, None),
    (
        "inactive",
        answer(400, {"error_code": "INACTIVE_PAYMENT_REQUEST", "message": "inactive"}),
        CancelOutcome.ALREADY_INACTIVE,
        CANCEL_DOC,
    ),
    (
        "validation",
        answer(400, {"error_code": "API_VALIDATION_ERROR", "message": "bad"}),
        ProviderInvalidRequestError,
        CANCEL_DOC,
    ),
    (
        "ineligible",
        answer(400, {"error_code": "INELIGIBLE_TRANSACTION_STATUS"}),
        ProviderInvalidRequestError,
        CANCEL_DOC,
    ),
    (
        "temporarily",
        answer(400, {"error_code": "TEMPORARILY_UNAVAILABLE"}),
        ProviderServerError,
        CANCEL_DOC,
    ),
    ("new-400", answer(400, {"error_code": "BRAND_NEW"}), UnrecognizedAnswerError, None),
    ("404", answer(404, {"error_code": "DATA_NOT_FOUND"}), NotFoundError, CANCEL_DOC),
    ("404-other", answer(404, {"error_code": "NOT_FOUND"}), UnexpectedResponseError, None),
    ("404-html", answer(404, b"<html>nope</html>"), UnexpectedResponseError, None),
    ("401", answer(401, {"error_code": "INVALID_API_KEY"}), AuthenticationError, AUTH_DOC),
    (
        "403",
        answer(403, {"error_code": "REQUEST_FORBIDDEN_ERROR"}),
        PermissionDeniedError,
        AUTH_DOC,
    ),
    ("429", answer(429, {"error_code": "RATE_LIMIT_EXCEEDED"}), RateLimitedError, RATE_LIMITS_DOC),
    ("500", answer(500, {"error_code": "SERVER_ERROR"}), ProviderServerError, CANCEL_DOC),
    ("503", answer(503, {"error_code": "CHANNEL_UNAVAILABLE"}), ProviderServerError, CANCEL_DOC),
    ("502", answer(502, b""), UnexpectedResponseError, None),
]


@pytest.mark.parametrize(("name", "reply", "expected", "source"), ROWS, ids=[r[0] for r in ROWS])
def test_each_row_of_the_table(name, reply, expected, source):
    """Each answer gets its documented outcome or error, naming the rule's source."""
    got = interpret(XENDIT, reply, token_id=TOKEN)
    if isinstance(expected, CancelOutcome):
        assert got.outcome is expected
    else:
        assert type(got) is expected
    assert got.rule_source == source


def test_only_documented_rules_are_final():
    """Every final outcome in the table has a source; every sourceless row is not final."""
    for _, reply, _expected, source in ROWS:
        got = interpret(XENDIT, reply, token_id=TOKEN)
        final = getattr(got, "outcome", None) in FINAL or isinstance(got, NotFoundError)
        assert not final or source is not None


def test_the_wrong_base_url_404_says_where_to_look():
    """A 404 without DATA_NOT_FOUND is not 'not found': it names XENDIT_BASE_URL."""
    got = interpret(XENDIT, answer(404, {"error_code": "NOT_FOUND"}), token_id=TOKEN)
    assert "XENDIT_BASE_URL" in got.message
    assert not got.retryable


def test_a_peripheral_field_does_not_decide_the_outcome():
    """CANCELED with a null `created` is cancelled; the parse problem is kept, not raised."""
    got = interpret(XENDIT, answer(200, {"status": "CANCELED", "created": None}), token_id=TOKEN)
    assert got.outcome is CancelOutcome.CANCELLED
    assert got.parsed is None
    assert got.parse_error is not None


def test_an_operator_rule_teaches_a_new_code():
    """A 400 code no doc explains becomes final only through the operator's rule, named."""
    taught = rules(
        '[[rule]]\nprovider = "xendit"\nerror_code = "ALREADY_GONE"\n'
        'outcome = "already_inactive"\nsource = "seen in test mode"\n'
    )
    reply = answer(400, {"error_code": "ALREADY_GONE"})
    assert isinstance(interpret(XENDIT, reply, token_id=TOKEN), UnrecognizedAnswerError)
    got = interpret(XENDIT, reply, token_id=TOKEN, rules=taught)
    assert got.outcome is CancelOutcome.ALREADY_INACTIVE
    assert got.rule_source == "operator rule (seen in test mode)"
