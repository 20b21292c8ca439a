"""No token is recorded done on a signal no provider documents: tried as an operator, end to end.

Against the sandbox: answers in a vocabulary the client has never seen are never final; a wrong
base URL leaves every token not done with a message naming the likely cause, and a plain re-run
with the right URL finishes the job; a KBank "not found" that a wrong reference1 answers the
same way is not final either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tokencancel import (
    CancelResult,
    NotFoundError,
    TokenCancelClient,
    TokenCancelError,
    UnexpectedResponseError,
)
from tokencancel._cli import main
from tokencancel._exit import Category, category_of
from tokencancel.providers import REGISTRY
from tokencancel_sandbox import Sandbox, SandboxConfig

PROVIDERS = list(REGISTRY)
REFERENCE1 = "ORDER-0001"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(port=0, config=SandboxConfig(cancel_settle_seconds=0.0)) as running:
        yield running


@pytest.fixture(scope="module")
def unknown_sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(cancel_settle_seconds=0.0, vocabulary="unknown")
    with Sandbox.start(port=0, config=config) as running:
        yield running


def _fields(provider: str) -> dict[str, Any]:
    return {"reference1": REFERENCE1} if provider == "kbank" else {}


def _create(sandbox: Sandbox, provider: str) -> str:
    return sandbox.create_token(provider, **_fields(provider))  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unknown_vocabulary_is_never_final(unknown_sandbox: Sandbox, provider: str) -> None:
    """Codes, statuses and texts the client has never seen end in errors that are not done."""
    with TokenCancelClient.from_env(unknown_sandbox.env()) as client:
        for _ in range(8):
            token_id = _create(unknown_sandbox, provider)
            for _attempt in range(2):  # the first cancel and the one after it
                outcome: CancelResult[Any] | TokenCancelError
                try:
                    outcome = client.cancel(provider, token_id, **_fields(provider))  # type: ignore[arg-type]
                except TokenCancelError as error:
                    outcome = error
                assert isinstance(outcome, TokenCancelError), outcome
                assert not category_of(outcome).done, outcome


def _wrong_base_url(sandbox: Sandbox, provider: str) -> str:
    # One path level off: the sandbox's root instead of the provider's prefix.
    return sandbox.base_url(provider).rsplit("/", 1)[0] + "/elsewhere"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_base_url_is_not_final_and_names_the_cause(sandbox: Sandbox, provider: str) -> None:
    """A 404 from a path that is not the provider's API is no "not found": check the base URL."""
    variable = f"{provider.upper()}_BASE_URL"
    env = {**sandbox.env(), variable: _wrong_base_url(sandbox, provider)}
    token_id = _create(sandbox, provider)
    with (
        TokenCancelClient.from_env(env) as client,
        pytest.raises(UnexpectedResponseError) as caught,
    ):
        client.cancel(provider, token_id, **_fields(provider))  # type: ignore[arg-type]
    assert not category_of(caught.value).done
    assert "base URL" in str(caught.value) or variable in str(caught.value)
    assert sandbox.token_status(provider, token_id) in {"ACTIVE", "active"}  # type: ignore[arg-type]


def _bulk(env: dict[str, str], provider: str, ids: Path, output: Path, *extra: str) -> int:
    argv = ["bulk", provider, str(ids), "--output", str(output), "--rate", "off", *extra]
    return main(argv, env)


def _lines(output: Path) -> list[dict[str, Any]]:
    if not output.exists():
        return []
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("skip_check", [False, True])
def test_a_bulk_run_at_a_wrong_url_leaves_every_token_for_the_rerun(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], skip_check: bool
) -> None:
    """Wrong XENDIT_BASE_URL: nothing is done, exit non-zero; the re-run cancels every token.

    With the preflight, the run stops before the first cancel; without it, every token is
    recorded as not done.
    """
    tokens = [_create(sandbox, "xendit") for _ in range(5)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    wrong = {**sandbox.env(), "XENDIT_BASE_URL": _wrong_base_url(sandbox, "xendit")}
    extra = ("--skip-check",) if skip_check else ()
    assert _bulk(wrong, "xendit", ids, output, *extra) != 0
    stderr, lines = capsys.readouterr().err, _lines(output)
    assert [line["done"] for line in lines] == ([False] * 5 if skip_check else [])
    reasons = [line["message"] for line in lines] if skip_check else [stderr]
    assert all("XENDIT_BASE_URL" in reason for reason in reasons)
    assert {sandbox.token_status("xendit", token) for token in tokens} == {"ACTIVE"}
    assert _bulk(sandbox.env(), "xendit", ids, output) == 0
    capsys.readouterr()
    assert {sandbox.token_status("xendit", token) for token in tokens} == {"CANCELED"}


def test_a_kbank_not_found_is_not_final_since_a_wrong_reference1_answers_the_same(
    sandbox: Sandbox,
) -> None:
    """Even with the sandbox's rule mapping its code to not_found, a wrong reference1 stays open."""
    token_id = _create(sandbox, "kbank")
    with TokenCancelClient.from_env(sandbox.env()) as client:
        with pytest.raises(NotFoundError) as caught:
            client.cancel("kbank", token_id, reference1="WRONG-REF")
        assert caught.value.ambiguous
        assert "reference1" in str(caught.value)
        assert category_of(caught.value) is Category.ERROR
        assert sandbox.token_status("kbank", token_id) == "ACTIVE"
        assert client.cancel("kbank", token_id, reference1=REFERENCE1).outcome.value == "cancelled"
