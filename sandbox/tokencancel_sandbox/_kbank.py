"""KBank K PLUS Cancel Token: credentials twice, outcome in `statusCode` under HTTP 200.

KBank publishes no error-code table. The sandbox's codes are its own documented conventions:
`INVALID_REQUEST`, `AUTHENTICATION_FAILED`, `TOKEN_NOT_FOUND`, `TOKEN_ALREADY_CANCELLED`,
`TOO_MANY_REQUESTS` (HTTP 429), and the portal's own `KP9999` "kbank internal error" for
injected server errors (HTTP 500/503).

Order of checks: credentials in the headers, then (the body being a JSON object) the credentials
in the body, which must match too; then the spec; then the token.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from tokencancel_sandbox._answers import Answer, json_answer
from tokencancel_sandbox._emulator import Call, Emulator, constant_time_equal, kbank_local
from tokencancel_sandbox._spec import Problem, parse_json
from tokencancel_sandbox._store import CancelAttempt, Token

__all__ = ["KBankEmulator"]

_DOCUMENTED_STATUS = 200  # KBank documents its answers under HTTP 200 only

ACTIVE = "ACTIVE"
CANCELLED = "CANCELLED"


class KBankEmulator(Emulator):
    """KBank: partner credentials in headers and body, answers in `statusCode`."""

    name: ClassVar[str] = "kbank"
    statuses: ClassVar[tuple[str, ...]] = (ACTIVE, CANCELLED)
    default_status: ClassVar[str] = ACTIVE
    extra_fields: ClassVar[frozenset[str]] = frozenset({"reference1"})
    example_token_ids: ClassVar[tuple[str, ...]] = (
        "KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B",
    )

    def authenticate(self, call: Call) -> Answer | None:
        """Headers first; then, if the body is a JSON object, its credentials must match."""
        expected = self.config.kbank
        headers_match = constant_time_equal(
            call.headers.get("partner-id"), expected.partner_id
        ) & constant_time_equal(call.headers.get("partner-secret"), expected.partner_secret)
        if not headers_match:
            return self._error(
                call,
                "AUTHENTICATION_FAILED",
                "Partner-Id and Partner-Secret headers are missing or wrong",
            )
        body = _body_object(call)
        if body is None:
            return None  # not a JSON object: the spec check answers INVALID_REQUEST
        body_id, body_secret = body.get("partnerId"), body.get("partnerSecret")
        body_matches = constant_time_equal(
            body_id if isinstance(body_id, str) else None, expected.partner_id
        ) & constant_time_equal(
            body_secret if isinstance(body_secret, str) else None, expected.partner_secret
        )
        if not body_matches:
            return self._error(
                call,
                "AUTHENTICATION_FAILED",
                "partnerId and partnerSecret in the body must match the headers' credentials",
            )
        return None

    def invalid_request(self, call: Call, problems: list[Problem]) -> Answer:
        """INVALID_REQUEST, naming every field that breaks the spec."""
        details = "; ".join(problem.describe() for problem in problems)
        return self._error(call, "INVALID_REQUEST", f"invalid request: {details}")

    def rate_limited(self, call: Call, limit: int, reset_after: float) -> Answer:
        """HTTP 429 with a KBank-shaped body and Retry-After (KBank documents no limit)."""
        answer = self._error(call, "TOO_MANY_REQUESTS", "too many requests, retry later", 429)
        retry_after = str(max(1, math.ceil(reset_after)))
        return Answer(
            answer.status, answer.body, answer.content_type, (("Retry-After", retry_after),)
        )

    def server_fault(self, call: Call, body: Any, fault: str) -> Answer:
        """429 as `rate_limited`; 500 and 503 with the portal's KP9999 internal error."""
        if fault == "429":
            return self.rate_limited(call, 0, self.config.fault_rate_limit_reset_seconds)
        return self._error(call, "KP9999", "kbank internal error", int(fault))

    def target(self, call: Call, body: Any) -> tuple[str, str | None]:
        """`tokenId` and `reference1` of the (validated) body."""
        return str(body["tokenId"]), str(body["reference1"])

    def transition(self, token: Token, now: float) -> str:
        """ACTIVE becomes CANCELLED; CANCELLED stays."""
        if token.status == ACTIVE:
            token.status = CANCELLED
            token.updated = now
            return "cancelled"
        return "already_cancelled"

    def answer(self, call: Call, body: Any, attempt: CancelAttempt) -> Answer:
        """`00` with the cancelled token, or `10` with TOKEN_NOT_FOUND/TOKEN_ALREADY_CANCELLED."""
        if attempt.outcome == "not_found" or attempt.token is None:
            return self._error(call, "TOKEN_NOT_FOUND", "token not found")
        if attempt.outcome == "already_cancelled":
            return self._error(call, "TOKEN_ALREADY_CANCELLED", "token is already cancelled")
        return json_answer(
            200,
            {
                "partnerTxnUid": body["partnerTxnUid"],
                "partnerId": body["partnerId"],
                "statusCode": "00",
                "errorCode": None,
                "errorDesc": None,
                "tokenList": [
                    {
                        "tokenId": attempt.token.token_id,
                        "reference1": body["reference1"],
                        "status": CANCELLED,
                    }
                ],
                "responseDt": kbank_local(),
            },
        )

    def new_token_id(self) -> str:
        """The partner id followed by 32 upper-case hex characters, as KBank's examples."""
        return self.config.kbank.partner_id + uuid.uuid4().hex.upper()

    def check_extras(self, extras: Mapping[str, Any]) -> str | None:
        """`reference1`, when given, is a non-empty string."""
        reference1 = extras.get("reference1")
        if "reference1" in extras and not (isinstance(reference1, str) and reference1):
            return "reference1 must be a non-empty string"
        return None

    def _error(self, call: Call, code: str, description: str, http_status: int = 200) -> Answer:
        body = _body_object(call) or {}
        echo = {
            name: value if isinstance(value, str) else None
            for name, value in (
                ("partnerTxnUid", body.get("partnerTxnUid")),
                ("partnerId", body.get("partnerId")),
            )
        }
        return json_answer(
            http_status,
            {
                **echo,
                "statusCode": "10",
                "errorCode": code,
                "errorDesc": description,
                "tokenList": None,
                "responseDt": kbank_local(),
            },
            documented=http_status == _DOCUMENTED_STATUS,
        )


def _body_object(call: Call) -> dict[str, Any] | None:
    parsed, ok = parse_json(call.raw_body)
    return parsed if ok and isinstance(parsed, dict) else None
