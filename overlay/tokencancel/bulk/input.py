"""Input: plain ids, CSV or JSONL, read lazily; a malformed line becomes a record, not a stop."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Final, Literal

import attrs

__all__ = ["InputFormat", "InputRecord", "invalid_key", "open_input", "read_records"]

InputFormat = Literal["auto", "plain", "csv", "jsonl"]

# The largest token id or reference we accept from the input; providers' ids are far shorter.
_MAX_FIELD_LENGTH: Final = 256
_VISIBLE_ASCII: Final = re.compile(r"[\x21-\x7e]+")
_RAW_EXCERPT_LENGTH: Final = 200


@attrs.frozen
class InputRecord:
    """One input line: a token to cancel, or the reason the line cannot be one."""

    line: int
    token_id: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)
    error: str | None = None
    raw: str | None = None

    @property
    def reference1(self) -> str | None:
        """KBank's `reference1` column, when the input has one."""
        return self.fields.get("reference1")

    @property
    def resume_key(self) -> str:
        """The key a done output line is remembered by: the token id, or the malformed line."""
        if self.token_id is not None:
            return self.token_id
        return invalid_key(self.line, self.raw or "")


def invalid_key(line: int, raw: str) -> str:
    """The resume key of a malformed input line: its number and its text."""
    # A NUL cannot occur in a valid token id, so these keys never collide with one.
    return f"\x00{line}\x00{raw}"


def _check_field(name: str, value: object, *, required: bool) -> str | None:
    """Return a reason the field is unusable, or None."""
    if value is None or value == "":
        return f"{name} is missing" if required else None
    if not isinstance(value, str):
        return f"{name} must be a string"
    if len(value) > _MAX_FIELD_LENGTH:
        return f"{name} is longer than {_MAX_FIELD_LENGTH} characters"
    if _VISIBLE_ASCII.fullmatch(value) is None:
        return f"{name} must be visible ASCII characters without spaces"
    return None


def _record(line: int, raw: str, token_id: object, fields: Mapping[str, object]) -> InputRecord:
    problem = _check_field("token_id", token_id, required=True)
    for name, value in fields.items():
        problem = problem or _check_field(name, value, required=False)
    if problem is not None:
        return InputRecord(line=line, error=problem, raw=raw[:_RAW_EXCERPT_LENGTH])
    return InputRecord(
        line=line,
        token_id=str(token_id),
        fields={name: str(value) for name, value in fields.items() if value not in (None, "")},
    )


def _detect_format(first_line: str) -> InputFormat:
    stripped = first_line.strip()
    if stripped.startswith("{"):
        return "jsonl"
    header = [cell.strip().lower() for cell in stripped.split(",")]
    if "token_id" in header:
        return "csv"
    return "plain"


def read_records(
    lines: Iterable[str],
    input_format: InputFormat = "auto",
    field_names: tuple[str, ...] = ("reference1",),
) -> Iterator[InputRecord]:
    """Turn input lines into records, lazily; a malformed line becomes a record with `error`.

    Blank lines and, in plain and CSV input, lines starting with `#` are skipped. CSV needs a
    header naming `token_id` (and the provider's other per-token fields, such as KBank's
    `reference1`); each physical line is one row. JSONL lines are objects with `token_id` and
    optionally those fields.
    """
    columns: dict[str, int] | None = None
    resolved: InputFormat | None = None if input_format == "auto" else input_format
    for number, raw_line in enumerate(lines, start=1):
        text = raw_line.rstrip("\r\n")
        stripped = text.strip()
        if not stripped:
            continue
        if resolved is None:
            resolved = _detect_format(stripped)
        if resolved != "jsonl" and stripped.startswith("#"):
            continue
        if resolved == "plain":
            yield _record(number, text, stripped, {})
        elif resolved == "jsonl":
            yield _jsonl_record(number, text, field_names)
        elif columns is None:
            columns, problem = _csv_header(text, field_names)
            if problem is not None:
                yield InputRecord(line=number, error=problem, raw=text[:_RAW_EXCERPT_LENGTH])
                return
        else:
            yield _csv_record(number, text, columns)


def _jsonl_record(number: int, text: str, field_names: tuple[str, ...]) -> InputRecord:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return InputRecord(line=number, error="not valid JSON", raw=text[:_RAW_EXCERPT_LENGTH])
    if not isinstance(value, dict):
        return InputRecord(line=number, error="not a JSON object", raw=text[:_RAW_EXCERPT_LENGTH])
    return _record(
        number, text, value.get("token_id"), {name: value.get(name) for name in field_names}
    )


def _csv_header(text: str, field_names: tuple[str, ...]) -> tuple[dict[str, int], str | None]:
    cells = [cell.strip().lower() for cell in _csv_cells(text) or []]
    if "token_id" not in cells:
        return {}, "the CSV header must name a token_id column"
    return {name: cells.index(name) for name in ("token_id", *field_names) if name in cells}, None


def _csv_cells(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def _csv_record(number: int, text: str, columns: Mapping[str, int]) -> InputRecord:
    cells = _csv_cells(text)
    if cells is None:
        return InputRecord(line=number, error="not a valid CSV row", raw=text[:_RAW_EXCERPT_LENGTH])
    needed = max(columns.values()) + 1
    if len(cells) < needed:
        return InputRecord(
            line=number,
            error=f"expected at least {needed} CSV fields, found {len(cells)}",
            raw=text[:_RAW_EXCERPT_LENGTH],
        )
    token_id = cells[columns["token_id"]].strip()
    fields = {name: cells[index].strip() for name, index in columns.items() if name != "token_id"}
    return _record(number, text, token_id, fields)


def open_input(path: str) -> IO[str]:
    """Open a path or `-` (stdin) as UTF-8 text that never fails to decode."""
    if path == "-":
        return io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8-sig", errors="replace", newline=""
        )
    return Path(path).open(encoding="utf-8-sig", errors="replace", newline="")
