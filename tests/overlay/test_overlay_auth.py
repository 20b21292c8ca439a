"""Provider authentication: the pure helpers and the httpx2.Auth classes, in isolation."""

from __future__ import annotations

import base64
import json
import re

import httpx2
import pytest
from loopback_server import (
    KBANK_PARTNER_ID,
    KBANK_PARTNER_SECRET,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    XENDIT_SECRET_KEY,
)
from tokencancel import KBankSettings, SolidgateSettings, XenditSettings
from tokencancel._auth import (
    KBankAuth,
    SolidgateAuth,
    XenditAuth,
    kbank_credential_headers,
    new_partner_txn_uid,
    xendit_authorization,
)
from tokencancel._signing import solidgate_signature

# PROVIDERS.md, "Test vectors".
VECTORS = [
    (
        "api_pk_test_1",
        "api_sk_test_1",
        b'{"token":"923bb4e6-4a5f-41ec-81fb-28eb8a152e55"}',
        "M2I3NDJjODIzYWE4NmM5MjExMGY0N2JlOTQ3ZDBlM2Y0MWFiYTAzZGI5YmZjMjZhY2IzYzlmOTQ3MjUwNWRjOTkw"
        "ZTVhYjczOWRlODhlOTQyZWFlYTBhZGIyMWY3ZTQxYWY1NWE1YjQ5MjM1Y2VkN2VkYWNkOWRiNmYzZDc1OWI=",
    ),
    (
        "test",
        "secret",
        b'{"amount":100,"currency":"USD"}',
        "MjY3MzBjNDAwMDllZjIxMGMzYjQ3Mzg5ZjNiYjE4MmNhOTNkYjliNGIzMzUxNTU2M2E1ZmUzMDVlZGM0MTBkZDE2"
        "YzE3ZWVjNDI3MDkxNWFkYzFlYzVjNzc5NDI0M2NmYjZiYTRlZDUxMDlkZDlhYWM1MmUzZTAzYTFlNjIxNGU=",
    ),
]


def _run_auth(auth: httpx2.Auth, request: httpx2.Request) -> httpx2.Request:
    """The request an httpx2.Auth sends for `request`, as httpx2 would drive it."""
    request.read()
    flow = auth.sync_auth_flow(request)
    return next(flow)


@pytest.mark.parametrize(("public_key", "secret_key", "body", "expected"), VECTORS)
def test_solidgate_auth_signs_the_published_vectors(public_key, secret_key, body, expected):
    """SolidgateAuth puts the published signature and the public key on a request with that body."""
    settings = SolidgateSettings(public_key, secret_key)
    request = httpx2.Request("POST", "https://gate.solidgate.com/api/x", content=body)
    sent = _run_auth(SolidgateAuth(settings), request)
    assert sent.headers["signature"] == expected
    assert sent.headers["merchant"] == public_key
    assert sent.content == body


def test_solidgate_auth_signs_the_bytes_sent_not_a_reserialisation():
    """A body with spaces and reordered keys is signed as is: Solidgate does not canonicalise."""
    settings = SolidgateSettings(SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY)
    body = b'{ "token" : "abc",  "extra": 1 }'
    sent = _run_auth(
        SolidgateAuth(settings), httpx2.Request("POST", "https://x.test", content=body)
    )
    assert sent.headers["signature"] == solidgate_signature(
        SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, body
    )
    assert len(sent.headers["signature"]) == 172


def test_xendit_authorization_is_basic_with_an_empty_password():
    """The Basic credential is base64 of `secret_key:`."""
    value = xendit_authorization("xnd_development_abc")
    assert value == "Basic " + base64.b64encode(b"xnd_development_abc:").decode()


def test_xendit_auth_sets_authorization_and_api_version():
    """XenditAuth adds Basic auth and api-version 2024-11-11."""
    auth = XenditAuth(XenditSettings(XENDIT_SECRET_KEY))
    sent = _run_auth(auth, httpx2.Request("POST", "https://api.xendit.co/v3/x"))
    assert sent.headers["authorization"] == xendit_authorization(XENDIT_SECRET_KEY)
    assert sent.headers["api-version"] == "2024-11-11"


def test_kbank_credential_headers():
    """KBank's headers carry the partner id and secret under their documented names."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)
    assert kbank_credential_headers(settings) == {
        "Partner-Id": KBANK_PARTNER_ID,
        "Partner-Secret": KBANK_PARTNER_SECRET,
    }


def test_kbank_auth_completes_a_bare_body():
    """KBankAuth fills credentials, requestDt (now) and a fresh partnerTxnUid into the body."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)
    auth = KBankAuth(settings, clock=lambda: 1519630776.9, new_txn_uid=lambda: "RGH001030118001")
    request = httpx2.Request("POST", "https://x.test", json={"tokenId": "T", "reference1": "R"})
    sent = _run_auth(auth, request)
    assert json.loads(sent.content) == {
        "tokenId": "T",
        "reference1": "R",
        "partnerId": KBANK_PARTNER_ID,
        "partnerSecret": KBANK_PARTNER_SECRET,
        "requestDt": 1519630776,
        "partnerTxnUid": "RGH001030118001",
    }
    assert sent.headers["partner-id"] == KBANK_PARTNER_ID
    assert sent.headers["partner-secret"] == KBANK_PARTNER_SECRET
    assert sent.headers["content-length"] == str(len(sent.content))


def test_kbank_auth_keeps_the_callers_partner_txn_uid_and_overrides_wrong_credentials():
    """A caller's partnerTxnUid survives; body credentials are forced to match the headers."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)
    auth = KBankAuth(settings, clock=lambda: 1.0)
    body = {"partnerTxnUid": "MINE", "partnerId": "other", "partnerSecret": "wrong"}
    sent = _run_auth(auth, httpx2.Request("POST", "https://x.test", json=body))
    sent_body = json.loads(sent.content)
    assert sent_body["partnerTxnUid"] == "MINE"
    assert sent_body["partnerId"] == KBANK_PARTNER_ID
    assert sent_body["partnerSecret"] == KBANK_PARTNER_SECRET


def test_kbank_auth_leaves_a_non_json_body_alone():
    """A body that is not a JSON object goes out untouched, with the credential headers."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)
    sent = _run_auth(KBankAuth(settings), httpx2.Request("POST", "https://x.test", content=b"[1"))
    assert sent.content == b"[1"
    assert sent.headers["partner-id"] == KBANK_PARTNER_ID


def test_partner_txn_uids_are_short_distinct_and_header_safe():
    """Fresh partnerTxnUids are 15 base-36 characters and do not repeat."""
    uids = [new_partner_txn_uid() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9A-Z]{15}", uid) for uid in uids)
    assert len(set(uids)) == len(uids)


def test_auth_reprs_hide_secrets():
    """No auth object shows a secret in its repr."""
    auths = [
        KBankAuth(KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)),
        SolidgateAuth(SolidgateSettings(SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY)),
        XenditAuth(XenditSettings(XENDIT_SECRET_KEY)),
    ]
    text = " ".join(repr(auth) for auth in auths)
    for secret in (KBANK_PARTNER_SECRET, SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY):
        assert secret not in text
    assert XENDIT_SECRET_KEY not in text
