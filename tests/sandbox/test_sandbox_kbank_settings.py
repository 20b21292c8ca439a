"""KBank's contradictions as settings: where the credentials travel, and which requestDt form."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from tokencancel_sandbox import Sandbox, SandboxConfig, SandboxConfigError

from .sandbox_helpers import ProviderCalls, SandboxProcess, assert_conforms

LOCAL_DATETIME = "2019-07-04T18:00:42.411"  # every example request on KBank's portal
EPOCH_SECONDS = 1519630776  # the field table's example


def _outcome(response: httpx2.Response) -> tuple[str, str | None]:
    body = response.json()
    return body["statusCode"], body["errorCode"]


@pytest.fixture
def started() -> Iterator[list[Sandbox]]:
    """Sandboxes a test starts with its own settings, all closed at the end."""
    running: list[Sandbox] = []
    yield running
    for sandbox in running:
        sandbox.close()


def _calls(started: list[Sandbox], http: httpx2.Client, **settings: str) -> ProviderCalls:
    sandbox = Sandbox.start(port=0, config=SandboxConfig(**settings))  # type: ignore[arg-type]
    started.append(sandbox)
    return ProviderCalls(sandbox, http)


def test_body_credentials_alone_are_accepted_by_default(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # KBank's current Cancel Token page has no header rows: credentials in the body suffice.
    token_id = sandbox.create_token("kbank")
    response = calls.kbank(body=calls.kbank_body(token_id), headers={})
    assert _outcome(response) == ("00", None)
    assert_conforms("kbank", response)


def test_headers_and_body_setting_requires_the_headers(
    started: list[Sandbox], http: httpx2.Client
) -> None:
    # kbank_credentials="headers-and-body": the same body without headers is refused.
    calls = _calls(started, http, kbank_credentials="headers-and-body")
    token_id = calls.sandbox.create_token("kbank")
    refused = calls.kbank(body=calls.kbank_body(token_id), headers={})
    assert _outcome(refused) == ("10", "AUTHENTICATION_FAILED")
    assert calls.sandbox.token_status("kbank", token_id) == "ACTIVE"
    accepted = calls.kbank(token_id)  # headers and body
    assert _outcome(accepted) == ("00", None)


@pytest.mark.parametrize("request_dt", [EPOCH_SECONDS, LOCAL_DATETIME], ids=["epoch", "local"])
def test_both_request_dt_forms_are_accepted_by_default(
    sandbox: Sandbox, calls: ProviderCalls, request_dt: object
) -> None:
    # The field table's epoch seconds and the portal examples' local date-time both cancel.
    token_id = sandbox.create_token("kbank")
    response = calls.kbank(body=calls.kbank_body(token_id, requestDt=request_dt))
    assert _outcome(response) == ("00", None)


@pytest.mark.parametrize(
    ("form", "accepted", "refused"),
    [
        ("epoch-seconds", EPOCH_SECONDS, LOCAL_DATETIME),
        ("local-datetime", LOCAL_DATETIME, EPOCH_SECONDS),
    ],
)
def test_a_request_dt_setting_accepts_its_form_only(
    started: list[Sandbox], http: httpx2.Client, form: str, accepted: object, refused: object
) -> None:
    # With one form required, the other is INVALID_REQUEST naming requestDt and the setting.
    calls = _calls(started, http, kbank_request_dt=form)
    token_id = calls.sandbox.create_token("kbank")
    wrong = calls.kbank(body=calls.kbank_body(token_id, requestDt=refused))
    assert _outcome(wrong) == ("10", "INVALID_REQUEST")
    assert "requestDt" in wrong.json()["errorDesc"]
    assert form in wrong.json()["errorDesc"]
    assert_conforms("kbank", wrong)
    assert calls.sandbox.token_status("kbank", token_id) == "ACTIVE"
    right = calls.kbank(body=calls.kbank_body(token_id, requestDt=accepted))
    assert _outcome(right) == ("00", None)


@pytest.mark.parametrize(
    "request_dt", ["2019-13-04T18:00:42", "2019-07-04 18:00:42", -1, True, 1.5]
)
def test_request_dt_outside_both_forms_is_invalid(
    sandbox: Sandbox, calls: ProviderCalls, request_dt: object
) -> None:
    # Neither form (a 13th month, a space, a negative, a boolean, a fraction): INVALID_REQUEST.
    response = calls.kbank(
        body=calls.kbank_body(sandbox.create_token("kbank"), requestDt=request_dt)
    )
    assert _outcome(response) == ("10", "INVALID_REQUEST")


@pytest.mark.parametrize(
    "setting",
    [{"kbank_credentials": "header"}, {"kbank_request_dt": "iso"}, {"vocabulary": "weird"}],
)
def test_unknown_setting_values_are_refused(setting: dict[str, str]) -> None:
    # A misspelt setting is a SandboxConfigError naming the accepted values, not a silent default.
    with pytest.raises(SandboxConfigError, match="must be one of"):
        SandboxConfig(**setting)  # type: ignore[arg-type]


def test_cli_flags_reach_the_sandbox(tmp_path: Path) -> None:
    # --kbank-credentials, --kbank-request-dt and --vocabulary change what the served sandbox
    # answers: body-only credentials refused, a string requestDt refused, a novel 404 code.
    process = SandboxProcess(
        "--kbank-credentials",
        "headers-and-body",
        "--kbank-request-dt",
        "epoch-seconds",
        "--vocabulary",
        "unknown",
        log_path=tmp_path / "log",
    )
    try:
        credentials = httpx2.get(f"{process.url}/_sandbox/credentials").json()
        kbank = credentials["kbank"]
        headers = {"Partner-Id": kbank["partner_id"], "Partner-Secret": kbank["partner_secret"]}
        body = {
            "partnerTxnUid": "TXN1",
            "partnerId": kbank["partner_id"],
            "partnerSecret": kbank["partner_secret"],
            "requestDt": LOCAL_DATETIME,
            "tokenId": "KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B",
            "reference1": "ORDER-0001",
        }
        url = f"{process.url}/kbank/v1/kplus/payment/cancel-token"
        body_only = httpx2.post(url, json=body).json()
        wrong_form = httpx2.post(url, json=body, headers=headers).json()
        xendit = httpx2.post(
            f"{process.url}/xendit/v3/payment_tokens/pt-{'0' * 36}/cancel",
            auth=(credentials["xendit"]["secret_key"], ""),
        )
    finally:
        process.close()
    assert body_only["errorCode"] == "AUTHENTICATION_FAILED"
    assert wrong_form["errorCode"] == "INVALID_REQUEST"
    assert "epoch-seconds" in wrong_form["errorDesc"]
    assert xendit.status_code == 404
    assert xendit.json()["error_code"] != "DATA_NOT_FOUND"


def test_a_wrong_cli_setting_is_a_usage_error() -> None:
    # A value outside the choices exits 2 naming the accepted ones, without a traceback.
    result = subprocess.run(
        [sys.executable, "-m", "tokencancel_sandbox", "--kbank-request-dt", "iso"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "epoch-seconds" in result.stderr
    assert "Traceback" not in result.stderr
