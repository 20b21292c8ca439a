"""Output: the append-only JSONL results file, which is also what a re-run resumes from.

Each line is one `os.write` of a whole JSON object and its newline on a file opened for
appending, so a line is written whole or not at all; the file is fsynced at the end. A line
whose outcome is final marks its token as done, and a re-run with the same output skips it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .input import invalid_key
from .outcomes import DONE_OUTCOMES

__all__ = ["OutputLog", "timestamp"]


class OutputLog:
    """The append-only JSONL output: done keys on open, one whole line per write, fsync at close."""

    def __init__(self, path: Path, provider: str) -> None:
        self.path = path
        self.done: set[str] = set()
        self.ignored_lines = 0
        self.truncated_tail = False
        self._load(provider)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _load(self, provider: str) -> None:
        if not self.path.exists():
            return
        complete_bytes = 0
        with self.path.open("rb") as existing:
            for raw_line in existing:
                if not raw_line.endswith(b"\n"):
                    # A line cut short by a crash: drop it below, so every line stays valid JSON.
                    self.truncated_tail = True
                    break
                complete_bytes += len(raw_line)
                key = _done_key(raw_line, provider)
                if key is None:
                    self.ignored_lines += 1
                elif key:
                    self.done.add(key)
        if self.truncated_tail:
            os.truncate(self.path, complete_bytes)

    def write(self, entry: Mapping[str, Any]) -> None:
        """Append `entry` as one whole line."""
        data = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        written = os.write(self._fd, data)
        if written != len(data):  # pragma: no cover - a full disk; never leave half a line behind
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")

    def close(self) -> None:
        """Flush the file to disk and close it."""
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)


def _done_key(raw_line: bytes, provider: str) -> str | None:
    """The resume key a line marks as done, "" if it marks nothing, None if it is not ours."""
    try:
        entry = json.loads(raw_line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(entry, dict) or "outcome" not in entry:
        return None
    if entry.get("provider") != provider or entry.get("outcome") not in DONE_OUTCOMES:
        return ""
    token_id = entry.get("token_id")
    if isinstance(token_id, str):
        return token_id
    line, raw = entry.get("line"), entry.get("input")
    if isinstance(line, int) and isinstance(raw, str):
        return invalid_key(line, raw)
    return ""


def timestamp() -> str:
    """Now, in UTC, ISO 8601 with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
