"""What a run did, for the terminal and for `--summary-json`; and the progress line.

The exit code covers every token of the input: those recorded by this run and those skipped
because an earlier run recorded them (with the category it recorded), so a re-run over a
finished output reports what the first run found. A run that stopped (a file error, a signal,
rejected credentials) says so instead, whatever its tokens did.
"""

from __future__ import annotations

import os
import stat
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any, Final

import attrs

from .._exit import Category, ExitCode
from .._redact import escape_controls

__all__ = ["BulkSummary", "Progress", "count_lines", "say"]

RATE_LIMITED = Category.RATE_LIMITED.value
ERROR = Category.ERROR.value
_MIN_BAR: Final = 10
_MAX_BAR: Final = 30


def say(stream: IO[str] | None, text: str) -> None:
    """Write `text` as a line to `stream` (stderr), escaped; a closed stream is not an error."""
    if stream is None:
        return
    try:
        stream.write("\n".join(escape_controls(line) for line in text.split("\n")) + "\n")
        stream.flush()
    except (OSError, ValueError):  # a closed or broken stderr: nobody is left to tell
        pass


@attrs.define
class BulkSummary:
    """What a run did: counts per outcome, this run's and every input token's; the pace held."""

    provider: str
    counts: Counter[str] = attrs.field(factory=Counter)
    skipped: Counter[str] = attrs.field(factory=Counter)
    tokens_read: int = 0
    requests_sent: int = 0
    elapsed_seconds: float = 0.0
    request_rate_per_second: float | None = None
    rate_limit: str | None = None
    rate_limit_per_second: float | None = None
    interrupted: bool = False
    fatal_error: str | None = None
    file_error: str | None = None
    check: dict[str, Any] | None = None
    check_refused: int | None = None  # the failed preflight's exit code

    @property
    def recorded(self) -> int:
        """Output lines written by this run."""
        return sum(self.counts.values())

    @property
    def skipped_done(self) -> int:
        """Input tokens skipped because the output already records them as done."""
        return sum(self.skipped.values())

    @property
    def totals(self) -> Counter[str]:
        """Every input token's outcome: recorded now, or recorded before and skipped."""
        return self.counts + self.skipped

    @property
    def stopped(self) -> bool:
        """Whether the run ended before its input did."""
        return (
            self.interrupted
            or self.fatal_error is not None
            or self.file_error is not None
            or self.check_refused is not None
        )

    @property
    def unaccounted(self) -> int:
        """Tokens read but neither recorded nor skipped (only a stopped run may leave any)."""
        return self.tokens_read - self.recorded - self.skipped_done

    def exit_code(self) -> int:
        """The process exit code this summary calls for (the table in `tokencancel._exit`)."""
        if self.file_error is not None:
            return ExitCode.IO
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.fatal_error is not None:
            return ExitCode.USAGE
        if self.check_refused is not None:
            return self.check_refused
        if self.unaccounted:
            # Never report success for tokens without a line: this would be a bug.
            return ExitCode.INTERNAL
        return max(
            (Category(outcome).exit_code for outcome, count in self.totals.items() if count),
            default=ExitCode.OK,
        )

    def stop_reason(self) -> str | None:
        """Why a run stopped before its input ended, other than a signal; None otherwise."""
        if self.file_error is not None:
            return self.file_error
        if self.fatal_error is not None:
            return f"stopped: {self.fatal_error}"
        if self.check_refused is not None:
            return "the check failed before the first cancel, so nothing was sent"
        return None

    def to_json_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values."""
        return {
            "provider": self.provider,
            "totals": dict(sorted(self.totals.items())),
            "counts": dict(sorted(self.counts.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "tokens_read": self.tokens_read,
            "recorded": self.recorded,
            "skipped_done": self.skipped_done,
            "requests_sent": self.requests_sent,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "tokens_per_second": round(self.recorded / self.elapsed_seconds, 3)
            if self.elapsed_seconds > 0
            else None,
            "request_rate_per_second": None
            if self.request_rate_per_second is None
            else round(self.request_rate_per_second, 3),
            "rate_limit": self.rate_limit,
            "rate_limit_per_second": self.rate_limit_per_second,
            "interrupted": self.interrupted,
            "fatal_error": self.fatal_error,
            "file_error": self.file_error,
            "check": self.check,
            "exit_code": self.exit_code(),
        }

    def render(self) -> str:
        """A few human lines for stderr."""
        lines = [
            f"bulk {self.provider}: {self.tokens_read} input token(s): {_counts(self.totals)}",
            f"this run: {self.recorded} recorded ({_counts(self.counts)}), {self.skipped_done} "
            f"skipped as already recorded; {self.requests_sent} requests in "
            f"{self.elapsed_seconds:.1f} s",
        ]
        if self.request_rate_per_second is not None:
            pace = f"achieved {self.request_rate_per_second:.2f} requests/s"
            if self.rate_limit_per_second:
                share = self.request_rate_per_second / self.rate_limit_per_second
                pace += f" = {share:.1%} of the limit {self.rate_limit}"
            else:
                pace += " (no rate limit)"
            lines.append(pace)
        reason = self.stop_reason()
        if reason is not None:
            # The last line says why, as every other failure of the command does.
            lines.append(
                f"tokencancel: error: {reason}; this run recorded {self.recorded}, the rest is "
                "not done: fix the cause, then run the same command again"
            )
        elif self.interrupted:
            lines.append("interrupted: run the same command again to resume")
        return "\n".join(lines)


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "nothing"


class Progress:
    """A one-line progress display on a terminal's stderr, fitted to its width; else silent."""

    def __init__(self, stream: IO[str], *, enabled: bool, total: int | None) -> None:
        self._stream = stream
        self._enabled = enabled
        self._total = total
        self._started = time.monotonic()
        self._shown_at = 0.0

    def update(self, summary: BulkSummary, *, force: bool = False) -> None:
        """Redraw the line, at most five times a second unless `force`."""
        if not self._enabled:
            return
        now = time.monotonic()
        if not force and now - self._shown_at < 0.2:  # noqa: PLR2004 - five refreshes a second
            return
        self._shown_at = now
        line = self.line(summary, now - self._started, _width(self._stream))
        try:
            self._stream.write(f"\r{line}\x1b[K")
            self._stream.flush()
        except (OSError, ValueError):
            self._enabled = False  # the terminal went away; the run goes on

    def line(self, summary: BulkSummary, elapsed: float, width: int) -> str:
        """The progress text for a terminal `width` columns wide: never wider than width - 1."""
        done = summary.recorded + summary.skipped_done
        rate = summary.recorded / max(elapsed, 1e-9)
        failures = summary.counts[ERROR] + summary.counts[RATE_LIMITED]
        count = f"{done}/{self._total}" if self._total else f"{done} tokens"
        tail = f" {count} {rate:.1f}/s failed {failures} {elapsed:.0f}s"
        room = width - 1 - len(tail) - 2
        if self._total and room >= _MIN_BAR:
            size = min(_MAX_BAR, room)
            filled = min(size, int(size * done / self._total))
            text = f"[{'#' * filled}{'.' * (size - filled)}]{tail}"
        else:
            text = tail.strip()
        # Wrapping would print a new line on every refresh; cut instead, the last column free.
        return text[: max(width - 1, 0)]

    def finish(self) -> None:
        """Clear the line."""
        if self._enabled:
            try:
                self._stream.write("\r\x1b[K")
                self._stream.flush()
            except (OSError, ValueError):
                self._enabled = False


def _width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


def count_lines(path: str) -> int | None:
    """The number of lines in a regular file, for the progress bar; None for stdin or pipes."""
    if path == "-":
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would never end
            return None
        with Path(path).open("rb") as source:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: source.read(1 << 20), b""))
    except OSError:
        return None
