"""Provider authentication as `httpx2.Auth` classes, plus the pure helpers they are built from.

The contract tests and the sandbox reuse the pure helpers, so client and emulator agree on the
wire format by construction:

- KBank: `Partner-Id` and `Partner-Secret` headers, and the same values as `partnerId` and
  `partnerSecret` in the JSON body, with `requestDt` (epoch seconds, now) and `partnerTxnUid`
  (kept when the body carries one, else fresh: at most 15 characters, unique).
- Solidgate: `merchant` (the public key) and `signature` over exactly the bytes sent.
- Xendit: HTTP Basic (secret key, empty password) and `api-version: 2024-11-11`.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import time
from collections.abc import Callable, Generator

import httpx2

from ._settings import KBankSettings, SolidgateSettings, XenditSettings
from ._signing import solidgate_signature

__all__ = [
    "XENDIT_API_VERSION",
    "KBankAuth",
    "SolidgateAuth",
    "XenditAuth",
    "kbank_credential_headers",
    "new_partner_txn_uid",
    "xendit_authorization",
]

XENDIT_API_VERSION = "2024-11-11"
PARTNER_TXN_UID_MAX_LENGTH = 15

_BASE36 = string.digits + string.ascii_uppercase
_TIME_DIGITS = 8  # milliseconds since the epoch in base 36 fit in 8 digits until the 2080s
_RANDOM_DIGITS = PARTNER_TXN_UID_MAX_LENGTH - _TIME_DIGITS
_TIME_SPAN = 36**_TIME_DIGITS
_RANDOM_SPAN = 36**_RANDOM_DIGITS


def kbank_credential_headers(settings: KBankSettings) -> dict[str, str]:
    """Return KBank's credential headers, `Partner-Id` and `Partner-Secret`."""
    return {"Partner-Id": settings.partner_id, "Partner-Secret": settings.partner_secret}


def xendit_authorization(secret_key: str) -> str:
    """Return Xendit's `Authorization` value: Basic, secret key as user, empty password."""
    token = base64.b64encode(f"{secret_key}:".encode()).decode("ascii")
    return f"Basic {token}"


def new_partner_txn_uid() -> str:
    """Return a fresh KBank `partnerTxnUid`: 15 base-36 characters, time-ordered then random.

    Eight characters of milliseconds keep ids from different moments apart; seven random ones
    (36**7, about 7.8e10 values) keep ids minted in the same millisecond apart.
    """
    # One number whose 15 base-36 digits are the time digits then the random ones: a single
    # call for randomness (each call costs a system call) and one digit loop.
    millis = time.time_ns() // 1_000_000 % _TIME_SPAN
    value = millis * _RANDOM_SPAN + secrets.randbelow(_RANDOM_SPAN)
    digits = ""
    for _ in range(PARTNER_TXN_UID_MAX_LENGTH):
        value, digit = divmod(value, 36)
        digits = _BASE36[digit] + digits
    return digits


class KBankAuth(httpx2.Auth):
    """Put KBank's credentials in the headers and the JSON body of each request.

    The body's `partnerId` and `partnerSecret` are set to the configured values (so headers and
    body always agree), `requestDt` to the current epoch seconds, and `partnerTxnUid` to a fresh
    id unless the body already carries one. A body that is not a JSON object is left as it is.
    """

    requires_request_body = True

    def __init__(
        self,
        settings: KBankSettings,
        *,
        clock: Callable[[], float] = time.time,
        new_txn_uid: Callable[[], str] = new_partner_txn_uid,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._new_txn_uid = new_txn_uid

    def __repr__(self) -> str:
        return f"KBankAuth(partner_id={self._settings.partner_id!r})"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Add the credential headers and complete the body's credential fields."""
        # One assignment per header: `Headers.update` rebuilds a Headers object each time and
        # costs several times as much for the same result.
        headers = request.headers
        for name, value in kbank_credential_headers(self._settings).items():
            headers[name] = value
        yield self._with_completed_body(request)

    def _with_completed_body(self, request: httpx2.Request) -> httpx2.Request:
        try:
            body = json.loads(request.content)
        except ValueError:
            return request
        if not isinstance(body, dict):
            return request
        partner_id = self._settings.partner_id
        partner_secret = self._settings.partner_secret
        request_dt = int(self._clock())
        txn_uid = body.get("partnerTxnUid")
        has_txn_uid = isinstance(txn_uid, str) and bool(txn_uid)
        if (
            has_txn_uid
            and body.get("partnerId") == partner_id
            and body.get("partnerSecret") == partner_secret
            and body.get("requestDt") == request_dt
        ):
            # Already complete (the client builds its bodies this way): send it unchanged.
            return request
        completed = dict(body)
        completed["partnerId"] = partner_id
        completed["partnerSecret"] = partner_secret
        completed["requestDt"] = request_dt
        if not has_txn_uid:
            completed["partnerTxnUid"] = self._new_txn_uid()
        if completed == body:
            return request
        content = json.dumps(completed, ensure_ascii=False, separators=(",", ":")).encode()
        headers = request.headers.copy()
        del headers["Content-Length"]
        return httpx2.Request(
            request.method,
            request.url,
            headers=headers,
            content=content,
            extensions=request.extensions,
        )


class SolidgateAuth(httpx2.Auth):
    """Sign each Solidgate request: `merchant` header and `signature` over the bytes sent."""

    requires_request_body = True

    def __init__(self, settings: SolidgateSettings) -> None:
        self._settings = settings

    def __repr__(self) -> str:
        return "SolidgateAuth(public_key=<hidden>)"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Sign `request.content`, the exact bytes httpx2 will send."""
        request.headers["merchant"] = self._settings.public_key
        request.headers["signature"] = solidgate_signature(
            self._settings.public_key, self._settings.secret_key, request.content
        )
        yield request


class XenditAuth(httpx2.Auth):
    """HTTP Basic with the secret key as user name, and Xendit's `api-version` header."""

    def __init__(self, settings: XenditSettings) -> None:
        self._authorization = xendit_authorization(settings.secret_key)

    def __repr__(self) -> str:
        return "XenditAuth(secret_key=<hidden>)"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Add `Authorization` and, unless the caller chose one, `api-version`."""
        request.headers["Authorization"] = self._authorization
        request.headers.setdefault("api-version", XENDIT_API_VERSION)
        yield request
