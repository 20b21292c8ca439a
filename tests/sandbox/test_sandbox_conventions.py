"""The sandbox's own codes and texts, and the outcome-rules file that gives them meaning."""

from __future__ import annotations

import json
import re
import threading
import time
import tomllib
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from tokencancel_sandbox import OUTCOME_RULES_PATH, Sandbox, SandboxConfig
from tokencancel_sandbox._conventions import CONVENTIONS, OUTCOMES, PROVIDER_TEXTS
from tokencancel_sandbox._spec import _describe_error

from .sandbox_helpers import ProviderCalls, assert_conforms

SANDBOX_SOURCE = "tokencancel sandbox convention"


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = tomllib.loads(OUTCOME_RULES_PATH.read_text("utf-8"))["rule"]
    return rules


def _joined(messages: Any) -> str:
    """Solidgate messages as one text: a list, or an object of lists keyed by field."""
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {text}" for key, texts in messages.items() for text in texts)
    if isinstance(messages, list):
        return "; ".join(str(text) for text in messages)
    return str(messages)


def matching_outcomes(provider: str, error_code: str, text: str = "") -> list[str]:
    """The outcomes of every rule in the shipped file that matches this answer."""
    return [
        rule["outcome"]
        for rule in _rules()
        if rule["provider"] == provider
        and rule["error_code"] == error_code
        and ("message" not in rule or re.search(rule["message"], text))
    ]


def test_the_rules_file_is_well_formed() -> None:
    # Each rule names a provider, a code, a known outcome, the sandbox as source; regexes compile.
    text = OUTCOME_RULES_PATH.read_text("utf-8")
    assert text.splitlines()[0] == (
        "# What the tokencancel sandbox's own codes and texts mean "
        "(they are the sandbox's, not the provider's)."
    )
    rules = _rules()
    assert rules
    for rule in rules:
        assert set(rule) - {"message"} == {"provider", "error_code", "outcome", "source"}, rule
        assert rule["provider"] in {"kbank", "solidgate", "xendit"}
        assert rule["outcome"] in OUTCOMES
        assert rule["source"] == SANDBOX_SOURCE
        if "message" in rule:
            re.compile(rule["message"])


def test_every_convention_has_exactly_one_rule_with_its_meaning() -> None:
    # Each code or text the sandbox invented is matched by one rule, naming the right outcome.
    for convention in CONVENTIONS:
        outcomes = matching_outcomes(
            convention.provider, convention.error_code, convention.text or ""
        )
        assert outcomes == [convention.outcome], convention


def test_no_rule_claims_a_providers_own_text() -> None:
    # Solidgate's verbatim texts are the client's to know; the rules file leaves them alone.
    for provider, texts in PROVIDER_TEXTS.items():
        for text in texts:
            assert matching_outcomes(provider, "2.01", text) == [], text


def test_the_rules_check_can_fail() -> None:
    # The matching used above tells codes apart: an unknown code or a provider text match nothing.
    assert matching_outcomes("kbank", "KP9999") == []
    assert matching_outcomes("kbank", "TOKEN_NOT_FOUND") == ["not_found"]
    assert matching_outcomes("solidgate", "2.01", "unlisted condition 1234") == []


def _kbank_answer(response: httpx2.Response) -> tuple[str, str]:
    body = response.json()
    return body["errorCode"], body["errorDesc"]


def test_every_kbank_code_the_sandbox_answers_is_in_the_rules(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # Already cancelled, not found, bad credentials, invalid, rate limited: each live answer's
    # errorCode maps to its outcome through the shipped file.
    token_id = sandbox.create_token("kbank")
    calls.kbank(token_id)
    limited = sandbox.create_token("kbank", fault="429")
    answers = {
        "already_inactive": calls.kbank(token_id),
        "not_found": calls.kbank("KP2SBX000000001" + "F" * 32),
        "authentication_failed": calls.kbank(
            body=calls.kbank_body(token_id, partnerSecret="wrong")
        ),
        "invalid_request": calls.kbank(body=calls.kbank_body(token_id, partnerTxnUid="X" * 16)),
        "rate_limited": calls.kbank(limited),
    }
    for outcome, response in answers.items():
        code, _ = _kbank_answer(response)
        assert matching_outcomes("kbank", code) == [outcome], (outcome, code)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"token": 5}',
        b"{}",
        b'{"token": ""}',
        b"nope",
        b"[]",
        b'{"token": "x"',
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=["type", "missing", "empty", "not-json", "array", "cut", "deep"],
)
def test_every_solidgate_validation_text_is_an_invalid_request_rule(
    calls: ProviderCalls, raw: bytes
) -> None:
    # However a body breaks the spec, the sandbox's 2.01 texts map to invalid_request.
    response = calls.solidgate(raw=raw)
    error = response.json()["error"]
    assert error["code"] == "2.01"
    assert matching_outcomes("solidgate", "2.01", _joined(error["messages"])) == ["invalid_request"]


def test_solidgate_2_01_cases_follow_solidgates_api_reference(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # Not found (Solidgate's text), unsupported, already cancelled, already processing: each
    # conforms to the spec and means to a client what the rules file (or Solidgate) says.
    processing = sandbox.create_token("solidgate")
    calls.solidgate(processing)
    unsupported = sandbox.create_token("solidgate", status="unsupported")
    cancelled = sandbox.create_token("solidgate", status="cancelled")
    cases = {
        "not_found": calls.solidgate("f0e1d2c3-0000-4000-8000-000000000000"),
        "invalid_request": calls.solidgate(unsupported),
        "already_inactive": calls.solidgate(cancelled),
        "cancellation_pending": calls.solidgate(processing),
    }
    for outcome, response in cases.items():
        assert_conforms("solidgate", response)
        error = response.json()["error"]
        text = _joined(error["messages"])
        if outcome == "not_found":
            assert error["messages"] == {"general": ["recurring token was not found"]}
            assert matching_outcomes("solidgate", "2.01", text) == []
        else:
            assert matching_outcomes("solidgate", "2.01", text) == [outcome], text


def test_a_cancel_while_another_is_in_flight_is_concurrently_processing(
    sandbox: Sandbox, calls: ProviderCalls, http: httpx2.Client
) -> None:
    # A cancel arriving while a slow cancel of the same active token is in flight gets 2.01
    # "cancellation is already concurrently processing"; the slow one then answers processing.
    token = sandbox.create_token("solidgate", fault="slow", fault_times=1, delay_seconds=2.0)
    first: dict[str, httpx2.Response] = {}
    thread = threading.Thread(
        target=lambda: first.update(response=calls.solidgate(token, timeout=30.0))
    )
    thread.start()
    deadline = time.monotonic() + 10
    while (
        http.get(f"{sandbox.url}/_sandbox/solidgate/tokens/{token}").json()["cancels_in_flight"]
        != 1
    ):
        assert time.monotonic() < deadline, "the slow cancel never went in flight"
        time.sleep(0.01)
    concurrent = calls.solidgate(token)
    thread.join(timeout=30)
    assert concurrent.json() == {
        "error": {
            "code": "2.01",
            "messages": {"token": ["cancellation is already concurrently processing"]},
        }
    }
    assert_conforms("solidgate", concurrent)
    assert first["response"].json() == {"status": "processing"}
    assert sandbox.token_status("solidgate", token) == "processing"
    described = http.get(f"{sandbox.url}/_sandbox/solidgate/tokens/{token}").json()
    assert described["cancels_in_flight"] == 0


def test_kbank_and_xendit_let_a_retry_win_while_a_slow_cancel_is_in_flight(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # Only Solidgate refuses concurrent cancels: a Xendit retry cancels the token at once.
    token_id = sandbox.create_token("xendit", fault="slow", fault_times=1, delay_seconds=5.0)
    with pytest.raises(httpx2.ReadTimeout):
        calls.xendit(token_id, timeout=0.3)
    assert calls.xendit(token_id).status_code == 200


def test_unknown_vocabulary_answers_match_no_rule(http: httpx2.Client) -> None:
    # The unknown vocabulary is unknown to the rules file too: no rule gives it a meaning.
    with Sandbox.start(port=0, config=SandboxConfig(vocabulary="unknown")) as sandbox:
        calls = ProviderCalls(sandbox, http)
        kbank = calls.kbank("KP2SBX000000001" + "E" * 32).json()
        solidgate = calls.solidgate("f0e1d2c3-0000-4000-8000-000000000001").json()
    assert matching_outcomes("kbank", kbank["errorCode"]) == []
    text = _joined(solidgate["error"]["messages"])
    assert matching_outcomes("solidgate", "2.01", text) == []
    assert json.dumps(solidgate)  # a JSON answer, as ever


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("minLength", 1),
        ("maxLength", 9),
        ("minimum", 0),
        ("maximum", 9),
        ("exclusiveMinimum", 0),
        ("exclusiveMaximum", 9),
        ("minItems", 1),
        ("maxItems", 9),
        ("maxProperties", 50),
        ("pattern", "^x$"),
        ("format", "date-time"),
        ("const", "2.01"),
        ("type", ["string", "null"]),
        ("enum", ["a", "b"]),
        ("anyOf", []),
        ("oneOf", []),
        ("additionalProperties", False),
    ],
)
def test_every_validation_phrase_is_covered_by_the_rule(keyword: str, expected: object) -> None:
    # Whatever schema keyword a request breaks, the sandbox's wording of it ("token <phrase>")
    # is matched by the invalid_request rule for Solidgate's 2.01 messages.
    phrase = _describe_error(SimpleNamespace(validator=keyword, validator_value=expected))
    assert matching_outcomes("solidgate", "2.01", f"token: token {phrase}") == ["invalid_request"]
