"""The generated clients type-check under `mypy --strict` when a service calls them."""

from __future__ import annotations

from pathlib import Path

from mypy import api

from .spec_helpers import ROOT

USAGE = ROOT / "tests" / "typing" / "generated_clients_usage.py"


def test_typed_usage_of_every_generated_client_passes_mypy_strict() -> None:
    """A typed file calling each client's cancel operation is clean under mypy --strict."""
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--strict", str(USAGE)]
    )
    assert status == 0, stdout + stderr
    assert "Success: no issues found in 1 source file" in stdout


def test_mypy_rejects_a_misuse_of_a_generated_client(tmp_path: Path) -> None:
    """The check has teeth: passing a Solidgate body to the KBank client is a type error."""
    misuse = tmp_path / "misuse.py"
    misuse.write_text(
        "import tokencancel_kbank_client\n"
        "from tokencancel_kbank_client.api.kplus_payment import cancel_token\n"
        "from tokencancel_solidgate_client.models import RevokeTokenRequest\n"
        "def f(c: tokencancel_kbank_client.Client) -> None:\n"
        "    cancel_token.sync(client=c, body=RevokeTokenRequest(token='t'))\n",
        encoding="utf-8",
    )
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--strict", str(misuse)]
    )
    assert status == 1, stdout + stderr
    assert 'incompatible type "RevokeTokenRequest"' in stdout
