"""The contract run fails, and says why, against servers that break the specs."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import xml.etree.ElementTree as ET  # the report is ours, written by schemathesis
from pathlib import Path

import pytest

from .contract_servers import nonconforming_server

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "scripts" / "contract.py"

XENDIT_SECRET_KEY = "xnd_development_contract_can_fail_0000000001"
KBANK_PARTNER_ID = "KP2CONTRACT0001"
KBANK_PARTNER_SECRET = "kbank_contract_can_fail_secret_01"
SOLIDGATE_PUBLIC_KEY = "api_pk_contract_can_fail_0001"
SOLIDGATE_SECRET_KEY = "api_sk_contract_can_fail_0001"
SECRETS = (
    XENDIT_SECRET_KEY,
    base64.b64encode(f"{XENDIT_SECRET_KEY}:".encode()).decode(),  # its Basic credentials
    KBANK_PARTNER_SECRET,
    SOLIDGATE_SECRET_KEY,
)
PROVIDER_PREFIXES = ("KBANK_", "SOLIDGATE_", "XENDIT_", "CONTRACT_")

# Per provider: the overlay variables (base URL filled in later) and the failures the run must name.
CASES = {
    "xendit": (
        {"XENDIT_SECRET_KEY": XENDIT_SECRET_KEY},
        (
            "Response violates schema",  # payment_token_id answered as a number
            "Undocumented status code",  # 409
            "API accepts requests without authentication",  # Authorization never checked
        ),
    ),
    "kbank": (
        {"KBANK_PARTNER_ID": KBANK_PARTNER_ID, "KBANK_PARTNER_SECRET": KBANK_PARTNER_SECRET},
        (
            "`provider_credentials_enforced`",
            "KBank did not refuse a request without valid credentials",
            "`provider_negative_data_rejection`",
        ),
    ),
    "solidgate": (
        {
            "SOLIDGATE_PUBLIC_KEY": SOLIDGATE_PUBLIC_KEY,
            "SOLIDGATE_SECRET_KEY": SOLIDGATE_SECRET_KEY,
        },
        (
            "`provider_credentials_enforced`",
            "with a valid signature of other bytes than those sent",
            "`provider_negative_data_rejection`",
        ),
    ),
}


def run_contract(provider: str, base_url: str, variables: dict[str, str], reports: Path):
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(PROVIDER_PREFIXES)
    }
    env |= variables | {
        f"{provider.upper()}_BASE_URL": base_url,
        "CONTRACT_MAX_EXAMPLES": "10",
        "CONTRACT_SEED": "0",
    }
    return subprocess.run(
        [sys.executable, str(RUNNER), "--provider", provider, "--reports", str(reports)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.parametrize("provider", sorted(CASES))
def test_contract_run_fails_and_names_each_violation(provider: str, tmp_path: Path) -> None:
    """A server breaking the spec in named ways makes the run exit non-zero and name each break."""
    variables, expected_failures = CASES[provider]
    merchant = variables.get("SOLIDGATE_PUBLIC_KEY", "")
    with nonconforming_server(provider, solidgate_merchant=merchant) as base_url:
        result = run_contract(provider, base_url, variables, tmp_path)
    output = result.stdout + result.stderr

    assert result.returncode == 1, output
    for failure in expected_failures:
        assert failure in output, f"{failure!r} not reported:\n{output}"
    # The summary names the real target (not the sandbox) and the verdict.
    summary = output[output.index("Contract summary") :]
    assert base_url in summary
    assert "FAILED" in summary
    assert "contract: 0 passed, 1 failed" in summary
    # The JUnit report the CI publishes records the failure too.
    junit_path = tmp_path / f"junit-{provider}.xml"
    junit = ET.parse(junit_path).getroot()  # noqa: S314
    assert int(junit.get("failures", "0")) + int(junit.get("errors", "0")) > 0
    # Secrets never reach the output or the reports, not even in the curl reproduction lines.
    published = output + "".join(path.read_text(encoding="utf-8") for path in tmp_path.iterdir())
    for secret in SECRETS:
        assert secret not in published
