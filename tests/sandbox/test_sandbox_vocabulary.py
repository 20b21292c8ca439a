"""The sandbox's vocabularies come from the specs: edit a spec's enum and the sandbox follows."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from tokencancel_sandbox import ControlRequestError, Sandbox, SandboxConfig, SandboxConfigError

from .sandbox_helpers import SPECS, ProviderCalls, assert_conforms


def _spec_copy(directory: Path, provider: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Copy the three specs into `directory`, applying `edit` to one provider's spec."""
    for spec in SPECS.glob("*.yaml"):
        shutil.copy(spec, directory / spec.name)
    document = yaml.safe_load((SPECS / f"{provider}.yaml").read_text())
    edit(document)
    (directory / f"{provider}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def _schemas(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


def test_xendit_statuses_are_the_specs_payment_token_statuses(sandbox: Sandbox) -> None:
    # Every status the spec enumerates for PaymentToken.status can be given to a new token.
    listed = _schemas(yaml.safe_load((SPECS / "xendit.yaml").read_text()))["PaymentTokenStatus"]
    for status in listed["enum"]:
        token_id = sandbox.create_token("xendit", status=status)
        assert sandbox.token_status("xendit", token_id) == status


def test_a_status_added_to_the_xendit_spec_reaches_the_sandbox(
    sandbox: Sandbox, tmp_path: Path, http: httpx2.Client
) -> None:
    # SUSPENDED, added to a copy of the spec's enum, is a status tokens can have; unknown to the
    # sandbox's rules, a cancel finds it ineligible (the repository's spec refuses it outright).
    with pytest.raises(ControlRequestError, match="status for xendit must be one of"):
        sandbox.create_token("xendit", status="SUSPENDED")
    spec_dir = _spec_copy(
        tmp_path,
        "xendit",
        lambda spec: _schemas(spec)["PaymentTokenStatus"]["enum"].append("SUSPENDED"),
    )
    with Sandbox.start(port=0, spec_dir=spec_dir) as edited:
        token_id = edited.create_token("xendit", status="SUSPENDED")
        looked_up = http.get(f"{edited.url}/_sandbox/xendit/tokens/{token_id}").json()
        response = ProviderCalls(edited, http).xendit(token_id)
        assert edited.token_status("xendit", token_id) == "SUSPENDED"
    assert looked_up["status"] == "SUSPENDED"
    assert (response.status_code, response.json()["error_code"]) == (
        400,
        "INELIGIBLE_TRANSACTION_STATUS",
    )


def test_a_status_added_to_the_kbank_spec_reaches_the_sandbox(
    sandbox: Sandbox, tmp_path: Path, http: httpx2.Client
) -> None:
    # A tokenList[].status value added to the spec is a status tokens can have; a cancel answers
    # "00" with the token's own status, as KBank's statusCode describes a processed token list.
    with pytest.raises(ControlRequestError, match="status for kbank must be one of ACTIVE"):
        sandbox.create_token("kbank", status="SUSPENDED")
    spec_dir = _spec_copy(
        tmp_path, "kbank", lambda spec: _schemas(spec)["TokenStatus"]["enum"].append("SUSPENDED")
    )
    with Sandbox.start(port=0, spec_dir=spec_dir) as edited:
        token_id = edited.create_token("kbank", status="suspended")
        response = ProviderCalls(edited, http).kbank(token_id)
        assert edited.token_status("kbank", token_id) == "SUSPENDED"
    answer = response.json()
    assert answer["statusCode"] == "00"
    assert answer["tokenList"][0]["status"] == "SUSPENDED"


def _drop(values: list[str], value: str) -> None:
    values.remove(value)


@pytest.mark.parametrize(
    ("provider", "edit", "named"),
    [
        (
            "xendit",
            lambda spec: _drop(
                _schemas(spec)["BadRequestErrorCode"]["enum"], "INACTIVE_PAYMENT_REQUEST"
            ),
            "HTTP 400 error_code(s) INACTIVE_PAYMENT_REQUEST",
        ),
        (
            "xendit",
            lambda spec: _drop(_schemas(spec)["PaymentTokenStatus"]["enum"], "CANCELED"),
            "payment token status(es) CANCELED",
        ),
        (
            "kbank",
            lambda spec: _schemas(spec)["TokenStatus"].update(enum=["REVOKED"]),
            "tokenList[].status value(s) CANCELLED",
        ),
        (
            "solidgate",
            lambda spec: _schemas(spec)["RevokeTokenStatus"].update(enum=["pending"]),
            "status value(s) processing",
        ),
    ],
    ids=["xendit-code", "xendit-status", "kbank-status", "solidgate-status"],
)
def test_a_spec_that_drops_a_value_the_sandbox_answers_stops_it_starting(
    tmp_path: Path, provider: str, edit: Callable[[dict[str, Any]], None], named: str
) -> None:
    # The sandbox never answers a code or status its spec does not list: it refuses to start.
    spec_dir = _spec_copy(tmp_path, provider, edit)
    with pytest.raises(SandboxConfigError, match="no longer lists " + re.escape(named)):
        Sandbox.start(port=0, spec_dir=spec_dir)


def test_answers_of_an_edited_spec_still_conform_to_it(tmp_path: Path, http: httpx2.Client) -> None:
    # The answer for a spec-added status validates against the edited spec (checked by the
    # sandbox's own response validation, which answers 500 on any mismatch).
    spec_dir = _spec_copy(
        tmp_path,
        "xendit",
        lambda spec: _schemas(spec)["PaymentTokenStatus"]["enum"].append("SUSPENDED"),
    )
    config = SandboxConfig(validate_responses=True)
    with Sandbox.start(port=0, spec_dir=spec_dir, config=config) as edited:
        calls = ProviderCalls(edited, http)
        response = calls.xendit(edited.create_token("xendit", status="SUSPENDED"))
    assert response.status_code == 400
    assert_conforms("xendit", response)
