"""Provider authentication: the pure helpers and the httpx2.Auth classes, in isolation."""

from __future__ import annotations

import base64
import json
import re

import httpx2
import pytest
from tokencancel import KBankSettings, SolidgateSettings, XenditSettings
from tokencancel.providers import PreparedCancel
from tokencancel.providers.kbank import (
    KBANK,
    KBankAdapter,
    KBankAuth,
    kbank_credential_headers,
    new_partner_txn_uid,
)
from tokencancel.providers.solidgate import SolidgateAuth, solidgate_signature
from tokencancel.providers.xendit import XENDIT, XenditAuth, xendit_authorization

from .loopback_server import (
    KBANK_PARTNER_ID,
    KBANK_PARTNER_SECRET,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    XENDIT_SECRET_KEY,
)

# Solidgate's published vectors (docs/providers.md, "Solidgate signature").
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


def test_xendit_auth_sets_authorization_and_the_request_sets_api_version():
    """XenditAuth adds Basic auth; the request itself carries api-version 2024-11-11."""
    settings = XenditSettings(XENDIT_SECRET_KEY)
    auth = XenditAuth(settings)
    sent = _run_auth(auth, httpx2.Request("POST", "https://api.xendit.co/v3/x"))
    assert sent.headers["authorization"] == xendit_authorization(XENDIT_SECRET_KEY)
    prepared = XENDIT.prepare("pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1", {})
    assert XENDIT.build_request(settings, prepared).headers == {"api-version": "2024-11-11"}


def test_kbank_credential_headers():
    """KBank's headers carry the partner id and secret under their documented names."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)
    assert kbank_credential_headers(settings) == {
        "Partner-Id": KBANK_PARTNER_ID,
        "Partner-Secret": KBANK_PARTNER_SECRET,
    }


def _kbank_prepared(request_id: str = "RGH001030118001") -> PreparedCancel:
    return KBANK.prepare("T", {"reference1": "R"}, request_id=request_id)


def test_kbank_body_is_built_without_credentials_and_the_auth_adds_them():
    """The request body holds no secret; KBankAuth splices the credentials in as it leaves."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, partner_headers=False)
    adapter = KBankAdapter(clock=lambda: 1519630776.9)
    request = adapter.build_request(settings, _kbank_prepared())
    assert request.content is not None
    assert KBANK_PARTNER_SECRET.encode() not in request.content
    sent = _run_auth(
        KBankAuth(settings),
        httpx2.Request("POST", "https://x.test", headers=request.headers, content=request.content),
    )
    assert json.loads(sent.content) == {
        "partnerId": KBANK_PARTNER_ID,
        "partnerSecret": KBANK_PARTNER_SECRET,
        "partnerTxnUid": "RGH001030118001",
        "requestDt": 1519630776,
        "tokenId": "T",
        "reference1": "R",
    }
    assert "partner-secret" not in sent.headers
    assert sent.headers["content-length"] == str(len(sent.content))


def test_kbank_partner_headers_are_sent_when_set():
    """With partner_headers, the Partner-Id and Partner-Secret headers go out too."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, partner_headers=True)
    sent = _run_auth(
        KBankAuth(settings), httpx2.Request("POST", "https://x.test", content=b'{"a":1}')
    )
    assert sent.headers["partner-id"] == KBANK_PARTNER_ID
    assert sent.headers["partner-secret"] == KBANK_PARTNER_SECRET


def test_kbank_request_dt_in_the_portal_examples_form():
    """request_dt=local-datetime sends Bangkok local time with milliseconds, as the examples do."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, request_dt="local-datetime")
    adapter = KBankAdapter(clock=lambda: 1562238042.411)  # 2019-07-04T11:00:42.411Z
    body = json.loads(adapter.build_request(settings, _kbank_prepared()).content or b"")
    assert body["requestDt"] == "2019-07-04T18:00:42.411"


def test_kbank_auth_leaves_a_non_json_body_alone():
    """A body that is not a JSON object goes out untouched."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)
    sent = _run_auth(KBankAuth(settings), httpx2.Request("POST", "https://x.test", content=b"[1"))
    assert sent.content == b"[1"


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


def test_kbank_auth_adds_no_second_copy_of_fields_a_body_already_has():
    """A generated request model carries the credentials itself: no key is sent twice."""
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET)
    model_body = json.dumps(
        {
            "partnerTxnUid": "T1",
            "partnerId": KBANK_PARTNER_ID,
            "partnerSecret": "from-model",
            "requestDt": 1,
            "tokenId": "T",
            "reference1": "R",
        }
    ).encode()
    sent = _run_auth(
        KBankAuth(settings), httpx2.Request("POST", "https://x.test", content=model_body)
    )
    pairs = json.loads(sent.content, object_pairs_hook=list)
    keys = [key for key, _ in pairs]
    assert sorted(keys) == sorted(set(keys))
    assert dict(pairs)["partnerSecret"] == "from-model"  # the caller's body is kept as sent
    partial = json.dumps({"partnerId": KBANK_PARTNER_ID, "tokenId": "T"}).encode()
    sent = _run_auth(KBankAuth(settings), httpx2.Request("POST", "https://x.test", content=partial))
    assert (
        json.loads(sent.content)["partnerSecret"] == KBANK_PARTNER_SECRET
    )  # only what was missing
    assert [k for k, _ in json.loads(sent.content, object_pairs_hook=list)].count("partnerId") == 1
