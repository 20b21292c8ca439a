"""Outcomes: how a result or an error is written down, and which outcomes are final.

The outcome names and whether each is final come from the one exit-code table
(`tokencancel._exit.Category`), which `tokencancel cancel` reads too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

import attrs

from .._errors import TokenCancelError
from .._exit import Category, category_of
from .._redact import one_line
from .._result import CancelResult
from .input import InputRecord

__all__ = [
    "DONE_OUTCOMES",
    "Outcome",
    "classify_error",
    "classify_result",
    "output_entry",
    "timestamp",
]

DONE_OUTCOMES: Final = frozenset(category.value for category in Category if category.done)
"""Outcomes a re-run with the same output file does not redo."""


@attrs.frozen
class Outcome:
    """One token's line in the output, before the run's own fields are added."""

    category: Category
    fields: dict[str, Any]

    @property
    def fatal(self) -> bool:
        """Whether the whole run must stop (credentials or configuration are wrong)."""
        return self.category is Category.FATAL

    @property
    def name(self) -> str:
        """The `outcome` written to the output: a fatal error is recorded as `error`."""
        return Category.ERROR.value if self.fatal else self.category.value


def classify_result(result: CancelResult[Any]) -> Outcome:
    """A result's line: its outcome and the provider's word for it."""
    return Outcome(
        category=Category(result.outcome.value),
        fields={
            "http_status": result.http_status,
            "provider_status": result.provider_status,
            "request_id": result.request_id,
            "rule_source": result.rule_source,
        },
    )


def classify_error(error: TokenCancelError) -> Outcome:
    """An error's line: its category (`category_of`) and what the error says."""
    return Outcome(
        category=category_of(error),
        fields={
            "error_type": type(error).__name__,
            "error_code": error.error_code,
            "message": error.message,
            "http_status": error.http_status,
            "request_id": error.request_id,
            "rule_source": error.rule_source,
        },
    )


# Text a provider chose (codes, statuses, messages) is cut to this many characters, on one
# line, control characters escaped and secrets redacted, before it reaches the output file.
_TEXT_LIMIT: Final = 300
_FREE_TEXT: Final = ("message", "error_code", "provider_status", "request_id", "rule_source")


def output_entry(
    provider: str,
    outcome: str,
    record: InputRecord,
    fields: Mapping[str, Any],
    *,
    attempts: int,
) -> dict[str, Any]:
    """One output line: the token, its outcome, and what the provider or the input said."""
    entry: dict[str, Any] = {
        "token_id": record.token_id,
        "provider": provider,
        "outcome": outcome,
        "done": outcome in DONE_OUTCOMES,
        "error_type": None,
        "error_code": None,
        "message": None,
        "http_status": None,
        "attempts": attempts,
        "line": record.line,
        "timestamp": timestamp(),
    }
    entry.update(fields)
    for name in _FREE_TEXT:
        value = entry.get(name)
        if isinstance(value, str):
            entry[name] = one_line(value, limit=_TEXT_LIMIT)
    if record.token_id is None:
        # A malformed line is remembered by its number and digest; its start is shown redacted.
        entry["input"] = one_line(record.raw or "", limit=_TEXT_LIMIT)
        entry["input_sha256"] = record.digest
    return entry


def timestamp() -> str:
    """Now, in UTC, ISO 8601 with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
