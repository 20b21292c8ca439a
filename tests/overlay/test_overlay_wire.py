"""Each provider's request as it arrives on a real loopback socket: method, path, headers, body."""

from __future__ import annotations

import base64
import time

from tokencancel import CancelOutcome, TokenCancelClient
from tokencancel.providers.solidgate import solidgate_signature

from .loopback_server import (
    KBANK_PARTNER_ID,
    KBANK_PARTNER_SECRET,
    KBANK_TOKEN,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    SOLIDGATE_TOKEN,
    XENDIT_SECRET_KEY,
    XENDIT_TOKEN,
    CaptureServer,
    json_reply,
)

KBANK_CANCELLED = {
    "partnerTxnUid": "X",
    "partnerId": KBANK_PARTNER_ID,
    "statusCode": "00",
    "errorCode": None,
    "errorDesc": None,
    "tokenList": [{"tokenId": KBANK_TOKEN, "reference1": "ORDER-0001", "status": "CANCELLED"}],
}


def test_kbank_request_on_the_wire(server: CaptureServer, client: TokenCancelClient):
    """KBank gets POST {base}/kplus/payment/cancel-token with body credentials (no headers)."""
    server.script(json_reply(200, KBANK_CANCELLED))
    before = int(time.time())
    result = client.cancel_kbank(KBANK_TOKEN, reference1="ORDER-0001")
    after = int(time.time())

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/kplus/payment/cancel-token"
    assert request.headers["content-type"] == "application/json"
    assert "partner-id" not in request.headers
    assert "partner-secret" not in request.headers
    body = request.json()
    assert sorted(body) == sorted(
        [
            "partnerTxnUid",
            "partnerId",
            "partnerSecret",
            "requestDt",
            "tokenId",
            "reference1",
        ]
    )
    assert body["partnerId"] == KBANK_PARTNER_ID
    assert body["partnerSecret"] == KBANK_PARTNER_SECRET
    assert body["tokenId"] == KBANK_TOKEN
    assert body["reference1"] == "ORDER-0001"
    assert isinstance(body["requestDt"], int)
    assert before <= body["requestDt"] <= after
    assert 1 <= len(body["partnerTxnUid"]) <= 15
    assert result.request_id == body["partnerTxnUid"]
    assert result.outcome is CancelOutcome.CANCELLED
    # Compact JSON: the exact bytes are the serialisation of those fields, nothing more.
    assert (
        request.body
        == (
            f'{{"partnerId":"{KBANK_PARTNER_ID}","partnerSecret":"{KBANK_PARTNER_SECRET}",'
            f'"partnerTxnUid":"{body["partnerTxnUid"]}","requestDt":{body["requestDt"]},'
            f'"tokenId":"{KBANK_TOKEN}","reference1":"ORDER-0001"}}'
        ).encode()
    )


def test_kbank_partner_txn_uid_from_the_caller_goes_on_the_wire(
    server: CaptureServer, client: TokenCancelClient
):
    """A caller-chosen partnerTxnUid is sent as given and reported back."""
    server.script(json_reply(200, KBANK_CANCELLED))
    result = client.cancel_kbank(KBANK_TOKEN, reference1="R", partner_txn_uid="RGH001030118001")
    assert server.requests[0].json()["partnerTxnUid"] == "RGH001030118001"
    assert result.request_id == "RGH001030118001"


def test_each_kbank_cancel_gets_its_own_partner_txn_uid(
    server: CaptureServer, client: TokenCancelClient
):
    """Two cancels never share a partnerTxnUid."""
    server.script(json_reply(200, KBANK_CANCELLED), json_reply(200, KBANK_CANCELLED))
    client.cancel_kbank(KBANK_TOKEN, reference1="R")
    client.cancel_kbank(KBANK_TOKEN, reference1="R")
    first, second = (request.json()["partnerTxnUid"] for request in server.requests)
    assert first != second


def test_solidgate_request_on_the_wire(server: CaptureServer, client: TokenCancelClient):
    """Solidgate gets the compact body, the merchant key and the signature of those exact bytes."""
    server.script(json_reply(200, {"status": "processing"}))
    client.cancel_solidgate(SOLIDGATE_TOKEN)

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == "/api/v1/recurring-token/cancel"
    assert request.body == b'{"token":"923bb4e6-4a5f-41ec-81fb-28eb8a152e55"}'
    assert request.headers["content-type"] == "application/json"
    assert request.headers["merchant"] == SOLIDGATE_PUBLIC_KEY
    # The first published Solidgate vector (docs/providers.md): this body with these keys.
    assert request.headers["signature"] == solidgate_signature(
        SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, request.body
    )
    assert request.headers["signature"].startswith("M2I3NDJjODIzYWE4NmM5MjEx")


def test_xendit_request_on_the_wire(server: CaptureServer, client: TokenCancelClient):
    """Xendit gets POST /v3/payment_tokens/{id}/cancel, no body, Basic auth and api-version."""
    server.script(json_reply(200, {"payment_token_id": XENDIT_TOKEN, "status": "CANCELED"}))
    client.cancel_xendit(XENDIT_TOKEN)

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == f"/v3/payment_tokens/{XENDIT_TOKEN}/cancel"
    assert request.body == b""
    expected = base64.b64encode(f"{XENDIT_SECRET_KEY}:".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.headers["api-version"] == "2024-11-11"


def test_one_client_reuses_its_connection(server: CaptureServer, client: TokenCancelClient):
    """Consecutive cancels through one client travel over one kept-alive connection."""
    reply = json_reply(200, {"status": "CANCELED"})
    server.script(reply, reply, reply)
    for _ in range(3):
        client.cancel_xendit(XENDIT_TOKEN)
    assert len({request.client_port for request in server.requests}) == 1
