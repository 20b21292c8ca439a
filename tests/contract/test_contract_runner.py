"""The runner picks each provider's target from the overlay's variables; bad settings stop it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "scripts" / "contract.py"
XENDIT_KEY = "xnd_development_runner_test_0001"


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("contract_runner_under_test", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building classes
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


def test_a_provider_goes_to_its_real_server_only_when_url_and_credentials_are_all_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A URL without credentials (or the reverse) keeps the sandbox and names what is missing."""
    assert runner._real_target("xendit", {"XENDIT_BASE_URL": "https://api.xendit.co"}, "") is None
    assert "XENDIT_SECRET_KEY not set" in capsys.readouterr().out
    assert (
        runner._real_target(
            "kbank", {"KBANK_PARTNER_ID": "KP2X", "KBANK_PARTNER_SECRET": "s3cr3t"}, ""
        )
        is None
    )
    assert "KBANK_BASE_URL not set" in capsys.readouterr().out

    env = {
        "XENDIT_BASE_URL": "https://api.xendit.co",
        "XENDIT_SECRET_KEY": XENDIT_KEY,
        "OTHER": "x",
    }
    target = runner._real_target("xendit", env, "")
    assert target is not None
    assert not target.is_sandbox
    assert target.label == "https://api.xendit.co"
    assert target.env == {
        "XENDIT_BASE_URL": "https://api.xendit.co",
        "XENDIT_SECRET_KEY": XENDIT_KEY,
    }


def test_real_servers_are_rate_limited_within_published_limits() -> None:
    """A real server gets at most 30 requests a minute (Xendit allows 60); loopback, no limit."""
    real = runner._real_target(
        "xendit", {"XENDIT_BASE_URL": "https://api.xendit.co", "XENDIT_SECRET_KEY": XENDIT_KEY}, ""
    )
    assert real is not None
    assert real.rate_limit == "30/m"
    loopback = runner._real_target(
        "xendit", {"XENDIT_BASE_URL": "http://127.0.0.1:9", "XENDIT_SECRET_KEY": XENDIT_KEY}, ""
    )
    assert loopback is not None
    assert loopback.rate_limit is None
    settings = runner.REGISTRY["xendit"].settings_from_env(
        {"XENDIT_BASE_URL": "https://api.xendit.co", "XENDIT_SECRET_KEY": XENDIT_KEY}
    )
    assert runner._effective_rate(runner.REGISTRY["xendit"], settings, "10/m") == "10/m"
    assert runner._effective_rate("xendit", "https://api.xendit.co", "off") is None


def test_settings_the_overlay_refuses_stop_the_run_without_showing_secrets() -> None:
    """Plain http to a remote host is refused before anything is sent; the key is not echoed."""
    env = {"XENDIT_BASE_URL": "http://api.example.com", "XENDIT_SECRET_KEY": XENDIT_KEY}
    with pytest.raises(runner.UsageError, match="XENDIT_BASE_URL") as refused:
        runner._real_target("xendit", env, "")
    assert XENDIT_KEY not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("CONTRACT_SEED", "abc"), ("CONTRACT_MAX_EXAMPLES", "0"), ("CONTRACT_RATE_LIMIT", "fast")],
)
def test_unusable_budget_settings_exit_with_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    """A malformed seed, budget or rate exits 2 with a message naming the variable."""
    monkeypatch.setenv(name, value)
    assert runner.main(["--provider", "xendit"]) == 2
    assert name in capsys.readouterr().err
