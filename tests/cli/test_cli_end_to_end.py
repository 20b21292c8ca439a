"""The issue's "done when", through the overlay's `tokencancel cancel` against a live sandbox.

For each provider: a token created through the sandbox cancels; a second cancel gets the
provider's already-cancelled answer; wrong credentials get the provider's authentication
answer; and each fault produces its fault. The basic path runs the installed command in a
subprocess with `Sandbox.env()`; the fault matrix calls the same entry point in-process (with
the same environment) to keep the suite fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tokencancel._cli import main as tokencancel_main
from tokencancel.providers import REGISTRY
from tokencancel_sandbox import Sandbox, SandboxConfig

from .sandbox_rules import write_rules

TOKENCANCEL = Path(sys.executable).with_name("tokencancel")
REFERENCE1 = "ORDER-0001"
PROVIDERS = list(REGISTRY)


class _CliSandbox:
    """A running sandbox and the environment that points the CLI at it, rules included."""

    def __init__(self, sandbox: Sandbox, rules: Path) -> None:
        self.sandbox = sandbox
        self.rules = rules

    def env(self) -> dict[str, str]:
        return {**self.sandbox.env(), "TOKENCANCEL_OUTCOME_RULES": str(self.rules)}

    def create_token(self, provider: str, **fields: object) -> str:
        return self.sandbox.create_token(provider, **fields)  # type: ignore[arg-type]

    def token_status(self, provider: str, token_id: str) -> str:
        return self.sandbox.token_status(provider, token_id)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cli_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_CliSandbox]:
    """A sandbox whose Solidgate tokens settle at once and whose 429 fault resets quickly."""
    rules = write_rules(tmp_path_factory.mktemp("rules"))
    config = SandboxConfig(cancel_settle_seconds=0.0, fault_rate_limit_reset_seconds=0.05)
    with Sandbox.start(port=0, config=config) as running:
        yield _CliSandbox(running, rules)


def _arguments(provider: str, token_id: str) -> list[str]:
    extra = ["--reference1", REFERENCE1] if provider == "kbank" else []
    return ["cancel", provider, token_id, *extra]


def _create(sandbox: _CliSandbox, provider: str, **fields: object) -> str:
    if provider == "kbank":
        fields.setdefault("reference1", REFERENCE1)
    return sandbox.create_token(provider, **fields)


def _run(env: dict[str, str], provider: str, token_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOKENCANCEL), *_arguments(provider, token_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_then_cancel_again_through_the_cli(cli_sandbox: _CliSandbox, provider: str) -> None:
    # First cancel succeeds (Solidgate: pending), second is the already-cancelled answer.
    token_id = _create(cli_sandbox, provider)
    first = _run(cli_sandbox.env(), provider, token_id)
    assert first.returncode == 0, first.stderr
    expected = "cancellation_pending" if provider == "solidgate" else "cancelled"
    assert json.loads(first.stdout)["outcome"] == expected
    second = _run(cli_sandbox.env(), provider, token_id)
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["outcome"] == "already_inactive"
    assert result["provider_status"] in {
        "TOKEN_ALREADY_CANCELLED",
        "INACTIVE_PAYMENT_REQUEST",
        "token: recurring token already cancelled",
    }
    assert result["rule_source"].startswith(
        "operator rule" if provider != "xendit" else "https://docs.xendit.co"
    )


@pytest.mark.parametrize("provider", ["kbank", "solidgate"])
def test_without_rules_the_sandboxs_own_codes_are_never_final(
    cli_sandbox: _CliSandbox, provider: str
) -> None:
    # The sandbox's "already cancelled" is its own wording: without a rule it stays unknown.
    token_id = _create(cli_sandbox, provider)
    assert _run(cli_sandbox.env(), provider, token_id).returncode == 0
    env = {k: v for k, v in cli_sandbox.env().items() if k != "TOKENCANCEL_OUTCOME_RULES"}
    second = _run(env, provider, token_id)
    assert second.returncode == 3
    assert second.stdout == ""
    assert "unrecognised answer" in second.stderr


_WRONG_CREDENTIALS = {
    "kbank": {"KBANK_PARTNER_SECRET": "wrong-secret-4d1c"},
    "solidgate": {"SOLIDGATE_SECRET_KEY": "wrong-secret-4d1c"},
    "xendit": {"XENDIT_SECRET_KEY": "wrong-secret-4d1c"},
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_credentials_are_an_authentication_refusal(
    cli_sandbox: _CliSandbox, provider: str
) -> None:
    # Wrong credentials: the provider's authentication answer, exit 2, the secret never shown.
    token_id = _create(cli_sandbox, provider)
    result = _run({**cli_sandbox.env(), **_WRONG_CREDENTIALS[provider]}, provider, token_id)
    assert result.returncode == 2
    assert "authentic" in result.stderr.lower()
    assert "wrong-secret-4d1c" not in result.stdout + result.stderr
    assert cli_sandbox.token_status(provider, token_id) in {"ACTIVE", "active"}


def _main(
    sandbox: _CliSandbox,
    provider: str,
    token_id: str,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> tuple[int, str, str]:
    code = tokencancel_main([*_arguments(provider, token_id), *extra], env=sandbox.env())
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["429", "503", "reset"])
def test_retryable_faults_are_retried_to_success(
    cli_sandbox: _CliSandbox, provider: str, fault: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # One 429, 503 or reset, then normal behaviour: the CLI retries and the token is cancelled.
    token_id = _create(cli_sandbox, provider, fault=fault, fault_times=1)
    code, out, err = _main(cli_sandbox, provider, token_id, capsys)
    assert code == 0, err
    assert json.loads(out)["attempts"] == 2


_PERSISTENT_FAULTS = [
    *(
        (provider, fault, evidence)
        for provider in PROVIDERS
        for fault, evidence in (("500", "500"), ("502-html", "502"), ("truncated", "not json"))
    ),
    # Retried faults wait out the client's backoff on every attempt: one provider is enough
    # here, the retry test above shows each provider's.
    ("xendit", "429", "429"),
    ("xendit", "503", "503"),
    ("xendit", "reset", "reset"),
]


@pytest.mark.parametrize(("provider", "fault", "evidence"), _PERSISTENT_FAULTS)
def test_persistent_faults_fail_with_their_evidence(
    cli_sandbox: _CliSandbox,
    provider: str,
    fault: str,
    evidence: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A fault on every attempt fails the command (exit 1 or 3) with the fault in the message.
    token_id = _create(cli_sandbox, provider, fault=fault)
    code, out, err = _main(cli_sandbox, provider, token_id, capsys)
    assert code in {1, 3}
    assert out == ""
    assert evidence in err.lower().splitlines()[-1]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_slow_fault_times_out(
    cli_sandbox: _CliSandbox, provider: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Answers slower than the timeout: the command fails with a timeout (delay 10x the timeout).
    token_id = _create(cli_sandbox, provider, fault="slow", delay_seconds=3.0)
    code, _, err = _main(cli_sandbox, provider, token_id, capsys, "--timeout", "0.3")
    assert code == 3
    assert "time" in err.lower().splitlines()[-1]
