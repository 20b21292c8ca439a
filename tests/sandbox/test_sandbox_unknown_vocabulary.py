"""The unknown vocabulary: answers to cancels in words no client has seen, still valid per spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import yaml
from tokencancel_sandbox import Sandbox, SandboxConfig
from tokencancel_sandbox._conventions import CONVENTIONS, PROVIDER_TEXTS

from .sandbox_helpers import SPECS, ProviderCalls, assert_conforms

UNKNOWN_KBANK = "KP2SBX000000001" + "A" * 32
UNKNOWN_SOLIDGATE = "0b7e3c1a-0000-4000-8000-000000000000"
UNKNOWN_XENDIT = "pt-00000000-0000-0000-0000-000000000000"

# Words a client could read meaning into (the overlay's Solidgate matching uses such words).
_TELLING_WORDS = ("not found", "already", "processing", "cancel", "inactive", "support")


@pytest.fixture(scope="module")
def unknown() -> Iterator[Sandbox]:
    """A sandbox in the unknown vocabulary that checks its own answers against the specs."""
    config = SandboxConfig(vocabulary="unknown", validate_responses=True, cancel_settle_seconds=0)
    with Sandbox.start(port=0, config=config) as sandbox:
        yield sandbox


@pytest.fixture
def novel_calls(unknown: Sandbox, http: httpx2.Client) -> ProviderCalls:
    """Raw provider calls against the unknown-vocabulary sandbox."""
    return ProviderCalls(unknown, http)


def _spec(provider: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((SPECS / f"{provider}.yaml").read_text())
    return document


def _enum(provider: str, schema: str) -> set[str]:
    return set(_spec(provider)["components"]["schemas"][schema]["enum"])


_KNOWN_KBANK_CODES = {c.error_code for c in CONVENTIONS if c.provider == "kbank"} | {"KP9999"}
_KNOWN_SOLIDGATE_TEXTS = {c.text for c in CONVENTIONS if c.text} | set(PROVIDER_TEXTS["solidgate"])


def test_kbank_refusals_carry_novel_error_codes(
    unknown: Sandbox, novel_calls: ProviderCalls
) -> None:
    # Unknown token and already cancelled: statusCode 10 with an errorCode nobody listed.
    token_id = unknown.create_token("kbank")
    novel_calls.kbank(token_id)
    answers = [novel_calls.kbank(UNKNOWN_KBANK), novel_calls.kbank(token_id)]
    codes = [answer.json()["errorCode"] for answer in answers]
    for answer, code in zip(answers, codes, strict=True):
        assert answer.json()["statusCode"] == "10"
        assert code not in _KNOWN_KBANK_CODES
        assert_conforms("kbank", answer)
    assert codes[0] != codes[1]  # fresh each time


def test_kbank_success_reports_a_novel_token_status(
    unknown: Sandbox, novel_calls: ProviderCalls
) -> None:
    # "00" with a tokenList status the spec does not list; the sandbox's own state is cancelled.
    token_id = unknown.create_token("kbank")
    response = novel_calls.kbank(token_id)
    status = response.json()["tokenList"][0]["status"]
    assert response.json()["statusCode"] == "00"
    assert status not in _enum("kbank", "TokenStatus") | {"ACTIVE"}
    assert_conforms("kbank", response)
    assert unknown.token_status("kbank", token_id) == "CANCELLED"


def test_solidgate_answers_use_novel_statuses_and_2_01_texts(
    unknown: Sandbox, novel_calls: ProviderCalls
) -> None:
    # Accepted with a status other than processing; not found and already cancelled with texts
    # that name no condition a client knows.
    token = unknown.create_token("solidgate")
    accepted = novel_calls.solidgate(token)
    assert accepted.json()["status"] != "processing"
    assert_conforms("solidgate", accepted)
    for response in (novel_calls.solidgate(UNKNOWN_SOLIDGATE), novel_calls.solidgate(token)):
        error = response.json()["error"]
        assert error["code"] == "2.01"
        texts = [text for texts in error["messages"].values() for text in texts]
        assert not set(texts) & _KNOWN_SOLIDGATE_TEXTS
        assert not any(word in text for text in texts for word in _TELLING_WORDS), texts
        assert_conforms("solidgate", response)


def test_xendit_404_and_400_codes_are_novel(unknown: Sandbox, novel_calls: ProviderCalls) -> None:
    # 404 with an error_code other than DATA_NOT_FOUND; 400 (inactive, ineligible) with codes the
    # spec does not list for 400.
    not_found = novel_calls.xendit(UNKNOWN_XENDIT)
    assert not_found.status_code == 404
    assert not_found.json()["error_code"] not in _enum("xendit", "NotFoundErrorCode")
    for status in ("CANCELED", "PENDING"):
        refused = novel_calls.xendit(unknown.create_token("xendit", status=status))
        assert refused.status_code == 400
        assert refused.json()["error_code"] not in _enum("xendit", "BadRequestErrorCode")
        assert not any(word in refused.json()["message"].lower() for word in _TELLING_WORDS)
        assert_conforms("xendit", refused)
    assert_conforms("xendit", not_found)


def test_xendit_success_reports_a_novel_token_status(
    unknown: Sandbox, novel_calls: ProviderCalls
) -> None:
    # 200 with the payment token in a status the spec does not list.
    token_id = unknown.create_token("xendit")
    response = novel_calls.xendit(token_id)
    assert response.status_code == 200
    assert response.json()["status"] not in _enum("xendit", "PaymentTokenStatus")
    assert_conforms("xendit", response)
    assert unknown.token_status("xendit", token_id) == "CANCELED"


def test_authentication_keeps_the_known_vocabulary(novel_calls: ProviderCalls) -> None:
    # Only answers about a token change words: a wrong key is still Xendit's 401 INVALID_API_KEY.
    response = novel_calls.xendit(UNKNOWN_XENDIT, auth=("wrong", ""))
    assert (response.status_code, response.json()["error_code"]) == (401, "INVALID_API_KEY")


def test_the_known_vocabulary_is_the_default(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # Without the setting, the same request gets DATA_NOT_FOUND (the checks above can fail).
    assert calls.xendit(UNKNOWN_XENDIT).json()["error_code"] == "DATA_NOT_FOUND"
