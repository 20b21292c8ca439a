"""Run one provider's outcome table on one answer, without any network: the unit under test."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import httpx2
from tokencancel import OutcomeRules, TokenCancelError
from tokencancel._transport import Answer
from tokencancel.providers import REGISTRY, AnswerReader, ProviderAdapter, Verdict

JSON = (("Content-Type", "application/json"),)


def answer(status: int, body: Any, *headers: tuple[str, str]) -> Answer:
    """An answer as `_transport` hands it over: status, headers, the whole body."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, httpx2.Headers([*JSON, *headers]), raw)


def interpret(
    adapter: ProviderAdapter[Any, Any],
    reply: Answer,
    *,
    token_id: str,
    fields: dict[str, object] | None = None,
    rules: OutcomeRules | None = None,
) -> Verdict[Any] | TokenCancelError:
    """The verdict the adapter's table gives `reply`, or the error it raises."""
    prepared = adapter.prepare(token_id, fields or {})
    reader = AnswerReader(adapter, reply, prepared, rules or OutcomeRules())
    try:
        return adapter.interpret(reader)
    except TokenCancelError as error:
        return error


def rules(text: str) -> OutcomeRules:
    """Outcome rules from TOML text, checked as the client checks a file."""
    return OutcomeRules.from_mapping(tomllib.loads(text), providers=REGISTRY)
