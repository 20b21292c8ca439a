"""KBank K PLUS Cancel Token: partner credentials, outcome in `statusCode` under HTTP 200.

KBank publishes no error-code table. The sandbox's codes are its own conventions (see
`_conventions` and `outcome-rules.toml`): `INVALID_REQUEST`, `AUTHENTICATION_FAILED`,
`TOKEN_NOT_FOUND`, `TOKEN_ALREADY_CANCELLED`, `TOO_MANY_REQUESTS` (HTTP 429); injected server
errors (HTTP 500/503) answer the portal's own `KP9999` "kbank internal error".

Token statuses: `ACTIVE` (the sandbox's word for a token no cancel has touched) and the spec's
`tokenList[].status` values (`CANCELLED`, and any the spec adds). A cancel turns ACTIVE into
CANCELLED; a cancelled token answers TOKEN_ALREADY_CANCELLED; a token in any other status is
"processed" as KBank's `00` describes it, with the token's own (unchanged) status in `tokenList`.

Order of checks: the `Partner-Id`/`Partner-Secret` headers (required in the `headers-and-body`
setting; in the default `body` setting only checked when sent); then, the body being a JSON
object, its `partnerId` and `partnerSecret`, which must match; then the spec; then the
`requestDt` setting; then the token.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from tokencancel_sandbox._answers import Answer, json_answer
from tokencancel_sandbox._config import SandboxConfig
from tokencancel_sandbox._conventions import (
    CONVENTIONS,
    KBANK_ACTIVE,
    KBANK_AUTHENTICATION_FAILED,
    KBANK_INVALID_REQUEST,
    KBANK_TOKEN_ALREADY_CANCELLED,
    KBANK_TOKEN_NOT_FOUND,
    KBANK_TOO_MANY_REQUESTS,
)
from tokencancel_sandbox._emulator import Call, Emulator, constant_time_equal, kbank_local
from tokencancel_sandbox._spec import Problem, ProviderSpec, parse_json
from tokencancel_sandbox._store import CancelAttempt, Token
from tokencancel_sandbox._vocabulary import NovelWords, property_values, require_listed

__all__ = ["KBankEmulator"]

_DOCUMENTED_STATUS = 200  # KBank documents its answers under HTTP 200 only

ACTIVE = KBANK_ACTIVE
CANCELLED = "CANCELLED"
SUCCESS = "00"
ERROR = "10"
#: KBank's own code: the portal's only error example ("kbank internal error").
INTERNAL_ERROR = "KP9999"

_REQUEST_DT_RULES = {
    "epoch-seconds": (
        int,
        "must be epoch seconds (an integer): the sandbox runs with kbank_request_dt=epoch-seconds",
    ),
    "local-datetime": (
        str,
        "must be a local date-time string such as 2019-07-04T18:00:42.411: the sandbox runs "
        "with kbank_request_dt=local-datetime",
    ),
}


class KBankEmulator(Emulator):
    """KBank: partner credentials in the body (and headers), answers in `statusCode`."""

    name: ClassVar[str] = "kbank"
    default_status: ClassVar[str] = ACTIVE
    extra_fields: ClassVar[frozenset[str]] = frozenset({"reference1"})
    example_token_ids: ClassVar[tuple[str, ...]] = (
        "KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B",
    )

    def __init__(self, config: SandboxConfig, spec: ProviderSpec) -> None:
        super().__init__(config, spec)
        answer = self.answer_schema("200")
        listed_statuses = property_values(answer, "status")
        require_listed(
            (CANCELLED,),
            listed_statuses,
            spec=str(spec.path),
            what="tokenList[].status value(s)",
            why="for a cancelled token",
        )
        require_listed(
            (SUCCESS, ERROR),
            property_values(answer, "statusCode"),
            spec=str(spec.path),
            what="statusCode value(s)",
            why="for success and for every refusal",
        )
        self.statuses = (ACTIVE, *(status for status in listed_statuses if status != ACTIVE))
        conventions = {c.error_code for c in CONVENTIONS if c.provider == self.name}
        self.novel = NovelWords({*self.statuses, INTERNAL_ERROR, *conventions})

    def authenticate(self, call: Call) -> Answer | None:
        """Headers (required, or when sent); then, if the body is a JSON object, its credentials."""
        expected = self.config.kbank
        sent_id, sent_secret = call.headers.get("partner-id"), call.headers.get("partner-secret")
        if self.config.kbank_credentials == "headers-and-body":
            headers_match = constant_time_equal(sent_id, expected.partner_id) & constant_time_equal(
                sent_secret, expected.partner_secret
            )
            problem = "Partner-Id and Partner-Secret headers are missing or wrong"
        else:
            # The current Cancel Token page has no header rows; a client that still sends the
            # headers must send the right values.
            headers_match = (
                sent_id is None or constant_time_equal(sent_id, expected.partner_id)
            ) & (sent_secret is None or constant_time_equal(sent_secret, expected.partner_secret))
            problem = "the Partner-Id or Partner-Secret header does not carry the credentials"
        if not headers_match:
            return self._error(call, KBANK_AUTHENTICATION_FAILED, problem)
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
                KBANK_AUTHENTICATION_FAILED,
                "partnerId and partnerSecret in the body are missing or wrong",
            )
        return None

    def setting_problems(self, call: Call, body: Any) -> list[Problem]:
        """`requestDt` in the one form the sandbox was told to accept, if it was told one."""
        rule = _REQUEST_DT_RULES.get(self.config.kbank_request_dt)
        if rule is None or not isinstance(body, dict):
            return []
        expected_type, message = rule
        if isinstance(body.get("requestDt"), expected_type):
            return []
        return [Problem("body", "requestDt", message)]

    def invalid_request(self, call: Call, problems: list[Problem]) -> Answer:
        """INVALID_REQUEST, naming every field that breaks the spec."""
        details = "; ".join(problem.describe() for problem in problems)
        return self._error(call, KBANK_INVALID_REQUEST, f"invalid request: {details}")

    def rate_limited(self, call: Call, limit: int, reset_after: float) -> Answer:
        """HTTP 429 with a KBank-shaped body and Retry-After (KBank documents no limit)."""
        answer = self._error(call, KBANK_TOO_MANY_REQUESTS, "too many requests, retry later", 429)
        retry_after = str(max(1, math.ceil(reset_after)))
        return Answer(
            answer.status, answer.body, answer.content_type, (("Retry-After", retry_after),)
        )

    def server_fault(self, call: Call, body: Any, fault: str) -> Answer:
        """429 as `rate_limited`; 500 and 503 with the portal's KP9999 internal error."""
        if fault == "429":
            return self.rate_limited(call, 0, self.config.fault_rate_limit_reset_seconds)
        return self._error(call, INTERNAL_ERROR, "kbank internal error", int(fault))

    def target(self, call: Call, body: Any) -> tuple[str, str | None]:
        """`tokenId` and `reference1` of the (validated) body."""
        return str(body["tokenId"]), str(body["reference1"])

    def transition(self, token: Token, now: float) -> str:
        """ACTIVE becomes CANCELLED; CANCELLED stays; any other status is left as it is."""
        if token.status == ACTIVE:
            token.status = CANCELLED
            token.updated = now
            return "cancelled"
        if token.status == CANCELLED:
            return "already_cancelled"
        return "unchanged"

    def answer(self, call: Call, body: Any, attempt: CancelAttempt) -> Answer:
        """`00` with the token's status, or `10` with TOKEN_NOT_FOUND/TOKEN_ALREADY_CANCELLED.

        In the unknown vocabulary, the error codes and the cancelled token's status are novel.
        """
        novel = self.unknown_vocabulary
        if attempt.outcome == "not_found" or attempt.token is None:
            if novel:
                return self._error(call, self.novel.code(), self.novel.text())
            return self._error(call, KBANK_TOKEN_NOT_FOUND, "token not found")
        if attempt.outcome == "already_cancelled":
            if novel:
                return self._error(call, self.novel.code(), self.novel.text())
            return self._error(call, KBANK_TOKEN_ALREADY_CANCELLED, "token is already cancelled")
        status = attempt.token.status
        return json_answer(
            200,
            {
                "partnerTxnUid": body["partnerTxnUid"],
                "partnerId": body["partnerId"],
                "statusCode": SUCCESS,
                "errorCode": None,
                "errorDesc": None,
                "tokenList": [
                    {
                        "tokenId": attempt.token.token_id,
                        "reference1": body["reference1"],
                        "status": self.novel.status() if novel else status,
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
                "statusCode": ERROR,
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
