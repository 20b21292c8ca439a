"""Xendit Payments API v3 cancel: HTTP Basic, outcome in the HTTP status and `error_code`.

Order of checks: the secret key (Basic, empty password); then the spec (path id length,
`api-version`); then the token. Statuses are the spec's `PaymentToken.status` values: ACTIVE and
REQUIRES_ACTION cancel; FAILED, EXPIRED and CANCELED are INACTIVE_PAYMENT_REQUEST; PENDING, and
any status the spec adds whose meaning the sandbox does not know, are
INELIGIBLE_TRANSACTION_STATUS. Every error code the sandbox answers must be listed for its HTTP
status in the spec, or the sandbox refuses to start.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from tokencancel_sandbox._answers import Answer, json_answer
from tokencancel_sandbox._config import SandboxConfig
from tokencancel_sandbox._emulator import (
    Call,
    Emulator,
    constant_time_equal,
    format_seconds,
    iso_utc,
)
from tokencancel_sandbox._spec import Problem, ProviderSpec, schema_problems
from tokencancel_sandbox._store import CancelAttempt, Token
from tokencancel_sandbox._vocabulary import NovelWords, property_values, require_listed

__all__ = ["XenditEmulator"]

ACTIVE = "ACTIVE"
CANCELED = "CANCELED"
_CANCELLABLE = frozenset({ACTIVE, "REQUIRES_ACTION"})
_INACTIVE = frozenset({"FAILED", "EXPIRED", CANCELED})

INACTIVE_PAYMENT_REQUEST = "INACTIVE_PAYMENT_REQUEST"
INELIGIBLE_TRANSACTION_STATUS = "INELIGIBLE_TRANSACTION_STATUS"
API_VALIDATION_ERROR = "API_VALIDATION_ERROR"
DATA_NOT_FOUND = "DATA_NOT_FOUND"

#: The error codes the sandbox answers, by HTTP status: each must be listed in the spec.
_ANSWERED_CODES = {
    400: (INACTIVE_PAYMENT_REQUEST, INELIGIBLE_TRANSACTION_STATUS, API_VALIDATION_ERROR),
    401: ("INVALID_API_KEY",),
    404: (DATA_NOT_FOUND,),
    429: ("RATE_LIMIT_EXCEEDED",),
    500: ("SERVER_ERROR",),
    503: ("CHANNEL_UNAVAILABLE",),
}

_DEFAULT_LIMIT = 60  # Xendit's test-mode limit, announced by the 429 fault


class XenditEmulator(Emulator):
    """Xendit: Basic auth with the secret key; the payment token or an `error_code`."""

    name: ClassVar[str] = "xendit"
    default_status: ClassVar[str] = ACTIVE
    extra_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "reference_id",
            "customer_id",
            "country",
            "currency",
            "channel_code",
            "metadata",
            "description",
        }
    )
    example_token_ids: ClassVar[tuple[str, ...]] = ("pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1",)

    def __init__(self, config: SandboxConfig, spec: ProviderSpec) -> None:
        super().__init__(config, spec)
        self.statuses = property_values(self.answer_schema("200"), "status")
        require_listed(
            (ACTIVE, CANCELED),
            self.statuses,
            spec=str(spec.path),
            what="payment token status(es)",
            why="for a token before and after a cancel",
        )
        #: The spec's error codes for each documented HTTP status.
        self.error_codes: dict[int, tuple[str, ...]] = {
            int(status): property_values(self.answer_schema(status), "error_code")
            for status in self.spec.operation(self.operation_id).answer_schemas
            if status.isdigit()
        }
        for status, codes in _ANSWERED_CODES.items():
            require_listed(
                codes,
                self.error_codes.get(status, ()),
                spec=str(spec.path),
                what=f"HTTP {status} error_code(s)",
                why=f"with HTTP {status}",
            )
        known = {code for codes in self.error_codes.values() for code in codes}
        self.novel = NovelWords({*self.statuses, *known})

    def authenticate(self, call: Call) -> Answer | None:
        """401 INVALID_API_KEY unless Basic carries the secret key and an empty password."""
        if constant_time_equal(
            _basic_user(call.headers.get("authorization")), self.config.xendit.secret_key
        ):
            return None
        return _error(401, "INVALID_API_KEY", "API key is not authorized for this API service")

    def invalid_request(self, call: Call, problems: list[Problem]) -> Answer:
        """400 API_VALIDATION_ERROR with one `{path, message}` per problem."""
        return _error(
            400,
            API_VALIDATION_ERROR,
            "Fields or values in the payment request does not comply with our API "
            "specification. Check the specific error message for debugging.",
            errors=[{"path": p.field, "message": p.message} for p in problems],
        )

    def rate_limited(self, call: Call, limit: int, reset_after: float) -> Answer:
        """429 RATE_LIMIT_EXCEEDED with Rate-Limit-Limit/-Remaining/-Reset, no Retry-After."""
        headers = (
            ("Rate-Limit-Limit", str(limit)),
            ("Rate-Limit-Remaining", "0"),
            ("Rate-Limit-Reset", format_seconds(reset_after)),
        )
        return json_answer(
            429,
            {
                "error_code": "RATE_LIMIT_EXCEEDED",
                "message": "You have exceeded the rate limit for this endpoint",
            },
            headers=headers,
        )

    def server_fault(self, call: Call, body: Any, fault: str) -> Answer:
        """429 as `rate_limited`; 500 SERVER_ERROR; 503 CHANNEL_UNAVAILABLE."""
        if fault == "429":
            configured = self.config.rate_limits.get(self.name)
            limit = configured.requests if configured else _DEFAULT_LIMIT
            return self.rate_limited(call, limit, self.config.fault_rate_limit_reset_seconds)
        if fault == "503":
            return _error(
                503,
                "CHANNEL_UNAVAILABLE",
                "The channel requested is currently experiencing unexpected issues. The provider "
                "will be notified to resolve this issue.",
            )
        return _error(
            500,
            "SERVER_ERROR",
            "An unexpected error occured, our team has been notified and will troubleshoot the "
            "issue",
        )

    def target(self, call: Call, body: Any) -> tuple[str, str | None]:
        """The `payment_token_id` path parameter."""
        return call.path_params["payment_token_id"], None

    def transition(self, token: Token, now: float) -> str:
        """ACTIVE/REQUIRES_ACTION become CANCELED; PENDING is ineligible; the rest inactive."""
        if token.status in _CANCELLABLE:
            token.status = CANCELED
            token.updated = now
            return "cancelled"
        return "inactive" if token.status in _INACTIVE else "ineligible"

    def answer(self, call: Call, body: Any, attempt: CancelAttempt) -> Answer:
        """200 with the payment token, or the 400/404 saying why not.

        In the unknown vocabulary, the codes and the cancelled token's status are novel.
        """
        token = attempt.token
        novel = self.unknown_vocabulary
        if attempt.outcome == "not_found" or token is None:
            if novel:
                return _error(404, self.novel.code(), self.novel.text())
            return _error(404, DATA_NOT_FOUND, "ID specified in request cannot be found.")
        if attempt.outcome in {"inactive", "ineligible"} and novel:
            return _error(400, self.novel.code(), self.novel.text())
        if attempt.outcome == "inactive":
            return _error(400, INACTIVE_PAYMENT_REQUEST, "Payment request is already inactive.")
        if attempt.outcome == "ineligible":
            return _error(
                400,
                INELIGIBLE_TRANSACTION_STATUS,
                "Feature is not allowed for the payment request because of its current status. "
                "Check the specific error message for debugging.",
            )
        payment_token = self._payment_token(token)
        if novel:
            payment_token["status"] = self.novel.status()
        return json_answer(200, payment_token)

    def new_token_id(self) -> str:
        """`pt-` and a UUID4: 39 characters, as the spec requires."""
        return f"pt-{uuid.uuid4()}"

    def check_extras(self, extras: Mapping[str, Any]) -> str | None:
        """Extras must be valid PaymentToken fields (checked with the spec's own schema)."""
        validator = self.spec.schema_validator("components", "schemas", "PaymentToken")
        problems = schema_problems(validator, dict(extras), "body")
        return "; ".join(problem.describe() for problem in problems) or None

    def new_token(self, token_id: str, status: str, now: float, **fields: Any) -> Token:
        """Fill in the payment token's fields the control API did not set."""
        defaults = {
            "reference_id": f"sandbox-{uuid.uuid4().hex[:12]}",
            "customer_id": f"cust-{uuid.uuid4()}",
            "country": "ID",
            "currency": "IDR",
            "channel_code": "OVO",
        }
        fields["details"] = {**defaults, **fields.get("details", {})}
        return super().new_token(token_id, status, now, **fields)

    def _payment_token(self, token: Token) -> dict[str, Any]:
        payment_token: dict[str, Any] = {
            "payment_token_id": token.token_id,
            "business_id": self.config.xendit_business_id,
            **token.details,
            "channel_properties": {
                "success_return_url": "https://sandbox.invalid/success",
                "failure_return_url": "https://sandbox.invalid/failure",
            },
            "actions": [],
            "status": token.status,
            "created": iso_utc(token.created),
            "updated": iso_utc(token.updated),
        }
        return payment_token


def _basic_user(authorization: str | None) -> str | None:
    """The user name of a Basic header with an empty password, else None."""
    if authorization is None:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        # binascii.Error: not base64; ValueError: characters outside ASCII (a header is read as
        # latin-1, so any byte can arrive); UnicodeDecodeError: not UTF-8 once decoded.
        return None
    user, separator, password = decoded.partition(":")
    return user if separator and not password else None


def _error(status: int, code: str, message: str, errors: list[Any] | None = None) -> Answer:
    body: dict[str, Any] = {"error_code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return json_answer(status, body)
