"""The rules come from the spec files: change a spec and the sandbox's behaviour follows."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx2
import yaml
from tokencancel_sandbox import Sandbox
from tokencancel_sandbox._spec import load_specs

from .sandbox_helpers import SPECS, ProviderCalls


def test_validation_follows_an_edited_spec(tmp_path: Path, http: httpx2.Client) -> None:
    # With Xendit's id length changed to 40 in a copy of the spec, a 39-character id is refused.
    for spec in SPECS.glob("*.yaml"):
        shutil.copy(spec, tmp_path / spec.name)
    xendit = yaml.safe_load((SPECS / "xendit.yaml").read_text())
    operation = xendit["paths"]["/v3/payment_tokens/{payment_token_id}/cancel"]["post"]
    operation["parameters"][0]["schema"].update(minLength=40, maxLength=40)
    (tmp_path / "xendit.yaml").write_text(yaml.safe_dump(xendit))
    with Sandbox.start(port=0, spec_dir=tmp_path) as sandbox:
        response = ProviderCalls(sandbox, http).xendit(sandbox.create_token("xendit"))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "payment_token_id", "message": "must be at least 40 characters long"}
    ]


def test_the_self_check_catches_an_answer_off_the_spec() -> None:
    # The runtime answer check (validate_responses) rejects what the spec does not describe.
    operation = load_specs(SPECS)["kbank"].operations[0]
    assert operation.response_problems(200, "application/json", {}, b'{"statusCode": 0}')
    assert operation.response_problems(502, "text/html", {}, b"<html>")
    assert not operation.response_problems(200, "application/json", {}, b'{"statusCode": "00"}')


def test_problems_never_echo_the_value_sent() -> None:
    # Validation messages name the field and the rule, never the (possibly secret) value.
    operation = load_specs(SPECS)["kbank"].operations[0]
    body = b'{"partnerSecret": 987654321, "requestDt": "secret-ish-value"}'
    problems, _ = operation.request_problems({}, {}, {}, "application/json", body)
    text = " ".join(problem.describe() for problem in problems)
    assert "partnerSecret must be of type string" in text
    assert "987654321" not in text
    assert "secret-ish-value" not in text
