"""Output: the append-only JSONL results file, which is also what a re-run resumes from.

The file is the run's only record, so it is handled as one:

- **Only a regular file**, never the input (compared by device and inode, so `./x`, a symlink
  or a hard link to the input are all caught), a directory, a device or a FIFO: each is refused
  before anything is sent (`check_target`).
- **One run at a time**: an exclusive `flock` is held on it for the whole run; a second run on
  the same file (by any name) refuses to start instead of sending every request twice.
- **Read tolerantly, in bounded pieces**: a line that is not one of ours (garbage, a cut-off
  last line, a 5,000-digit number, `"outcome": []`, a 1 GiB line) is reported by number and
  ignored; the file is never truncated. Each done token's outcome category is remembered, so a
  re-run reports (and exits with) what the first run found.
- **Written one whole line per `os.write`** on a descriptor opened for appending; a write that
  fails part-way is cut back to the last whole line, and any failure (a full disk, a file-size
  limit) raises `BulkFileError`, which stops the run with exit code 5. The file is fsynced at
  least once a second and at the end, so a crash or power cut loses at most the lines of the
  last second, whose tokens are then checked again on resume (cancelling twice is harmless).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from .._exit import Category, ExitCode
from .input import duplicate_key, invalid_key

__all__ = [
    "BulkFileError",
    "FileIdentity",
    "OutputLog",
    "ResumeState",
    "check_target",
    "identity_of",
]

MAX_RESUME_LINE: Final = 64 * 1024
"""The longest output line read whole on resume; the runner's own lines are a few hundred bytes."""
_READ_CHUNK: Final = 1 << 20
_SYNC_INTERVAL: Final = 1.0
_LISTED_BAD_LINES: Final = 5

FileIdentity = tuple[int, int]
"""A file's device and inode: the same file whatever path names it."""


class BulkFileError(Exception):
    """An input, output or summary file cannot be used; the message is one line for stderr.

    `exit_code` is 5 (IO) for a file that cannot be read, written, flushed or locked, and 2
    (USAGE) for a file the command line must not name (the input as output, a directory...).
    `reading` tells a failure to read the input, after which answers can still be recorded.
    """

    def __init__(
        self, message: str, exit_code: ExitCode = ExitCode.IO, *, reading: bool = False
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.reading = reading


def identity_of(status: os.stat_result) -> FileIdentity:
    """The device and inode of a `stat` result."""
    return (status.st_dev, status.st_ino)


def _kind(mode: int) -> str | None:
    """What a non-regular file is, for the refusal; None for a regular file."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO or pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def check_target(
    path: Path, role: str, forbidden: Mapping[FileIdentity, str]
) -> os.stat_result | None:
    """Refuse `path` as a file to write unless it is a new or regular file named nowhere else.

    `forbidden` maps the identity of each file the run reads or writes otherwise to its name
    (e.g. "the input"). Returns the file's status, or None when it does not exist yet.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise BulkFileError(f"{role} {path}: cannot use it ({error.strerror or error})") from None
    kind = _kind(status.st_mode)
    if kind is not None:
        raise BulkFileError(
            f"{role} {path} is {kind}: it must be a regular file (results are appended to it "
            "and read back on resume)",
            ExitCode.USAGE,
        )
    same = forbidden.get(identity_of(status))
    if same is not None:
        raise BulkFileError(
            f"{role} {path} is the same file as {same}: choose another file", ExitCode.USAGE
        )
    return status


@attrs.define
class ResumeState:
    """What an existing output file says: each done token's category, and what was ignored."""

    done: dict[str, Category] = attrs.field(factory=dict)
    lines: int = 0
    bad_lines: list[int] = attrs.field(factory=list)
    bad_count: int = 0
    other_providers: int = 0
    unterminated: bool = False

    def notes(self, path: Path) -> list[str]:
        """Lines for stderr about what was ignored, or nothing."""
        notes = []
        if self.bad_count:
            listed = ", ".join(str(number) for number in self.bad_lines)
            more = ", ..." if self.bad_count > len(self.bad_lines) else ""
            notes.append(
                f"note: {path}: ignored {self.bad_count} line(s) that are not bulk results "
                f"(line {listed}{more}); left in place, their tokens are checked again"
            )
        if self.other_providers:
            notes.append(
                f"note: {path}: {self.other_providers} line(s) belong to another provider "
                "and were ignored"
            )
        return notes


class OutputLog:
    """The append-only, locked JSONL output: done keys on open, one whole line per write."""

    def __init__(
        self,
        path: Path,
        provider: str,
        *,
        forbidden: Mapping[FileIdentity, str] | None = None,
    ) -> None:
        self.path = path
        existed = check_target(path, "--output", forbidden or {}) is not None
        self._fd = self._open(path)
        try:
            status = os.fstat(self._fd)
            _check_opened(path, status, forbidden or {})
            self._lock()
            if not existed:
                _sync_directory(path)
            self.state = _load(self._fd, status.st_size, provider)
            self._size = status.st_size
        except BaseException:
            os.close(self._fd)
            raise
        self._needs_newline = self.state.unterminated
        self._last_sync = time.monotonic()
        self._closed = False

    def fileno(self) -> int:
        """The open descriptor (for `os.fstat`)."""
        return self._fd

    @property
    def done(self) -> dict[str, Category]:
        """The resume key of every done token in the file, with its outcome category."""
        return self.state.done

    def _open(self, path: Path) -> int:
        # O_NONBLOCK: opening a FIFO that appeared after `check_target` must not hang.
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as error:
            raise BulkFileError(
                f"--output {path}: cannot open it ({error.strerror or error})"
            ) from None
        os.set_blocking(fd, True)
        return fd

    def _lock(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BulkFileError(
                f"--output {self.path} is in use by another tokencancel bulk run (it holds the "
                "file's lock): wait for that run to end, or choose another --output"
            ) from None
        except OSError as error:
            raise BulkFileError(
                f"--output {self.path}: cannot lock it ({error.strerror or error})"
            ) from None

    def write(self, entry: Mapping[str, Any]) -> None:
        """Append `entry` as one whole line; raise BulkFileError if it cannot be written."""
        # A lone surrogate from a provider's text cannot be UTF-8: `backslashreplace` writes it
        # as the JSON escape \udXXX, so the line stays valid JSON and the write cannot fail.
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        data = text.encode("utf-8", "backslashreplace") + b"\n"
        if self._needs_newline:
            data = b"\n" + data  # after a cut-off last line: start on a line of our own
        start = self._size
        written, error = _write_all(self._fd, data)
        if error is not None:
            if written:
                # Cut the partial line back off, so the file ends on a whole line.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
            raise BulkFileError(
                f"cannot write to --output {self.path}: {error.strerror or error}; the lines "
                "before it are intact"
            )
        self._size = start + written
        self._needs_newline = False
        if time.monotonic() - self._last_sync >= _SYNC_INTERVAL:
            self.sync()

    def sync(self) -> None:
        """Flush the file to disk; raise BulkFileError if the disk refuses."""
        try:
            os.fsync(self._fd)
        except OSError as error:
            raise BulkFileError(
                f"cannot flush --output {self.path} to disk: {error.strerror or error}"
            ) from None
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Flush to disk, release the lock and close; raise BulkFileError if the flush fails."""
        if self._closed:
            return
        self._closed = True
        try:
            self.sync()
        finally:
            os.close(self._fd)  # closing releases the lock

    def abandon(self) -> None:
        """Close without raising (the run is already failing for another reason)."""
        with contextlib.suppress(BulkFileError, OSError):
            self.close()


def _check_opened(
    path: Path, status: os.stat_result, forbidden: Mapping[FileIdentity, str]
) -> None:
    """Check the opened file again: the path may have been replaced since `check_target`."""
    if _kind(status.st_mode) is not None or identity_of(status) in forbidden:
        raise BulkFileError(f"--output {path} changed while it was opened", ExitCode.USAGE)


def _write_all(fd: int, data: bytes) -> tuple[int, OSError | None]:
    """Write all of `data`; return how much was written and the error that stopped it, if any."""
    written = 0
    try:
        while written < len(data):
            count = os.write(fd, data[written:])
            if count <= 0:  # pragma: no cover - regular files report an error instead
                return written, OSError(errno.EIO, "the write made no progress")
            written += count
    except OSError as error:
        return written, error
    return written, None


def _sync_directory(path: Path) -> None:
    """Make a new file's directory entry durable (best effort: not every system allows it)."""
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


# -- reading an existing output ---------------------------------------------------------------


def _load(fd: int, size: int, provider: str) -> ResumeState:
    state = ResumeState()
    for number, line, terminated in _lines(fd, size):
        state.lines = number
        if not terminated:
            state.unterminated = True
        kind, key, category = _classify(line, provider)
        if kind is _Kind.OTHER:
            state.other_providers += 1
        elif kind is _Kind.BAD:
            state.bad_count += 1
            if len(state.bad_lines) < _LISTED_BAD_LINES:
                state.bad_lines.append(number)
        elif kind is _Kind.DONE and category is not None:
            state.done[key] = category
    return state


def _lines(fd: int, size: int) -> Iterator[tuple[int, bytes | None, bool]]:
    """(number, line or None when over-long, whether it ended with a newline), read by `pread`.

    No more than `MAX_RESUME_LINE` bytes of one line are ever held; the rest of a longer line is
    skipped as it is read.
    """
    offset = 0
    number = 0
    buffer = b""
    skipping = False
    while offset < size:
        chunk = os.pread(fd, min(_READ_CHUNK, size - offset), offset)
        if not chunk:
            break  # the file shrank under us: what was read is what there is
        offset += len(chunk)
        buffer += chunk
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                break
            number += 1
            yield number, (None if skipping else buffer[:end]), True
            skipping = False
            buffer = buffer[end + 1 :]
        if len(buffer) > MAX_RESUME_LINE:
            skipping, buffer = True, b""
    if buffer or skipping:
        yield number + 1, (None if skipping else buffer), False


class _Kind(enum.Enum):
    DONE = "a done token's line"
    NOT_DONE = "a line of ours whose token is to be done again"
    OTHER = "a line of another provider"
    BAD = "not a bulk result line"


_BAD: Final = (_Kind.BAD, "", None)


def _classify(raw_line: bytes | None, provider: str) -> tuple[_Kind, str, Category | None]:
    """What one output line is, with its resume key and category when its token is done."""
    parsed = _entry(raw_line)
    if parsed is None:
        return _BAD
    entry, owner, category = parsed
    if owner != provider:
        return (_Kind.OTHER, "", None)
    key = _key_of(entry, category)
    if key is None:
        return _BAD
    if not key or not category.done:
        return (_Kind.NOT_DONE, "", None)
    return (_Kind.DONE, key, category)


def _entry(raw_line: bytes | None) -> tuple[dict[str, Any], str, Category] | None:
    """The line as (object, provider, category), or None if it is not a bulk result line."""
    if raw_line is None:
        return None
    try:
        entry = json.loads(raw_line)
    except (ValueError, RecursionError):  # ValueError: bad JSON, bad UTF-8, huge integers
        return None
    if not isinstance(entry, dict):
        return None
    outcome, owner = entry.get("outcome"), entry.get("provider")
    if not isinstance(outcome, str) or not isinstance(owner, str):
        return None
    try:
        return entry, owner, Category(outcome)
    except ValueError:
        return None


def _key_of(entry: Mapping[str, Any], category: Category) -> str | None:
    """The resume key a line of ours names; "" for a line that names none; None if malformed."""
    token_id, line = entry.get("token_id"), entry.get("line")
    number = line if isinstance(line, int) and not isinstance(line, bool) else None
    if category is Category.DUPLICATE:
        if number is None or not isinstance(token_id, str):
            return None
        return duplicate_key(number, token_id)
    if isinstance(token_id, str):
        return token_id
    if token_id is not None:
        return None
    digest = entry.get("input_sha256")
    if number is None or not isinstance(digest, str):
        return ""  # a malformed input line recorded without its digest: record it again
    return invalid_key(number, digest)
