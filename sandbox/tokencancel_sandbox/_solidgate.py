"""Solidgate Revoke token: a signed body, every documented answer under HTTP 200.

Order of checks: the `merchant` header and the body signature (over the exact bytes received,
with the overlay's own signing function, compared in constant time); then the spec; then the
token. A successful cancel answers `processing`; the token becomes `cancelled`
`cancel_settle_seconds` later, as Solidgate's asynchronous revocation does.

The `2.01` answers follow the cases Solidgate's API reference lists for Revoke token: token not
found (Solidgate's own text, `recurring token was not found`), unsupported method, token already
cancelled, cancellation already processing, and cancellation already concurrently processing (a
cancel arriving while another cancel of the same active token is still being handled, e.g.
held by the `slow` fault). Only the first text is Solidgate's verbatim; the others are the
sandbox's conventions (`_conventions`, `outcome-rules.toml`), except the concurrent case, whose
text is the case as Solidgate's reference names it. The token states (`active`, `processing`,
`cancelled`, `unsupported`) are the sandbox's model: Solidgate publishes none.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, ClassVar

from tokencancel.providers.solidgate import solidgate_signature_matches

from tokencancel_sandbox._answers import Answer, json_answer
from tokencancel_sandbox._config import SandboxConfig
from tokencancel_sandbox._conventions import (
    PROVIDER_TEXTS,
    SOLIDGATE_ALREADY_CANCELLED,
    SOLIDGATE_ALREADY_PROCESSING,
    SOLIDGATE_TOKEN_STATES,
    SOLIDGATE_UNSUPPORTED_METHOD,
)
from tokencancel_sandbox._emulator import Call, Emulator, constant_time_equal
from tokencancel_sandbox._spec import Problem, ProviderSpec
from tokencancel_sandbox._store import CancelAttempt, Token
from tokencancel_sandbox._vocabulary import NovelWords, property_values, require_listed

__all__ = ["SolidgateEmulator"]

ACTIVE, PROCESSING, CANCELLED, UNSUPPORTED = SOLIDGATE_TOKEN_STATES

AUTHENTICATION_FAILED = "1.01"
INVALID_DATA = "2.01"
#: Solidgate's own texts: the one its docs give verbatim, and the concurrent case as named.
NOT_FOUND_TEXT, CONCURRENTLY_PROCESSING_TEXT = PROVIDER_TEXTS["solidgate"]

#: The `2.01` messages for a cancel that reached a token, by the transition's outcome.
_REASONS = {
    "already_processing": ("token", SOLIDGATE_ALREADY_PROCESSING),
    "already_cancelled": ("token", SOLIDGATE_ALREADY_CANCELLED),
    "unsupported": ("token", SOLIDGATE_UNSUPPORTED_METHOD),
    "concurrently_processing": ("token", CONCURRENTLY_PROCESSING_TEXT),
    "not_found": ("general", NOT_FOUND_TEXT),
}


class SolidgateEmulator(Emulator):
    """Solidgate: `merchant` + `signature` headers; outcome in the body."""

    name: ClassVar[str] = "solidgate"
    default_status: ClassVar[str] = ACTIVE
    example_token_ids: ClassVar[tuple[str, ...]] = ("923bb4e6-4a5f-41ec-81fb-28eb8a152e55",)

    def __init__(self, config: SandboxConfig, spec: ProviderSpec) -> None:
        super().__init__(config, spec)
        answer = self.answer_schema("200")
        cancellation_statuses = property_values(answer, "status")
        require_listed(
            (PROCESSING,),
            cancellation_statuses,
            spec=str(spec.path),
            what="status value(s)",
            why="when a revocation is accepted",
        )
        codes = property_values(answer, "code")
        require_listed(
            (AUTHENTICATION_FAILED, INVALID_DATA),
            codes,
            spec=str(spec.path),
            what="error code(s)",
            why="for bad credentials and invalid data",
        )
        self.statuses = SOLIDGATE_TOKEN_STATES
        texts = {text for _, text in _REASONS.values()}
        self.novel = NovelWords({*self.statuses, *cancellation_statuses, *codes, *texts})

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
        return json_answer(
            200, {"error": {"code": AUTHENTICATION_FAILED, "messages": ["Authentication failed"]}}
        )

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
        """An active token becomes processing (cancelled after the settle time); others refuse.

        While another cancel of an active token is in flight, the token is being revoked by
        that request: this one is refused as concurrently processing.
        """
        if token.status == ACTIVE and token.cancels_in_flight:
            return "concurrently_processing"
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
        """`processing`, or `2.01` saying why not.

        In the unknown vocabulary, the accepted status and every `2.01` text are novel.
        """
        novel = self.unknown_vocabulary
        if attempt.outcome == "accepted":
            return json_answer(
                200, {"status": self.novel.status(upper=False) if novel else PROCESSING}
            )
        key, text = _REASONS.get(attempt.outcome, _REASONS["not_found"])
        return _invalid_data({key: [self.novel.text() if novel else text]})

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
    return json_answer(200, {"error": {"code": INVALID_DATA, "messages": messages}})
