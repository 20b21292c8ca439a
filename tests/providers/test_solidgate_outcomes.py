"""Solidgate's outcome table, row by row (docs/providers.md, "Solidgate outcomes")."""

from __future__ import annotations

import pytest
from tokencancel import (
    AuthenticationError,
    CancelOutcome,
    NotFoundError,
    ProviderError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from tokencancel.providers.solidgate import (
    ERROR_CODES_DOC,
    RATE_LIMITS_DOC,
    REVOKE_DOC,
    SOLIDGATE,
)

from .reading import answer, interpret, rules

TOKEN = "923bb4e6-4a5f-41ec-81fb-28eb8a152e55"


def error(code: str | None, messages: object) -> dict[str, object]:
    body: dict[str, object] = {"messages": messages}
    if code is not None:
        body["code"] = code
    return {"error": body}


ROWS = [
    (
        "processing",
        answer(200, {"status": "processing"}),
        CancelOutcome.CANCELLATION_PENDING,
        REVOKE_DOC,
    ),
    (
        "1.01",
        answer(200, error("1.01", ["Authentication failed"])),
        AuthenticationError,
        REVOKE_DOC,
    ),
    (
        "not-found",
        answer(200, error("2.01", {"general": ["recurring token was not found"]})),
        NotFoundError,
        REVOKE_DOC,
    ),
    (
        "concurrent",
        answer(
            200, error("2.01", {"general": ["Cancellation is already concurrently processing"]})
        ),
        CancelOutcome.CANCELLATION_PENDING,
        REVOKE_DOC,
    ),
    (
        "2.01-unpublished-text",
        answer(200, error("2.01", {"token": ["recurring token already cancelled"]})),
        UnrecognizedAnswerError,
        None,
    ),
    (
        "5.07",
        answer(200, error("5.07", ["Exceeded API calls limits"])),
        RateLimitedError,
        RATE_LIMITS_DOC,
    ),
    (
        "2.08",
        answer(200, error("2.08", ["Invalid card number"])),
        ProviderInvalidRequestError,
        ERROR_CODES_DOC,
    ),
    (
        "6.01",
        answer(200, error("6.01", ["Unknown decline code"])),
        ProviderServerError,
        ERROR_CODES_DOC,
    ),
    ("7.01", answer(200, error("7.01", ["Card token not found"])), ProviderError, ERROR_CODES_DOC),
    ("no-code", answer(200, error(None, ["?"])), UnrecognizedAnswerError, None),
    ("9.99", answer(200, error("9.99", ["?"])), UnrecognizedAnswerError, None),
    ("other-status", answer(200, {"status": "done"}), UnexpectedResponseError, None),
    ("404", answer(404, {"error": {"code": "2.01"}}), UnexpectedResponseError, None),
    ("503", answer(503, b""), ProviderServerError, None),
]


@pytest.mark.parametrize(("name", "reply", "expected", "source"), ROWS, ids=[r[0] for r in ROWS])
def test_each_row_of_the_table(name, reply, expected, source):
    """Each answer gets its documented outcome or error, naming the rule's source."""
    got = interpret(SOLIDGATE, reply, token_id=TOKEN)
    if isinstance(expected, CancelOutcome):
        assert got.outcome is expected
    else:
        assert type(got) is expected
    assert got.rule_source == source


def test_a_message_worded_otherwise_is_never_final():
    """A 2.01 text that only resembles a documented case is unrecognised, carrying the text."""
    got = interpret(
        SOLIDGATE, answer(200, error("2.01", ["token has been revoked before"])), token_id=TOKEN
    )
    assert isinstance(got, UnrecognizedAnswerError)
    assert got.error_code == "2.01"
    assert "token has been revoked before" in got.message


def test_an_operator_rule_matches_a_message_pattern():
    """A 2.01 rule with a message pattern applies to matching texts only."""
    taught = rules(
        '[[rule]]\nprovider = "solidgate"\nerror_code = "2.01"\n'
        'message = "(?i)already cancel"\noutcome = "already_inactive"\nsource = "sandbox"\n'
    )
    matching = answer(200, error("2.01", {"token": ["recurring token already cancelled"]}))
    other = answer(200, error("2.01", {"token": ["unsupported method"]}))
    assert interpret(SOLIDGATE, matching, token_id=TOKEN, rules=taught).outcome is (
        CancelOutcome.ALREADY_INACTIVE
    )
    assert isinstance(
        interpret(SOLIDGATE, other, token_id=TOKEN, rules=taught), UnrecognizedAnswerError
    )
