"""The control API under /_sandbox/ and the Python API mirroring it."""

from __future__ import annotations

import re
import uuid

import httpx2
import pytest
from tokencancel_sandbox import ControlRequestError, Sandbox

from .sandbox_helpers import PROVIDERS, ProviderCalls


def test_health_answers_200(sandbox: Sandbox, http: httpx2.Client) -> None:
    # Scripts wait on /_sandbox/health before running tests.
    assert http.get(f"{sandbox.url}/_sandbox/health").status_code == 200


def test_credentials_list_each_providers_valid_credentials(
    sandbox: Sandbox, http: httpx2.Client
) -> None:
    # GET /_sandbox/credentials gives exactly the agreed keys, matching Sandbox.credentials.
    body = http.get(f"{sandbox.url}/_sandbox/credentials").json()
    assert body == sandbox.credentials
    assert set(body["kbank"]) == {"partner_id", "partner_secret"}
    assert set(body["solidgate"]) == {"public_key", "secret_key"}
    assert set(body["xendit"]) == {"secret_key"}


def test_env_points_the_overlay_at_this_sandbox(sandbox: Sandbox) -> None:
    # env() carries every variable the overlay's from_env reads, with this sandbox's URLs.
    env = sandbox.env()
    assert env["XENDIT_BASE_URL"] == f"{sandbox.url}/xendit"
    assert env["KBANK_BASE_URL"] == f"{sandbox.url}/kbank/v1"
    assert env["SOLIDGATE_BASE_URL"] == f"{sandbox.url}/solidgate/api"
    assert env["KBANK_PARTNER_SECRET"] == sandbox.credentials["kbank"]["partner_secret"]
    assert {
        "KBANK_PARTNER_ID",
        "SOLIDGATE_PUBLIC_KEY",
        "SOLIDGATE_SECRET_KEY",
        "XENDIT_SECRET_KEY",
    } <= set(env)


@pytest.mark.parametrize(
    ("provider", "pattern", "status"),
    [
        (
            "xendit",
            r"pt-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            "ACTIVE",
        ),
        (
            "solidgate",
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            "active",
        ),
        ("kbank", r"KP2SBX000000001[0-9A-F]{32}", "ACTIVE"),
    ],
)
def test_created_tokens_have_the_providers_id_format_and_start_active(
    sandbox: Sandbox, http: httpx2.Client, provider: str, pattern: str, status: str
) -> None:
    # POST /_sandbox/{provider}/tokens with no body answers 201 with an active token's id.
    response = http.post(f"{sandbox.url}/_sandbox/{provider}/tokens")
    assert response.status_code == 201
    token_id = response.json()["token_id"]
    assert re.fullmatch(pattern, token_id)
    assert sandbox.token_status(provider, token_id) == status
    looked_up = http.get(f"{sandbox.url}/_sandbox/{provider}/tokens/{token_id}").json()
    assert looked_up["status"] == status


def test_tokens_can_be_created_in_any_provider_status(
    sandbox: Sandbox, http: httpx2.Client
) -> None:
    # The status field takes the provider's own vocabulary (case-insensitively).
    response = http.post(f"{sandbox.url}/_sandbox/xendit/tokens", json={"status": "expired"})
    assert sandbox.token_status("xendit", response.json()["token_id"]) == "EXPIRED"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/_sandbox/stripe/tokens", {}, 404),
        ("/_sandbox/xendit/tokens", {"status": "SUSPENDED"}, 400),
        ("/_sandbox/xendit/tokens", {"fault": "418"}, 400),
        ("/_sandbox/xendit/tokens", {"fault": "500", "fault_times": 0}, 400),
        ("/_sandbox/xendit/tokens", {"fault": "500", "fault_times": True}, 400),
        ("/_sandbox/xendit/tokens", {"colour": "blue"}, 400),
        ("/_sandbox/xendit/tokens", {"country": 5}, 400),
        ("/_sandbox/kbank/tokens", {"reference1": ""}, 400),
        ("/_sandbox/solidgate/tokens", {"reference1": "x"}, 400),
        ("/_sandbox/solidgate/tokens", {"delay_seconds": -1}, 400),
        ("/_sandbox/solidgate/tokens", [1], 400),
    ],
)
def test_bad_token_requests_are_refused_with_a_message(
    sandbox: Sandbox, http: httpx2.Client, path: str, body: object, status: int
) -> None:
    # A wrong control request gets a 4xx naming the problem, never a 5xx.
    response = http.post(f"{sandbox.url}{path}", json=body)
    assert response.status_code == status
    assert response.json()["error"]


def test_a_chosen_token_id_is_used_once(sandbox: Sandbox, http: httpx2.Client) -> None:
    # token_id picks the id; creating it again answers 409 Conflict.
    token_id = str(uuid.uuid4())
    first = http.post(f"{sandbox.url}/_sandbox/solidgate/tokens", json={"token_id": token_id})
    assert first.json()["token_id"] == token_id
    again = http.post(f"{sandbox.url}/_sandbox/solidgate/tokens", json={"token_id": token_id})
    assert again.status_code == 409


def test_python_create_token_refuses_like_the_control_api(sandbox: Sandbox) -> None:
    # Sandbox.create_token raises ControlRequestError (a ValueError) with the same message.
    with pytest.raises(ControlRequestError, match="fault must be one of"):
        sandbox.create_token("kbank", fault="teapot")


def test_reset_forgets_tokens_and_reseeds_examples(
    sandbox: Sandbox, http: httpx2.Client, calls: ProviderCalls
) -> None:
    # After POST /_sandbox/reset, created tokens are gone and the examples are active again.
    created = {provider: sandbox.create_token(provider) for provider in PROVIDERS}
    example = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"
    assert calls.xendit(example).status_code == 200
    assert http.post(f"{sandbox.url}/_sandbox/reset").status_code == 200
    for provider, token_id in created.items():
        assert sandbox.token_status(provider, token_id) is None
    assert sandbox.token_status("xendit", example) == "ACTIVE"


def test_unknown_paths_and_methods_are_4xx(sandbox: Sandbox, http: httpx2.Client) -> None:
    # Unknown endpoints are 404; a wrong method on a provider path is 405 with Allow.
    assert http.get(f"{sandbox.url}/nowhere").status_code == 404
    assert http.get(f"{sandbox.url}/_sandbox/nowhere").status_code == 404
    assert http.post(f"{sandbox.url}/_sandbox/health").status_code == 405
    wrong_method = http.get(f"{sandbox.base_url('kbank')}/kplus/payment/cancel-token")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
