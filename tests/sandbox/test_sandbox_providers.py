"""Each provider's cancel answers through real HTTP: success, repeat, unknown, invalid, auth."""

from __future__ import annotations

import json
import uuid

import httpx2
import pytest
from tokencancel.providers.solidgate import solidgate_signature
from tokencancel_sandbox import Sandbox, SandboxConfig

from .sandbox_helpers import ProviderCalls, assert_conforms

UNKNOWN_XENDIT_ID = "pt-00000000-0000-0000-0000-000000000000"


# -- Xendit -------------------------------------------------------------------------------


def test_xendit_cancel_active_answers_the_payment_token_canceled(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # A cancel of an active token answers 200 with the full token, now CANCELED.
    token_id = sandbox.create_token("xendit", reference_id="order-42")
    response = calls.xendit(token_id)
    assert response.status_code == 200
    token = response.json()
    assert token["payment_token_id"] == token_id
    assert token["status"] == "CANCELED"
    assert token["reference_id"] == "order-42"
    assert {
        "business_id",
        "customer_id",
        "country",
        "currency",
        "channel_code",
        "created",
        "updated",
    } <= set(token)
    assert_conforms("xendit", response)
    assert sandbox.token_status("xendit", token_id) == "CANCELED"


@pytest.mark.parametrize("status", ["CANCELED", "EXPIRED", "FAILED"])
def test_xendit_inactive_token_is_inactive_payment_request(
    sandbox: Sandbox, calls: ProviderCalls, status: str
) -> None:
    # A token that is no longer active answers 400 INACTIVE_PAYMENT_REQUEST.
    response = calls.xendit(sandbox.create_token("xendit", status=status))
    assert response.status_code == 400
    assert response.json()["error_code"] == "INACTIVE_PAYMENT_REQUEST"
    assert_conforms("xendit", response)


def test_xendit_second_cancel_is_inactive(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # Cancelling twice: the second answer is the already-inactive one.
    token_id = sandbox.create_token("xendit")
    assert calls.xendit(token_id).status_code == 200
    second = calls.xendit(token_id)
    assert (second.status_code, second.json()["error_code"]) == (400, "INACTIVE_PAYMENT_REQUEST")


def test_xendit_pending_token_is_ineligible(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # A PENDING token cannot be cancelled now: 400 INELIGIBLE_TRANSACTION_STATUS, unchanged.
    token_id = sandbox.create_token("xendit", status="PENDING")
    response = calls.xendit(token_id)
    assert (response.status_code, response.json()["error_code"]) == (
        400,
        "INELIGIBLE_TRANSACTION_STATUS",
    )
    assert sandbox.token_status("xendit", token_id) == "PENDING"


def test_xendit_requires_action_token_cancels(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # A token still awaiting the user's action can be cancelled.
    response = calls.xendit(sandbox.create_token("xendit", status="REQUIRES_ACTION"))
    assert (response.status_code, response.json()["status"]) == (200, "CANCELED")


def test_xendit_unknown_token_is_data_not_found(calls: ProviderCalls) -> None:
    # A well-formed id nobody created answers 404 DATA_NOT_FOUND.
    response = calls.xendit(UNKNOWN_XENDIT_ID)
    assert (response.status_code, response.json()["error_code"]) == (404, "DATA_NOT_FOUND")
    assert_conforms("xendit", response)


def test_xendit_invalid_request_lists_each_problem(calls: ProviderCalls) -> None:
    # An id of the wrong length and an unknown api-version each get a {path, message} entry.
    response = calls.xendit("pt-short", headers={"api-version": "2020-01-01"})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "API_VALIDATION_ERROR"
    assert {error["path"] for error in body["errors"]} == {"payment_token_id", "api-version"}
    assert all(error["message"] for error in body["errors"])
    assert_conforms("xendit", response)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + "d3Jvbmc6",  # "wrong:"
        "Bearer xnd_development_sandbox_00000000000000000001",
        "Basic not-base64!",
    ],
    ids=["missing", "wrong-key", "not-basic", "bad-base64"],
)
def test_xendit_bad_credentials_are_invalid_api_key(
    sandbox: Sandbox, http: httpx2.Client, authorization: str | None
) -> None:
    # Anything but Basic with the secret key answers 401 INVALID_API_KEY, before validation.
    headers = {"Authorization": authorization} if authorization else {}
    response = http.post(
        f"{sandbox.base_url('xendit')}/v3/payment_tokens/x/cancel", headers=headers
    )
    assert (response.status_code, response.json()["error_code"]) == (401, "INVALID_API_KEY")
    assert_conforms("xendit", response)


def test_xendit_password_must_be_empty(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # The secret key with a non-empty password is not Xendit's scheme: 401, token untouched.
    token_id = sandbox.create_token("xendit")
    secret = calls.credentials["xendit"]["secret_key"]
    response = calls.xendit(token_id, auth=(secret, "password"))
    assert response.status_code == 401
    assert sandbox.token_status("xendit", token_id) == "ACTIVE"


# -- KBank --------------------------------------------------------------------------------


def test_kbank_cancel_active_answers_00_with_the_token_cancelled(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # A cancel of an active token answers statusCode 00 with tokenList[].status CANCELLED.
    token_id = sandbox.create_token("kbank")
    response = calls.kbank(body=calls.kbank_body(token_id, partnerTxnUid="TXN123"))
    assert response.status_code == 200
    body = response.json()
    assert body["statusCode"] == "00"
    assert body["partnerTxnUid"] == "TXN123"
    assert body["partnerId"] == calls.credentials["kbank"]["partner_id"]
    assert body["tokenList"] == [
        {"tokenId": token_id, "reference1": "ORDER-0001", "status": "CANCELLED"}
    ]
    assert_conforms("kbank", response)


def test_kbank_second_cancel_is_already_cancelled(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # Cancelling twice: statusCode 10 with TOKEN_ALREADY_CANCELLED, identifiers echoed.
    token_id = sandbox.create_token("kbank")
    assert calls.kbank(token_id).json()["statusCode"] == "00"
    body = calls.kbank(token_id).json()
    assert (body["statusCode"], body["errorCode"]) == ("10", "TOKEN_ALREADY_CANCELLED")
    assert body["partnerTxnUid"] == "TXN000000000001"
    assert body["tokenList"] is None


def test_kbank_unknown_token_is_token_not_found(calls: ProviderCalls) -> None:
    # An unknown token answers statusCode 10 TOKEN_NOT_FOUND under HTTP 200.
    response = calls.kbank("KP2SBX000000001" + "0" * 32)
    assert response.status_code == 200
    assert (response.json()["statusCode"], response.json()["errorCode"]) == (
        "10",
        "TOKEN_NOT_FOUND",
    )
    assert_conforms("kbank", response)


def test_kbank_reference1_must_match_when_the_token_has_one(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # A token created with reference1 is not found under another reference1, and stays active.
    token_id = sandbox.create_token("kbank", reference1="ORDER-7")
    wrong = calls.kbank(body=calls.kbank_body(token_id, reference1="ORDER-8")).json()
    assert wrong["errorCode"] == "TOKEN_NOT_FOUND"
    assert sandbox.token_status("kbank", token_id) == "ACTIVE"
    right = calls.kbank(body=calls.kbank_body(token_id, reference1="ORDER-7")).json()
    assert right["statusCode"] == "00"


def test_kbank_invalid_body_is_invalid_request_naming_fields(calls: ProviderCalls) -> None:
    # A body breaking the spec answers INVALID_REQUEST naming each field, not echoing values.
    body = calls.kbank_body("tok", partnerTxnUid="X" * 16, requestDt="yesterday-7f3a")
    del body["reference1"]
    response = calls.kbank(body=body)
    answer = response.json()
    assert (answer["statusCode"], answer["errorCode"]) == ("10", "INVALID_REQUEST")
    for field in ("partnerTxnUid", "requestDt", "reference1"):
        assert field in answer["errorDesc"]
    assert "yesterday-7f3a" not in answer["errorDesc"]
    assert_conforms("kbank", response)


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b"", b'{"a": NaN}'], ids=["not-json", "array", "empty", "nan"]
)
def test_kbank_unreadable_body_is_invalid_request(calls: ProviderCalls, raw: bytes) -> None:
    # A body that is not a JSON object answers INVALID_REQUEST (after the header credentials).
    response = calls.kbank(raw=raw)
    assert response.status_code == 200
    assert response.json()["errorCode"] == "INVALID_REQUEST"
    assert_conforms("kbank", response)


def test_kbank_requires_a_json_content_type(sandbox: Sandbox, calls: ProviderCalls) -> None:
    # The spec's only media type is application/json; text/plain is an invalid request.
    token_id = sandbox.create_token("kbank")
    response = calls.http.post(
        f"{sandbox.base_url('kbank')}/kplus/payment/cancel-token",
        content=json.dumps(calls.kbank_body(token_id)).encode(),
        headers={**calls.kbank_headers(), "Content-Type": "text/plain"},
    )
    assert response.json()["errorCode"] == "INVALID_REQUEST"
    assert "Content-Type" in response.json()["errorDesc"]
    assert sandbox.token_status("kbank", token_id) == "ACTIVE"


@pytest.mark.parametrize(
    ("header_changes", "body_changes"),
    [
        ({"Partner-Secret": "sent-secret-7f3a"}, {}),
        ({"Partner-Id": "KP2SBX000000002", "Partner-Secret": None}, {}),
        ({}, {"partnerSecret": "sent-secret-7f3a"}),
        ({}, {"partnerId": "KP2SBX000000002"}),
        ({}, {"partnerSecret": None}),
        ({}, {"partnerSecret": 12345}),
        ({"Partner-Id": None, "Partner-Secret": None}, {"partnerSecret": None}),
    ],
    ids=[
        "header-secret",
        "header-id-alone",
        "body-secret",
        "body-id",
        "no-body-secret",
        "secret-type",
        "nowhere",
    ],
)
def test_kbank_credentials_must_be_in_the_body_and_match_wherever_sent(
    sandbox: Sandbox,
    calls: ProviderCalls,
    header_changes: dict[str, str | None],
    body_changes: dict[str, object],
) -> None:
    # The body must carry the partner credentials, and headers that are sent must match them.
    token_id = sandbox.create_token("kbank")
    headers = {
        name: value
        for name, value in {**calls.kbank_headers(), **header_changes}.items()
        if value is not None
    }
    body = {
        name: value
        for name, value in {**calls.kbank_body(token_id), **body_changes}.items()
        if value is not None
    }
    response = calls.kbank(body=body, headers=headers)
    answer = response.json()
    assert (answer["statusCode"], answer["errorCode"]) == ("10", "AUTHENTICATION_FAILED")
    assert "sent-secret-7f3a" not in response.text
    assert "12345" not in response.text
    assert sandbox.token_status("kbank", token_id) == "ACTIVE"
    assert_conforms("kbank", response)


def test_kbank_credentials_are_checked_before_the_body(calls: ProviderCalls) -> None:
    # Wrong header credentials win over an invalid body: authentication comes first.
    response = calls.kbank(raw=b"not json", headers={"Partner-Id": "x", "Partner-Secret": "y"})
    assert response.json()["errorCode"] == "AUTHENTICATION_FAILED"


# -- Solidgate ----------------------------------------------------------------------------


def test_solidgate_cancel_is_processing_while_the_token_settles(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # A cancel answers `processing`; a repeat before the token settles is "already processing".
    # (The shared sandbox's settle time outlasts any test: no timing involved.)
    token = sandbox.create_token("solidgate")
    first = calls.solidgate(token)
    assert first.json() == {"status": "processing"}
    assert_conforms("solidgate", first)
    assert sandbox.token_status("solidgate", token) == "processing"
    repeat = calls.solidgate(token)
    assert repeat.json() == {
        "error": {
            "code": "2.01",
            "messages": {"token": ["recurring token cancellation already processing"]},
        }
    }
    assert_conforms("solidgate", repeat)


def test_solidgate_token_settles_to_cancelled(http: httpx2.Client) -> None:
    # Once settled (here at once), the token is cancelled and a repeat is "already cancelled".
    with Sandbox.start(port=0, config=SandboxConfig(cancel_settle_seconds=0)) as sandbox:
        calls = ProviderCalls(sandbox, http)
        token = sandbox.create_token("solidgate")
        assert calls.solidgate(token).json() == {"status": "processing"}
        assert sandbox.token_status("solidgate", token) == "cancelled"
        settled = calls.solidgate(token)
    assert settled.json() == {
        "error": {"code": "2.01", "messages": {"token": ["recurring token already cancelled"]}}
    }
    assert_conforms("solidgate", settled)


def test_solidgate_unknown_token_is_not_found(calls: ProviderCalls) -> None:
    # An unknown token answers 2.01 with the general "not found" message, under HTTP 200.
    response = calls.solidgate(str(uuid.uuid4()))
    assert response.status_code == 200
    assert response.json() == {
        "error": {"code": "2.01", "messages": {"general": ["recurring token was not found"]}}
    }
    assert_conforms("solidgate", response)


def test_solidgate_unsupported_method_cannot_be_revoked(
    sandbox: Sandbox, calls: ProviderCalls
) -> None:
    # A token whose payment method cannot be revoked answers 2.01 saying so, and stays.
    token = sandbox.create_token("solidgate", status="unsupported")
    messages = calls.solidgate(token).json()["error"]["messages"]
    assert "does not support" in messages["token"][0]
    assert sandbox.token_status("solidgate", token) == "unsupported"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"token": 5}', "token"),
        (b"{}", "token"),
        (b'{"token": ""}', "token"),
        (b"nope", "general"),
    ],
    ids=["wrong-type", "missing", "empty", "not-json"],
)
def test_solidgate_invalid_body_is_2_01_per_field(
    calls: ProviderCalls, raw: bytes, field: str
) -> None:
    # A signed body that breaks the spec answers 2.01 with messages keyed by the field.
    response = calls.solidgate(raw=raw)
    error = response.json()["error"]
    assert error["code"] == "2.01"
    assert list(error["messages"]) == [field]
    assert_conforms("solidgate", response)


@pytest.mark.parametrize("tamper", ["merchant", "secret", "signature", "resigned-body"], ids=str)
def test_solidgate_bad_signature_is_1_01(
    sandbox: Sandbox, calls: ProviderCalls, tamper: str
) -> None:
    # A wrong public key, secret key, signature, or bytes other than the signed ones: 1.01.
    token = sandbox.create_token("solidgate")
    keys = calls.credentials["solidgate"]
    compact = json.dumps({"token": token}, separators=(",", ":")).encode()
    spaced = json.dumps({"token": token}).encode()
    kwargs: dict[str, object] = {
        "merchant": {"merchant": "api_pk_other"},
        "secret": {"secret_key": "api_sk_other"},
        "signature": {"signature": "x" * 172},
        # Same JSON, other bytes: the signature covers the exact bytes, not the meaning.
        "resigned-body": {
            "raw": spaced,
            "signature": solidgate_signature(keys["public_key"], keys["secret_key"], compact),
        },
    }[tamper]
    response = calls.solidgate(token, **kwargs)
    assert response.json() == {"error": {"code": "1.01", "messages": ["Authentication failed"]}}
    assert_conforms("solidgate", response)
    assert sandbox.token_status("solidgate", token) == "active"


def test_solidgate_missing_signature_is_1_01(sandbox: Sandbox, http: httpx2.Client) -> None:
    # No merchant/signature headers at all: 1.01.
    response = http.post(
        f"{sandbox.base_url('solidgate')}/v1/recurring-token/cancel", json={"token": "x"}
    )
    assert response.json()["error"]["code"] == "1.01"


# -- all providers ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["kbank", "solidgate", "xendit"])
def test_spec_example_tokens_are_seeded_active(
    sandbox: Sandbox, calls: ProviderCalls, provider: str
) -> None:
    # The spec examples' token ids cancel successfully on a fresh sandbox (fuzzing relies on it).
    examples = {
        "kbank": "KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B",
        "solidgate": "923bb4e6-4a5f-41ec-81fb-28eb8a152e55",
        "xendit": "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1",
    }
    response = calls.cancel(provider, examples[provider])
    assert response.status_code == 200
    assert response.json().get("statusCode", "00") == "00"
    assert "error" not in response.json()
