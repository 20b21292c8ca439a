"""What a run did, for the terminal and for `--summary-json`; and the progress line."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import attrs

from .._exit import Category, ExitCode

__all__ = ["BulkSummary", "Progress", "count_lines"]

RATE_LIMITED = Category.RATE_LIMITED.value
ERROR = Category.ERROR.value


@attrs.define
class BulkSummary:
    """What a run did: counts per outcome of this run, and the pace it held."""

    provider: str
    counts: Counter[str] = attrs.field(factory=Counter)
    skipped_done: int = 0
    requests_sent: int = 0
    elapsed_seconds: float = 0.0
    request_rate_per_second: float | None = None
    rate_limit: str | None = None
    rate_limit_per_second: float | None = None
    interrupted: bool = False
    fatal_error: str | None = None

    @property
    def recorded(self) -> int:
        """Output lines written by this run."""
        return sum(self.counts.values())

    def exit_code(self) -> int:
        """The process exit code this summary calls for (the table in `tokencancel._exit`)."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.fatal_error is not None:
            return ExitCode.USAGE
        return max(
            (Category(outcome).exit_code for outcome, count in self.counts.items() if count),
            default=ExitCode.OK,
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values."""
        return {
            "provider": self.provider,
            "counts": dict(sorted(self.counts.items())),
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
            "exit_code": self.exit_code(),
        }

    def render(self) -> str:
        """A few human lines for stderr."""
        counts = ", ".join(f"{name} {count}" for name, count in sorted(self.counts.items()))
        lines = [
            f"bulk {self.provider}: {self.recorded} recorded ({counts or 'nothing'}),"
            f" {self.skipped_done} skipped as already done",
            f"elapsed {self.elapsed_seconds:.1f} s, {self.requests_sent} requests",
        ]
        if self.request_rate_per_second is not None:
            pace = f"achieved {self.request_rate_per_second:.2f} requests/s"
            if self.rate_limit_per_second:
                share = self.request_rate_per_second / self.rate_limit_per_second
                pace += f" = {share:.1%} of the limit {self.rate_limit}"
            else:
                pace += " (no rate limit)"
            lines.append(pace)
        if self.fatal_error is not None:
            lines.append(f"stopped: {self.fatal_error}")
        if self.interrupted:
            lines.append("interrupted: run the same command again to resume")
        return "\n".join(lines)


class Progress:
    """A one-line progress display on a terminal's stderr; silent otherwise."""

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
        done = summary.recorded + summary.skipped_done
        elapsed = max(now - self._started, 1e-9)
        rate = summary.recorded / elapsed
        if self._total:
            width = 24
            filled = min(width, int(width * done / self._total))
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self._total}"
        else:
            bar = f"{done} tokens"
        failures = summary.counts[ERROR] + summary.counts[RATE_LIMITED]
        self._stream.write(f"\r{bar}  {rate:.1f}/s  failed {failures}  {elapsed:.0f}s ")
        self._stream.flush()

    def finish(self) -> None:
        """Clear the line."""
        if self._enabled:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def count_lines(path: str) -> int | None:
    """The number of lines in a regular file, for the progress bar; None for stdin or pipes."""
    if path == "-":
        return None
    try:
        with Path(path).open("rb") as source:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: source.read(1 << 20), b""))
    except OSError:
        return None
