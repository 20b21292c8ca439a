"""Fault injection: each fault, per provider, for `fault_times` attempts, then normal behaviour."""

from __future__ import annotations

import json

import httpx2
import pytest
from tokencancel_sandbox import Sandbox

from .sandbox_helpers import PROVIDERS, ProviderCalls, assert_conforms


def _is_success(provider: str, response: httpx2.Response) -> bool:
    body = response.json()
    return {
        "kbank": lambda: body.get("statusCode") == "00",
        "solidgate": lambda: body == {"status": "processing"},
        "xendit": lambda: body.get("status") == "CANCELED",
    }[provider]()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_429_fault_answers_the_providers_rate_limit_shape(
    sandbox: Sandbox, calls: ProviderCalls, provider: str
) -> None:
    # HTTP 429 in each provider's own shape; Xendit adds its Rate-Limit-* headers.
    token_id = sandbox.create_token(provider, fault="429", fault_times=1)
    response = calls.cancel(provider, token_id)
    assert response.status_code == 429
    body = response.json()
    if provider == "xendit":
        assert body["error_code"] == "RATE_LIMIT_EXCEEDED"
        assert response.headers["rate-limit-limit"] == "60"
        assert response.headers["rate-limit-remaining"] == "0"
        assert float(response.headers["rate-limit-reset"]) > 0
        assert "retry-after" not in response.headers
    elif provider == "solidgate":
        assert body["error"]["code"] == "5.07"
    else:
        assert (body["statusCode"], body["errorCode"]) == ("10", "TOO_MANY_REQUESTS")
        assert int(response.headers["retry-after"]) >= 1
    if provider != "kbank":  # KBank documents no status but 200
        assert_conforms(provider, response)
    assert sandbox.token_status(provider, token_id) in {"ACTIVE", "active"}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["500", "503"])
def test_server_error_faults_answer_the_providers_error_shape(
    sandbox: Sandbox, calls: ProviderCalls, provider: str, fault: str
) -> None:
    # 500/503 with the provider's error body; the token is not cancelled.
    token_id = sandbox.create_token(provider, fault=fault, fault_times=1)
    response = calls.cancel(provider, token_id)
    assert response.status_code == int(fault)
    body = response.json()
    expected_code = {
        ("xendit", "500"): "SERVER_ERROR",
        ("xendit", "503"): "CHANNEL_UNAVAILABLE",
    }
    if provider == "xendit":
        assert body["error_code"] == expected_code[(provider, fault)]
        assert_conforms(provider, response)
    elif provider == "solidgate":
        assert body["error"]["code"] == "6.01"
        if fault == "503":
            assert_conforms(provider, response)
    else:
        assert (body["statusCode"], body["errorCode"], body["errorDesc"]) == (
            "10",
            "KP9999",
            "kbank internal error",
        )
    assert sandbox.token_status(provider, token_id) in {"ACTIVE", "active"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_502_html_fault_answers_an_html_page(
    sandbox: Sandbox, calls: ProviderCalls, provider: str
) -> None:
    # A gateway's HTML error page, not JSON.
    response = calls.cancel(provider, sandbox.create_token(provider, fault="502-html"))
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.lstrip().startswith("<html>")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_truncated_fault_cuts_the_body_mid_json(
    sandbox: Sandbox, calls: ProviderCalls, provider: str
) -> None:
    # HTTP 200 whose Content-Length matches a body cut mid-JSON; the cancel itself happened.
    token_id = sandbox.create_token(provider, fault="truncated", fault_times=1)
    response = calls.cancel(provider, token_id)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) > 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert sandbox.token_status(provider, token_id) in {"CANCELLED", "processing", "CANCELED"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reset_fault_drops_the_connection(
    sandbox: Sandbox, calls: ProviderCalls, provider: str
) -> None:
    # The connection is reset before any answer; the token is untouched.
    token_id = sandbox.create_token(provider, fault="reset", fault_times=1)
    with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
        calls.cancel(provider, token_id)
    assert sandbox.token_status(provider, token_id) in {"ACTIVE", "active"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_slow_fault_outlasts_the_client_timeout(
    sandbox: Sandbox, calls: ProviderCalls, provider: str
) -> None:
    # An answer slower than the client's timeout: the client times out (delay 10x the timeout).
    token_id = sandbox.create_token(provider, fault="slow", fault_times=1, delay_seconds=3.0)
    with pytest.raises(httpx2.ReadTimeout):
        calls.cancel(provider, token_id, timeout=0.3)


def test_slow_fault_eventually_answers_normally(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # A patient client gets the normal answer once the delay has passed.
    token_id = sandbox.create_token("xendit", fault="slow", delay_seconds=0.2)
    response = calls.xendit(token_id, timeout=10.0)
    assert _is_success("xendit", response)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["429", "500", "503", "502-html", "reset"])
def test_faults_fire_fault_times_then_behave_normally(
    sandbox: Sandbox, calls: ProviderCalls, provider: str, fault: str
) -> None:
    # With fault_times=2, two cancels fault and the third cancels the token: retries work.
    token_id = sandbox.create_token(provider, fault=fault, fault_times=2)
    for _ in range(2):
        try:
            response = calls.cancel(provider, token_id)
        except httpx2.TransportError:
            assert fault == "reset"
            continue
        assert response.status_code != 200 or response.headers["content-type"] == "text/html"
        assert response.status_code == (502 if fault == "502-html" else int(fault))
    assert _is_success(provider, calls.cancel(provider, token_id))


def test_a_fault_without_fault_times_fires_on_every_attempt(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # fault_times absent: every cancel faults.
    token_id = sandbox.create_token("xendit", fault="503")
    assert [calls.xendit(token_id).status_code for _ in range(4)] == [503] * 4


def test_faults_fire_only_for_authenticated_valid_cancels(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # A request refused before reaching the token (bad credentials) does not use up the fault.
    token_id = sandbox.create_token("xendit", fault="500", fault_times=1)
    assert calls.xendit(token_id, auth=("wrong", "")).status_code == 401
    assert calls.xendit(token_id).status_code == 500
    assert calls.xendit(token_id).status_code == 200
