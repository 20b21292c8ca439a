"""The baselines: the same cancel call hand-built, as an engineer would write glue, per provider.

Each provider's `Baseline` (in `BASELINES`, keyed by the provider's registry name) knows how to
build exactly the request the typed client makes (same URL, headers, body and signing) and how
to check the answer the way a careful hand-written caller does: decode the JSON and look at the
provider's success marker. Nothing more: no validation, no error mapping, no retry. The same
request and check serve raw httpx2 (`client.post(url, headers=..., content=...)`), raw httpx2
on the aiohttp transport, and raw aiohttp (`session.post(url, headers=..., data=...)`).

A hand-written baseline is per provider by nature; the benchmark itself only loops over the
registry and looks its provider up here. Each baseline also carries the benchmark's data for
its provider: a sample token, a canned success answer, and well-formed synthetic ids.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tokencancel.providers.solidgate import solidgate_signature

XENDIT_API_VERSION = "2024-11-11"

Token = tuple[str, "str | None"]
"""A token id and the per-token field some providers need (KBank's reference1)."""
RawCall = tuple[str, dict[str, str], bytes | None]
"""What `client.post` needs: URL, headers, body bytes (None for no body)."""
RequestBuilder = Callable[[str, "str | None"], RawCall]
AnswerCheck = Callable[[int, bytes], None]
"""Takes the answer's status and body; raises `RawCallFailedError` unless it is the success."""


class RawCallFailedError(RuntimeError):
    """The provider's answer was not the success the benchmark expects."""


@dataclass(frozen=True)
class Baseline:
    """One provider's hand-built call and the benchmark's data for it."""

    raw: Callable[[Mapping[str, str]], tuple[RequestBuilder, AnswerCheck]]
    """From the provider's environment variables: the request builder and the answer check."""
    sample_token: Token
    canned_answer: Callable[[str, str | None], bytes]
    synthetic: Callable[[int], Token]
    """The n-th well-formed token for a server that checks nothing."""


def _expect(provider: str, key: str, value: str) -> AnswerCheck:
    def check(status: int, content: bytes) -> None:
        body: Any = json.loads(content)
        if status != 200 or body.get(key) != value:  # noqa: PLR2004
            raise RawCallFailedError(f"{provider} answered {status}")

    return check


def xendit(env: Mapping[str, str]) -> tuple[RequestBuilder, AnswerCheck]:
    """Build Xendit's cancel: POST with HTTP Basic and `api-version`, no body."""
    base_url = env.get("XENDIT_BASE_URL", "https://api.xendit.co")
    headers = {
        "Authorization": "Basic "
        + base64.b64encode(f"{env['XENDIT_SECRET_KEY']}:".encode()).decode(),
        "api-version": XENDIT_API_VERSION,
    }

    def build(token_id: str, _reference1: str | None) -> RawCall:
        return f"{base_url}/v3/payment_tokens/{token_id}/cancel", headers, None

    return build, _expect("xendit", "status", "CANCELED")


def solidgate(env: Mapping[str, str]) -> tuple[RequestBuilder, AnswerCheck]:
    """Build Solidgate's revoke: compact JSON body, `merchant` and the body's signature."""
    base_url = env["SOLIDGATE_BASE_URL"]
    public_key, secret_key = env["SOLIDGATE_PUBLIC_KEY"], env["SOLIDGATE_SECRET_KEY"]

    def build(token_id: str, _reference1: str | None) -> RawCall:
        body = json.dumps({"token": token_id}, separators=(",", ":")).encode()
        headers = {
            "merchant": public_key,
            "signature": solidgate_signature(public_key, secret_key, body),
            "Content-Type": "application/json",
        }
        return f"{base_url}/v1/recurring-token/cancel", headers, body

    return build, _expect("solidgate", "status", "processing")


def kbank(env: Mapping[str, str]) -> tuple[RequestBuilder, AnswerCheck]:
    """Build KBank's cancel: credentials in headers and body, a fresh partnerTxnUid, requestDt."""
    base_url = env["KBANK_BASE_URL"]
    partner_id, partner_secret = env["KBANK_PARTNER_ID"], env["KBANK_PARTNER_SECRET"]
    headers = {
        "Partner-Id": partner_id,
        "Partner-Secret": partner_secret,
        "Content-Type": "application/json",
    }

    def build(token_id: str, reference1: str | None) -> RawCall:
        body = {
            "partnerTxnUid": secrets.token_hex(8)[:15].upper(),
            "partnerId": partner_id,
            "partnerSecret": partner_secret,
            "requestDt": int(time.time()),
            "tokenId": token_id,
            "reference1": reference1,
        }
        content = json.dumps(body, separators=(",", ":")).encode()
        return f"{base_url}/kplus/payment/cancel-token", headers, content

    return build, _expect("kbank", "statusCode", "00")


def _xendit_answer(token_id: str, _reference1: str | None) -> bytes:
    return json.dumps(
        {
            "payment_token_id": token_id,
            "business_id": "5f27a14a9bf05c73dd040bc8",
            "reference_id": "bench",
            "customer_id": "cust-b98d6f63-d240-44ec-9bd5-aa42954c4f48",
            "country": "ID",
            "currency": "IDR",
            "channel_code": "OVO",
            "status": "CANCELED",
            "created": "2029-12-31T23:59:59Z",
            "updated": "2029-12-31T23:59:59Z",
        }
    ).encode()


def _kbank_answer(token_id: str, reference1: str | None) -> bytes:
    return json.dumps(
        {
            "partnerTxnUid": "BENCH0000000001",
            "partnerId": "KP2SBX000000001",
            "statusCode": "00",
            "errorCode": None,
            "errorDesc": None,
            "tokenList": [{"tokenId": token_id, "reference1": reference1, "status": "CANCELLED"}],
        }
    ).encode()


BASELINES: dict[str, Baseline] = {
    "xendit": Baseline(
        raw=xendit,
        sample_token=("pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1", None),
        canned_answer=_xendit_answer,
        synthetic=lambda n: (f"pt-{n:08d}-0000-4000-8000-000000000000", None),
    ),
    "solidgate": Baseline(
        raw=solidgate,
        sample_token=("923bb4e6-4a5f-41ec-81fb-28eb8a152e55", None),
        canned_answer=lambda _token, _reference1: b'{"status": "processing"}',
        synthetic=lambda n: (f"{n:08d}-0000-4000-8000-000000000000", None),
    ),
    "kbank": Baseline(
        raw=kbank,
        sample_token=("KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B", "ORDER-0001"),
        canned_answer=_kbank_answer,
        synthetic=lambda n: (f"KP2SBX000000001{n:032X}", f"REF{n:07d}"),
    ),
}
