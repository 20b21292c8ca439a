"""Bulk proves the configuration before its first cancel, and refuses to start when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokencancel_sandbox import Sandbox

from ..cli.sandbox_rules import sandbox_rules
from .conftest import BulkRun, read_output, run_bulk_cli

PROVIDERS = ["kbank", "solidgate", "xendit"]
ACTIVE = {"kbank": "ACTIVE", "solidgate": "active", "xendit": "ACTIVE"}
# Each provider's base URL pointed at another provider's API on the same sandbox.
ELSEWHERE = {"kbank": "xendit", "solidgate": "xendit", "xendit": "solidgate"}
WRONG_SECRET = {
    "kbank": "KBANK_PARTNER_SECRET",
    "solidgate": "SOLIDGATE_SECRET_KEY",
    "xendit": "XENDIT_SECRET_KEY",
}


def _input(
    sandbox: Sandbox, provider: str, directory: Path, count: int = 5
) -> tuple[Path, list[str]]:
    if provider == "kbank":
        tokens = [sandbox.create_token("kbank", reference1="ORDER-1") for _ in range(count)]
        source = directory / "tokens.csv"
        source.write_text("token_id,reference1\n" + "".join(f"{t},ORDER-1\n" for t in tokens))
        return source, tokens
    tokens = [sandbox.create_token(provider) for _ in range(count)]
    source = directory / "ids.txt"
    source.write_text("".join(f"{t}\n" for t in tokens))
    return source, tokens


def _env(sandbox: Sandbox, directory: Path, **overrides: str) -> dict[str, str]:
    return {
        **sandbox.env(),
        "TOKENCANCEL_OUTCOME_RULES": str(sandbox_rules()),
        **overrides,
    }


def _assert_refused(run: BulkRun, sandbox: Sandbox, provider: str, tokens: list[str]) -> None:
    assert run.exit_code == 2
    assert "the check failed before the first cancel" in run.last_line
    assert run.summary["requests_sent"] == 1  # the check's harmless call, nothing else
    assert run.summary["check"]["verdict"] == "failed"
    assert {sandbox.token_status(provider, token) for token in tokens} == {ACTIVE[provider]}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_base_url_stops_bulk_before_the_first_cancel(
    sandbox: Sandbox, tmp_path: Path, provider: str
) -> None:
    """A base URL answering in another API's shape: exit 2 naming the URL, no token touched."""
    source, tokens = _input(sandbox, provider, tmp_path)
    variable = f"{provider.upper()}_BASE_URL"
    env = _env(sandbox, tmp_path, **{variable: sandbox.base_url(ELSEWHERE[provider])})
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(env, provider, str(source), output, "--rate", "off")

    _assert_refused(run, sandbox, provider, tokens)
    assert "wrong base URL" in run.stderr
    assert variable in run.stderr
    assert read_output(output) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_key_stops_bulk_before_the_first_cancel(
    sandbox: Sandbox, tmp_path: Path, provider: str
) -> None:
    """Rejected credentials: exit 2 naming the credentials, no token touched, secret not shown."""
    source, tokens = _input(sandbox, provider, tmp_path)
    env = _env(sandbox, tmp_path, **{WRONG_SECRET[provider]: "wrong-secret-7a1e"})
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(env, provider, str(source), output, "--rate", "off")

    _assert_refused(run, sandbox, provider, tokens)
    assert "wrong credentials" in run.stderr
    assert WRONG_SECRET[provider] in run.stderr
    assert "wrong-secret-7a1e" not in run.stderr + output.read_text()


def test_skip_check_sends_no_check(sandbox: Sandbox, tmp_path: Path) -> None:
    """--skip-check goes straight to the tokens: one request per token, no check in the summary."""
    source, tokens = _input(sandbox, "xendit", tmp_path)

    run = run_bulk_cli(
        _env(sandbox, tmp_path), "xendit", str(source), tmp_path / "o.jsonl", "--skip-check"
    )

    assert run.exit_code == 0
    assert run.summary["requests_sent"] == len(tokens)
    assert run.summary["check"] is None


def test_kbank_without_an_auth_rule_cannot_be_proven_and_runs_with_a_warning(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Without a rule for KBank's auth code the check is inconclusive: bulk says so and goes on."""
    source, tokens = _input(sandbox, "kbank", tmp_path, count=2)
    # The sandbox's env names its own rules file, which teaches its auth code: leave it out.
    env = {k: v for k, v in sandbox.env().items() if k != "TOKENCANCEL_OUTCOME_RULES"}

    run = run_bulk_cli(env, "kbank", str(source), tmp_path / "out.jsonl")

    assert run.exit_code == 0
    assert run.summary["check"]["verdict"] == "inconclusive"
    assert "not verified: credentials: KBank publishes no error codes" in run.stderr
    assert {sandbox.token_status("kbank", token) for token in tokens} == {"CANCELLED"}
