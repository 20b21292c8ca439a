"""Input: plain ids, CSV or JSONL, read lazily and bounded; a bad line is a record, not a stop.

Lines are read as bytes, never more than `MAX_LINE_BYTES` of one line at a time: a longer line
(a 10 MB blob, `/dev/zero` piped in) is skipped to its end in fixed chunks and recorded as
`invalid_input`, so neither memory nor one odd line can stop a run. Whatever a line holds
(invalid UTF-8, NULs, a 5,000-digit integer, nesting deep enough to exhaust the parser) it
becomes a record with a reason. Only the input's *shape* can refuse the run, before anything
is sent: a CSV header naming a column the provider does not use (a `reference1` for Xendit
would silently mean nothing) or lacking one it requires, or plain ids for a provider that needs
per-token fields. That is `InputRefused`.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Final, Literal

import attrs

__all__ = [
    "MAX_LINE_BYTES",
    "FieldRules",
    "InputFormat",
    "InputRecord",
    "InputRefused",
    "InputStream",
    "duplicate_key",
    "invalid_key",
    "open_input",
    "read_records",
]

InputFormat = Literal["auto", "plain", "csv", "jsonl"]

MAX_LINE_BYTES: Final = 16 * 1024
"""The longest input line read whole; ids and references are at most 256 characters each."""
_SKIP_CHUNK: Final = 1 << 20  # how much of an over-long line is read (and dropped) at a time
# The largest token id or reference we accept from the input; providers' ids are far shorter.
_MAX_FIELD_LENGTH: Final = 256
_VISIBLE_ASCII: Final = re.compile(r"[\x21-\x7e]+")
_RAW_EXCERPT_LENGTH: Final = 200
_BOM: Final = b"\xef\xbb\xbf"
_DIGEST_HEX: Final = 16


class InputRefused(Exception):  # noqa: N818 -- the input is refused, not "an error"
    """The input's shape cannot mean what it says for this provider; nothing may be sent."""


@attrs.frozen
class FieldRules:
    """The per-token fields one provider takes, and the names every provider's fields use.

    `used`: this provider's fields (KBank's `reference1`); `required`: those it cannot do
    without. A column or key outside `token_id` and `used` is refused: it would be read as
    meaning something and silently mean nothing.
    """

    used: tuple[str, ...] = ("reference1",)
    required: frozenset[str] = frozenset()
    provider: str = "this provider"


@attrs.frozen
class InputRecord:
    """One input line: a token to cancel, or the reason the line cannot be one.

    `digest` identifies the line's bytes (the first 16 hex digits of their SHA-256): a malformed
    line is remembered by its number and digest, never by its text, which may hold anything.
    """

    line: int
    token_id: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)
    error: str | None = None
    raw: str | None = None
    digest: str = ""

    @property
    def reference1(self) -> str | None:
        """KBank's `reference1` column, when the input has one."""
        return self.fields.get("reference1")

    @property
    def resume_key(self) -> str:
        """The key a done output line is remembered by: the token id, or the malformed line."""
        if self.token_id is not None:
            return self.token_id
        return invalid_key(self.line, self.digest)


def invalid_key(line: int, digest: str) -> str:
    """The resume key of a malformed input line: its number and the digest of its bytes."""
    # A NUL cannot occur in a valid token id, so these keys never collide with one.
    return f"\x00{line}\x00{digest}"


def duplicate_key(line: int, token_id: str) -> str:
    """The resume key of a line repeating an earlier line's token id."""
    return f"\x00{line}\x00duplicate\x00{token_id}"


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


@attrs.frozen
class _Line:
    """One physical input line: its text (when it could be read whole) or why not."""

    number: int
    text: str | None
    excerpt: str
    digest: str
    problem: str | None = None

    def invalid(self, reason: str) -> InputRecord:
        return InputRecord(line=self.number, error=reason, raw=self.excerpt, digest=self.digest)

    def record(
        self, token_id: object, fields: Mapping[str, object], rules: FieldRules
    ) -> InputRecord:
        problem = _check_field("token_id", token_id, required=True)
        for name, value in fields.items():
            problem = problem or _check_field(name, value, required=name in rules.required)
        if problem is not None:
            return self.invalid(problem)
        return InputRecord(
            line=self.number,
            token_id=str(token_id),
            fields={name: str(value) for name, value in fields.items() if value not in (None, "")},
            raw=self.excerpt,
            digest=self.digest,
        )


class InputStream:
    """Input lines as bytes, each read whole up to `MAX_LINE_BYTES`, longer ones skipped.

    `source` is a file (its `readline(limit)` is used, so no line is ever held whole) or any
    iterable of lines (`str` or `bytes`, for callers and tests that have the lines in hand).
    """

    def __init__(self, source: IO[bytes] | IO[str] | Iterable[str | bytes]) -> None:
        self._source = source

    def __iter__(self) -> Iterator[_Line]:
        for number, (start, complete, digest, length) in enumerate(self._physical_lines(), 1):
            head = start[len(_BOM) :] if number == 1 and start.startswith(_BOM) else start
            body = head.rstrip(b"\r\n") if complete else head
            excerpt = body[:_RAW_EXCERPT_LENGTH].decode("utf-8", "backslashreplace")
            if not complete:
                problem = f"the line is longer than {MAX_LINE_BYTES} bytes ({length} bytes)"
                yield _Line(number, None, excerpt, digest, problem)
                continue
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                yield _Line(number, None, excerpt, digest, "the line is not valid UTF-8")
                continue
            yield _Line(number, text, excerpt, digest)

    def _physical_lines(self) -> Iterator[tuple[bytes, bool, str, int]]:
        """(start of the line, whether it was read whole, its digest, its length in bytes)."""
        source = self._source
        if not isinstance(source, io.IOBase):
            for line in source:  # lines already in hand
                data = _as_bytes(line)
                yield data[:_WHOLE], len(data) <= _WHOLE, _digest(data), len(data)
            return
        readline = source.readline
        while True:
            first = _as_bytes(readline(_WHOLE))
            if not first:
                return
            if first.endswith(b"\n") or len(first) < _WHOLE:
                yield first, True, _digest(first), len(first)
                continue
            # Over-long: read the rest of the line in fixed chunks and drop it; only its start,
            # length and digest are kept, so memory stays bounded whatever the line holds.
            hasher, length, chunk = hashlib.sha256(first), len(first), first
            while not chunk.endswith(b"\n"):
                chunk = _as_bytes(readline(_SKIP_CHUNK))
                if not chunk:
                    break
                hasher.update(chunk)
                length += len(chunk)
            yield first, False, hasher.hexdigest()[:_DIGEST_HEX], length


_WHOLE: Final = MAX_LINE_BYTES + 2  # a line of MAX_LINE_BYTES and its CR LF


def _as_bytes(line: str | bytes) -> bytes:
    return line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_DIGEST_HEX]


def _detect_format(first_line: str) -> InputFormat:
    stripped = first_line.strip()
    if stripped.startswith("{"):
        return "jsonl"
    header = [cell.strip().lower() for cell in stripped.split(",")]
    if "token_id" in header:
        return "csv"
    return "plain"


def read_records(
    lines: IO[bytes] | Iterable[str | bytes],
    input_format: InputFormat = "auto",
    field_names: tuple[str, ...] | FieldRules = ("reference1",),
) -> Iterator[InputRecord]:
    """Turn input lines into records, lazily; a malformed line becomes a record with `error`.

    Blank lines and, in plain and CSV input, lines starting with `#` are skipped. CSV needs a
    header naming `token_id` (and the provider's other per-token fields, such as KBank's
    `reference1`); each physical line is one row. JSONL lines are objects with `token_id` and
    the provider's fields, nothing else.

    Raises:
        InputRefused: from the first `next()`, before any record is returned, when the input's
            shape is wrong for the provider (see the module docstring).
    """
    rules = field_names if isinstance(field_names, FieldRules) else FieldRules(used=field_names)
    parser = _Parser(rules, None if input_format == "auto" else input_format)
    # Records before the first readable line wait until the input's shape is settled, so a
    # refusal always comes before the first record.
    pending: list[InputRecord] = []
    stream = iter(InputStream(lines))
    for line in stream:
        record = parser.feed(line)
        if parser.settled:
            yield from pending
            if record is not None:
                yield record
            break
        if record is not None:
            pending.append(record)
            if len(pending) > _MAX_UNSETTLED:
                raise InputRefused(
                    f"none of the first {_MAX_UNSETTLED} lines can be read as input: "
                    "is this the right file?"
                )
    else:
        yield from pending
        return
    for line in stream:
        record = parser.feed(line)
        if record is not None:
            yield record


_MAX_UNSETTLED: Final = 1000


class _Parser:
    """The input's format, settled by its first readable line, and the parsing of each line."""

    def __init__(self, rules: FieldRules, resolved: InputFormat | None) -> None:
        self.rules = rules
        self.resolved = resolved
        self.columns: dict[str, int] | None = None
        self.settled = False

    def feed(self, line: _Line) -> InputRecord | None:
        """The record of one line; None for blank, comment and header lines."""
        if line.text is None:
            return line.invalid(line.problem or "unreadable line")
        stripped = line.text.strip()
        if self._skipped(stripped) or (not self.settled and self._settle(line)):
            return None
        if self.resolved == "plain":
            return line.record(stripped, {}, self.rules)
        if self.resolved == "jsonl":
            return _jsonl_record(line, self.rules)
        assert self.columns is not None  # noqa: S101 -- set when the CSV header settled
        return _csv_record(line, self.columns, self.rules)

    def _skipped(self, stripped: str) -> bool:
        if not stripped:
            return True
        if self.resolved is None:
            self.resolved = _detect_format(stripped)
        return self.resolved != "jsonl" and stripped.startswith("#")

    def _settle(self, line: _Line) -> bool:
        """Check the input's shape on its first readable line; True if that line is a header."""
        self.settled = True
        if self.resolved == "csv":
            self.columns = _csv_header(line, self.rules)
            return True
        if self.resolved == "plain" and self.rules.required:
            needed = ", ".join(sorted(self.rules.required))
            raise InputRefused(
                f"{self.rules.provider} needs {needed} for every token: give CSV (a header "
                f"naming token_id and {needed}) or JSONL, not plain ids"
            )
        return False


def _jsonl_record(line: _Line, rules: FieldRules) -> InputRecord:
    try:
        value = json.loads(line.text or "")
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers past the digit limit.
        return line.invalid("not valid JSON")
    if not isinstance(value, dict):
        return line.invalid("not a JSON object")
    unused = sorted(key for key in value if key != "token_id" and key not in rules.used)
    if unused:
        names = ", ".join(json.dumps(key)[:40] for key in unused[:3])
        return line.invalid(
            f"{names}: not used by {rules.provider} (only token_id"
            + "".join(f", {name}" for name in rules.used)
            + ")"
        )
    return line.record(value.get("token_id"), {name: value.get(name) for name in rules.used}, rules)


def _csv_header(line: _Line, rules: FieldRules) -> dict[str, int]:
    cells = [cell.strip().lower() for cell in _csv_cells(line.text or "") or []]
    if "token_id" not in cells:
        raise InputRefused(f"line {line.number}: the CSV header must name a token_id column")
    repeated = sorted({cell for cell in cells if cells.count(cell) > 1})
    if repeated:
        raise InputRefused(f"line {line.number}: the CSV header repeats {', '.join(repeated)}")
    unused = [cell for cell in cells if cell != "token_id" and cell not in rules.used]
    if unused:
        taken = "".join(f", {name}" for name in rules.used)
        raise InputRefused(
            f"line {line.number}: the CSV header names {', '.join(unused)}, which "
            f"{rules.provider} does not use (its columns: token_id{taken}); remove the "
            "column rather than have it silently ignored"
        )
    missing = sorted(name for name in rules.required if name not in cells)
    if missing:
        raise InputRefused(
            f"line {line.number}: {rules.provider} needs a {', '.join(missing)} column"
        )
    return {name: cells.index(name) for name in ("token_id", *rules.used) if name in cells}


def _csv_cells(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def _csv_record(line: _Line, columns: Mapping[str, int], rules: FieldRules) -> InputRecord:
    cells = _csv_cells(line.text or "")
    if cells is None:
        return line.invalid("not a valid CSV row")
    if len(cells) != len(columns):
        # Fewer: a field is missing; more: a value with no column, which would be ignored.
        return line.invalid(f"expected {len(columns)} CSV fields, found {len(cells)}")
    token_id = cells[columns["token_id"]].strip()
    fields = {name: cells[index].strip() for name, index in columns.items() if name != "token_id"}
    return line.record(token_id, fields, rules)


def open_input(path: str) -> IO[bytes]:
    """Open a path or `-` (stdin) for reading as bytes (lines are decoded one by one)."""
    if path == "-":
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise OSError(errno.EBADF, "stdin is closed")
        return sys.stdin.buffer
    return Path(path).open("rb")
