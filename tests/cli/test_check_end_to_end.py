"""`tokencancel check` against the sandbox: it passes when the configuration is right, and fails
naming the cause for a wrong base URL, a wrong key or an unreachable host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tokencancel_sandbox import Sandbox

from .sandbox_rules import sandbox_rules

PROVIDERS = ["kbank", "solidgate", "xendit"]
ELSEWHERE = {"kbank": "xendit", "solidgate": "xendit", "xendit": "solidgate"}
SECRET = {
    "kbank": "KBANK_PARTNER_SECRET",
    "solidgate": "SOLIDGATE_SECRET_KEY",
    "xendit": "XENDIT_SECRET_KEY",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module: the check creates and changes nothing in it."""
    with Sandbox.start(port=0) as running:
        yield running


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The outcome rules teaching the client the sandbox's codes (KBank's auth code among them)."""
    return sandbox_rules()


def _check(env: dict[str, str], provider: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "tokencancel", "check", provider],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout)  # stdout is exactly one JSON object
    assert done.stdout.count("\n") == 1
    return done.returncode, report, done.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_check_passes_against_the_sandbox(sandbox: Sandbox, rules: Path, provider: str) -> None:
    """Right URL and keys: exit 0, and the report says base URL and credentials were verified."""
    env = {**sandbox.env(), "TOKENCANCEL_OUTCOME_RULES": str(rules)}

    code, report, stderr = _check(env, provider)

    assert code == 0, stderr
    assert report["verdict"] == "passed"
    assert report["not_verified"] == []
    verified = " ".join(report["verified"])
    assert "base URL" in verified
    assert "credentials accepted" in verified
    assert f"check {provider}: configuration verified" in stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_check_fails_on_a_wrong_base_url(sandbox: Sandbox, rules: Path, provider: str) -> None:
    """A base URL serving another API: exit 2, the cause names the base URL variable."""
    variable = f"{provider.upper()}_BASE_URL"
    env = {
        **sandbox.env(),
        "TOKENCANCEL_OUTCOME_RULES": str(rules),
        variable: sandbox.base_url(ELSEWHERE[provider]),
    }

    code, report, stderr = _check(env, provider)

    assert code == 2
    assert report["verdict"] == "failed"
    assert report["cause"].startswith("wrong base URL")
    assert variable in report["cause"]
    assert "likely cause: wrong base URL" in stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_check_fails_on_a_wrong_key(sandbox: Sandbox, rules: Path, provider: str) -> None:
    """Rejected credentials: exit 2, the cause names the credential variables, never the value."""
    env = {
        **sandbox.env(),
        "TOKENCANCEL_OUTCOME_RULES": str(rules),
        SECRET[provider]: "wrong-secret-5b2f",
    }

    code, report, stderr = _check(env, provider)

    assert code == 2
    assert report["cause"].startswith("wrong credentials")
    assert SECRET[provider] in report["cause"]
    assert "wrong-secret-5b2f" not in stderr + json.dumps(report)


def test_check_fails_on_an_unreachable_host(sandbox: Sandbox) -> None:
    """Nothing listening at the base URL: exit 3 (run again later), the cause says so."""
    env = {**sandbox.env(), "XENDIT_BASE_URL": "http://127.0.0.1:9/xendit"}

    code, report, _ = _check(env, "xendit")

    assert code == 3
    assert report["cause"].startswith("cannot reach Xendit")


@pytest.mark.parametrize("secret", ["kbank_sandbox_partner_secret_0001", "wrong-secret-5b2f"])
def test_kbank_without_an_auth_rule_is_inconclusive(sandbox: Sandbox, secret: str) -> None:
    """KBank publishes no error codes: without a rule, right and wrong keys look alike (exit 3)."""
    # The sandbox's env names its own rules file, which teaches its auth code: leave it out.
    env = {**sandbox.env(), "KBANK_PARTNER_SECRET": secret}
    del env["TOKENCANCEL_OUTCOME_RULES"]

    code, report, stderr = _check(env, "kbank")

    assert code == 3
    assert report["verdict"] == "inconclusive"
    assert "KBank publishes no error codes" in report["not_verified"][0]
    assert any(line.startswith("base URL") for line in report["verified"])
    assert "NOT fully verified" in stderr
