"""The baseline: the same cancel call, hand-built on raw httpx2, as an engineer would write glue.

Each builder returns exactly the request the typed client makes (same URL, headers, body and
signing), sent with `client.post(url, headers=..., content=...)` on a shared httpx2 client, the way
glue code is written; the check does the minimum a careful hand-written caller does with the
answer: decode the JSON and look at the provider's success marker. Nothing more: no validation,
no error mapping, no retry.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx2
from tokencancel.providers.solidgate import solidgate_signature

XENDIT_API_VERSION = "2024-11-11"

RawCall = tuple[str, dict[str, str], bytes | None]
"""What `client.post` needs: URL, headers, body bytes (None for no body)."""
RequestBuilder = Callable[[str, "str | None"], RawCall]
AnswerCheck = Callable[[httpx2.Response], None]


class RawCallFailedError(RuntimeError):
    """The provider's answer was not the success the benchmark expects."""


def xendit(base_url: str, secret_key: str) -> tuple[RequestBuilder, AnswerCheck]:
    """Build Xendit's cancel: POST with HTTP Basic and `api-version`, no body."""
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode(),
        "api-version": XENDIT_API_VERSION,
    }

    def build(token_id: str, _reference1: str | None) -> RawCall:
        return f"{base_url}/v3/payment_tokens/{token_id}/cancel", headers, None

    def check(response: httpx2.Response) -> None:
        body: Any = response.json()
        if response.status_code != 200 or body.get("status") != "CANCELED":  # noqa: PLR2004
            raise RawCallFailedError(f"xendit answered {response.status_code}")

    return build, check


def solidgate(
    base_url: str, public_key: str, secret_key: str
) -> tuple[RequestBuilder, AnswerCheck]:
    """Build Solidgate's revoke: compact JSON body, `merchant` and the body's signature."""

    def build(token_id: str, _reference1: str | None) -> RawCall:
        body = json.dumps({"token": token_id}, separators=(",", ":")).encode()
        headers = {
            "merchant": public_key,
            "signature": solidgate_signature(public_key, secret_key, body),
            "Content-Type": "application/json",
        }
        return f"{base_url}/v1/recurring-token/cancel", headers, body

    def check(response: httpx2.Response) -> None:
        body: Any = response.json()
        if response.status_code != 200 or body.get("status") != "processing":  # noqa: PLR2004
            raise RawCallFailedError(f"solidgate answered {response.status_code}")

    return build, check


def kbank(
    base_url: str, partner_id: str, partner_secret: str
) -> tuple[RequestBuilder, AnswerCheck]:
    """Build KBank's cancel: credentials in headers and body, a fresh partnerTxnUid, requestDt."""
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

    def check(response: httpx2.Response) -> None:
        body: Any = response.json()
        if response.status_code != 200 or body.get("statusCode") != "00":  # noqa: PLR2004
            raise RawCallFailedError(f"kbank answered {response.status_code}")

    return build, check
