"""Solidgate Revoke token: a signed body, every documented answer under HTTP 200.

Order of checks: the `merchant` header and the body signature (over the exact bytes received,
with the overlay's own signing function, compared in constant time); then the spec; then the
token. A successful cancel answers `processing`; the token becomes `cancelled`
`cancel_settle_seconds` later, as Solidgate's asynchronous revocation does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, ClassVar

from tokencancel.providers.solidgate import solidgate_signature_matches

from tokencancel_sandbox._answers import Answer, json_answer
from tokencancel_sandbox._emulator import Call, Emulator, constant_time_equal
from tokencancel_sandbox._spec import Problem
from tokencancel_sandbox._store import CancelAttempt, Token

__all__ = ["SolidgateEmulator"]

ACTIVE = "active"
PROCESSING = "processing"
CANCELLED = "cancelled"
#: A token whose payment method cannot be revoked (only alipay, mbway and wechatpay can).
UNSUPPORTED = "unsupported"

_INVALID_DATA = "2.01"


class SolidgateEmulator(Emulator):
    """Solidgate: `merchant` + `signature` headers; outcome in the body."""

    name: ClassVar[str] = "solidgate"
    statuses: ClassVar[tuple[str, ...]] = (ACTIVE, PROCESSING, CANCELLED, UNSUPPORTED)
    default_status: ClassVar[str] = ACTIVE
    example_token_ids: ClassVar[tuple[str, ...]] = ("923bb4e6-4a5f-41ec-81fb-28eb8a152e55",)

    def authenticate(self, call: Call) -> Answer | None:
        """`1.01` unless `merchant` is the public key and `signature` signs the raw body."""
        keys = self.config.solidgate
        signature = call.headers.get("signature")
        merchant_ok = constant_time_equal(call.headers.get("merchant"), keys.public_key)
        signature_ok = signature is not None and solidgate_signature_matches(
            keys.public_key, keys.secret_key, call.raw_body, signature
        )
        if merchant_ok and signature_ok:
            return None
        return json_answer(200, {"error": {"code": "1.01", "messages": ["Authentication failed"]}})

    def invalid_request(self, call: Call, problems: list[Problem]) -> Answer:
        """`2.01` with messages keyed by field (`general` for the body as a whole)."""
        messages: defaultdict[str, list[str]] = defaultdict(list)
        for problem in problems:
            if problem.location == "body" and problem.field:
                messages[problem.field].append(problem.message)
            else:
                messages["general"].append(problem.describe())
        return _invalid_data(dict(messages))

    def rate_limited(self, call: Call, limit: int, reset_after: float) -> Answer:
        """HTTP 429 with code `5.07`, as Solidgate answers when API call limits are exceeded."""
        return json_answer(
            429, {"error": {"code": "5.07", "messages": ["Exceeded API calls limits"]}}
        )

    def server_fault(self, call: Call, body: Any, fault: str) -> Answer:
        """429 as `rate_limited`; 503 and 500 with a `6.01` gateway error (500 is undocumented)."""
        if fault == "429":
            return self.rate_limited(call, 0, self.config.fault_rate_limit_reset_seconds)
        if fault == "503":
            messages = ["Service temporarily unavailable"]
            return json_answer(503, {"error": {"code": "6.01", "messages": messages}})
        return json_answer(
            500,
            {"error": {"code": "6.01", "messages": ["Internal server error"]}},
            documented=False,
        )

    def target(self, call: Call, body: Any) -> tuple[str, str | None]:
        """The body's `token`."""
        return str(body["token"]), None

    def transition(self, token: Token, now: float) -> str:
        """An active token becomes processing (cancelled after the settle time); others refuse."""
        if token.status == ACTIVE:
            token.status = PROCESSING
            token.updated = now
            self._schedule_settle(token, now)
            return "accepted"
        return {
            PROCESSING: "already_processing",
            CANCELLED: "already_cancelled",
        }.get(token.status, "unsupported")

    def answer(self, call: Call, body: Any, attempt: CancelAttempt) -> Answer:
        """`processing`, or `2.01` saying why not."""
        if attempt.outcome == "accepted":
            return json_answer(200, {"status": "processing"})
        reasons = {
            "already_processing": {"token": ["recurring token cancellation already processing"]},
            "already_cancelled": {"token": ["recurring token already cancelled"]},
            "unsupported": {
                "token": ["recurring token payment method does not support cancellation"]
            },
        }
        return _invalid_data(
            reasons.get(attempt.outcome, {"general": ["recurring token was not found"]})
        )

    def new_token_id(self) -> str:
        """A UUID4, as Solidgate's recurring tokens."""
        return str(uuid.uuid4())

    def new_token(self, token_id: str, status: str, now: float, **fields: Any) -> Token:
        """A token created `processing` settles to cancelled like a cancelled one."""
        token = super().new_token(token_id, status, now, **fields)
        if status == PROCESSING:
            self._schedule_settle(token, now)
        return token

    def _schedule_settle(self, token: Token, now: float) -> None:
        token.settles_to = CANCELLED
        token.settles_at = now + self.config.cancel_settle_seconds


def _invalid_data(messages: dict[str, list[str]]) -> Answer:
    return json_answer(200, {"error": {"code": _INVALID_DATA, "messages": messages}})
