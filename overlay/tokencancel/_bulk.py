"""Bulk cancellation: many tokens, one provider, paced at the provider's rate limit, resumable.

`tokencancel bulk PROVIDER INPUT --output RESULTS.jsonl` reads token ids as a stream (plain ids,
CSV with a `token_id[,reference1]` header, or JSONL objects), cancels them with bounded async
concurrency through `AsyncTokenCancelClient`, and appends one JSON line per token to the output.

Design, in the order a reader meets it:

- **Pacing, not bursting.** Providers enforce "N requests per T seconds" over a sliding window.
  `PacingLimiter` schedules one request every `T / (N * 0.98)` seconds, with no initial burst
  and no catching up after a stall, and never lets a request start less than `1.01 * T` after
  the one N places before it actually left (its connection's trace says when). So no window of
  T seconds holds more than N requests, even when opening a connection delayed one of them. The
  limiter sits in the HTTP transport, so the overlay's own retries are paced too.
- **Streaming.** The input is read in small batches in a worker thread and handed to the workers
  through a bounded queue: memory does not grow with the input. (A resumed run keeps the set of
  token ids already done, which is inherent to resuming.)
- **Output.** Each line is one `os.write` of a whole JSON object and its newline on a file opened
  for appending, so a line is written whole or not at all; the file is fsynced at the end.
- **Resume.** A line whose outcome is final marks its token as done, and a re-run with the same
  output skips it. Final: `cancelled`, `cancellation_pending`, `already_inactive`, `not_found`,
  `refused` (a permanent provider refusal) and `invalid_input` (redoing a malformed line cannot
  help; it is recorded once, keyed by line number and text). Transient failures (`rate_limited`,
  `error`: server errors, unexpected answers, timeouts, transport failures, rejected credentials)
  are retried by a re-run. Tokens in flight when a run stops are not recorded, so a re-run does
  them; a cancel is safe to repeat (the provider answers "already inactive").
- **Ctrl-C.** The first SIGINT stops taking tokens, abandons tokens that have not gone on the
  wire yet, and lets requests already sent finish (no further retries); a second one abandons
  those too. The summary is written either way and the exit code is 130.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import csv
import datetime as dt
import io
import json
import logging
import os
import re
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final, Literal

import attrs
import httpx2

from ._client import AsyncTokenCancelClient, _ssl_context
from ._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    ProviderServerError,
    RateLimitedError,
    TokenCancelError,
)
from ._provider import Provider
from ._redact import redact
from ._result import CancelResult
from ._settings import KBankSettings, SolidgateSettings, XenditSettings

__all__ = [
    "BULK_EXIT_CODES",
    "DONE_OUTCOMES",
    "BulkSummary",
    "InputRecord",
    "PacingLimiter",
    "Rate",
    "SendSlot",
    "add_bulk_arguments",
    "default_rate",
    "open_paced_client",
    "read_records",
    "run_bulk",
    "run_bulk_command",
]

InputFormat = Literal["auto", "plain", "csv", "jsonl"]

# Outcomes, as written in the `outcome` field of each output line.
CANCELLED: Final = "cancelled"
CANCELLATION_PENDING: Final = "cancellation_pending"
ALREADY_INACTIVE: Final = "already_inactive"
NOT_FOUND: Final = "not_found"
REFUSED: Final = "refused"
INVALID_INPUT: Final = "invalid_input"
RATE_LIMITED: Final = "rate_limited"
ERROR: Final = "error"

DONE_OUTCOMES: Final = frozenset(
    {CANCELLED, CANCELLATION_PENDING, ALREADY_INACTIVE, NOT_FOUND, REFUSED, INVALID_INPUT}
)
"""Outcomes a re-run with the same output file does not redo."""

_NEEDS_A_LOOK: Final = frozenset({NOT_FOUND, REFUSED, INVALID_INPUT})

EXIT_OK: Final = 0
EXIT_REFUSALS: Final = 1
EXIT_USAGE: Final = 2
EXIT_TRANSIENT: Final = 3
EXIT_INTERRUPTED: Final = 130

BULK_EXIT_CODES: Final = f"""\
exit codes:
  {EXIT_OK}    every token is done and was cancelled, is pending, or was already inactive
  {EXIT_REFUSALS}    every token is done, but some were not found, refused, or malformed input
  {EXIT_USAGE}    usage or configuration error, or the provider rejected the credentials
       (the run stops at the first rejection; nothing is marked done by it)
  {EXIT_TRANSIENT}    some tokens failed transiently (rate limited, server error, timeout,
       transport failure): run the same command again to retry just those
  {EXIT_INTERRUPTED}  interrupted by Ctrl-C: run the same command again to resume
"""

# The largest token id or reference we accept from the input; providers' ids are far shorter.
_MAX_FIELD_LENGTH: Final = 256
_VISIBLE_ASCII: Final = re.compile(r"[\x21-\x7e]+")
_RAW_EXCERPT_LENGTH: Final = 200
_READ_BATCH: Final = 256
_HEADROOM: Final = 0.98
_WINDOW_MARGIN: Final = 1.01
_RATE_UNITS: Final = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0}
_RATE_PATTERN: Final = re.compile(
    r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(s|sec|second|min|minute|h)\s*$", re.IGNORECASE
)


# --------------------------------------------------------------------------------------------
# Rates and the limiter


@attrs.frozen
class Rate:
    """A provider's rate limit: at most `requests` requests in any `per_seconds` seconds."""

    requests: int
    per_seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """Parse `600/min`, `10/s`, `50/5s` or `100/2min`; `off` or `none` means no limit.

        Raises `ValueError` with a readable message on anything else.
        """
        if text.strip().lower() in {"off", "none", "0"}:
            return None
        match = _RATE_PATTERN.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate like 600/min, 10/s, 50/5s or off")
        requests = int(match.group(1))
        multiple = float(match.group(2)) if match.group(2) else 1.0
        per_seconds = multiple * _RATE_UNITS[match.group(3).lower()]
        if requests < 1 or per_seconds <= 0:
            raise ValueError(f"{text!r}: the rate must allow at least one request per period")
        return cls(requests=requests, per_seconds=per_seconds)

    @property
    def per_second(self) -> float:
        """The allowed average rate in requests per second."""
        return self.requests / self.per_seconds

    def __str__(self) -> str:
        return f"{self.requests}/{self.per_seconds:g}s"


def default_rate(
    provider: Provider, settings: KBankSettings | SolidgateSettings | XenditSettings | None
) -> Rate:
    """The limit a bulk run holds unless `--rate` says otherwise.

    - Xendit: 60 requests a minute per endpoint with a test key (`xnd_development_`), 600 with a
      live key (`xnd_production_`), as PROVIDERS.md records.
    - Solidgate: 10 requests a second, its published sandbox limit per merchant account across all
      endpoints (live: 25 a second, shared with the merchant's payment traffic; nothing in a key
      tells sandbox from live, so the lower figure is the safe default).
    - KBank publishes no limit: 5 requests a second, a conservative choice of this project.
    """
    if provider is Provider.XENDIT:
        live = isinstance(settings, XenditSettings) and settings.secret_key.startswith(
            "xnd_production_"
        )
        return Rate(600 if live else 60, 60.0)
    if provider is Provider.SOLIDGATE:
        return Rate(10, 1.0)
    return Rate(5, 1.0)


class SendSlot:
    """One request's place in the pace: when it actually started to leave, once known."""

    __slots__ = ("_known", "sent_at")

    def __init__(self) -> None:
        self.sent_at: float | None = None
        self._known = asyncio.Event()

    def mark_sent(self, when: float) -> None:
        """Record the moment the request started to leave; later calls change nothing."""
        if self.sent_at is None:
            self.sent_at = when
            self._known.set()

    async def wait_sent(self) -> float:
        """The moment the request started to leave, waiting for it if need be."""
        await self._known.wait()
        assert self.sent_at is not None  # noqa: S101 - set together with the event
        return self.sent_at


class PacingLimiter:
    """Spaces requests evenly, and never lets more than the limit into any window.

    Two rules, both measured on this side:

    - *spacing*: acquisitions are scheduled `interval` = T / (N x headroom) apart, from the
      first one on (no initial burst), and the schedule restarts from now after a pause (no
      catching up);
    - *window*: a request may not start less than T x 1.01 after the request N places before it
      actually started to leave (`SendSlot.mark_sent`, fed from the connection's trace once the
      connection is open). This covers what spacing cannot see: a first request that spent its
      slot opening a connection reaches the provider late, closer to the ones after it.

    Spacing sets the pace (98 % of the limit); the window rule only bites after such delays.
    """

    def __init__(
        self,
        rate: Rate,
        *,
        headroom: float = _HEADROOM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.rate = rate
        self.interval = rate.per_seconds / (rate.requests * headroom)
        self.window = rate.per_seconds * _WINDOW_MARGIN
        self._clock = clock
        self._lock = asyncio.Lock()
        self._next_free: float | None = None
        self._recent: deque[SendSlot] = deque(maxlen=rate.requests)

    async def acquire(self) -> SendSlot:
        """Wait for the next slot (first come, first served); mark it sent when the request goes."""
        async with self._lock:
            now = self._clock()
            # max(): after a pause the schedule restarts from now, it never catches up.
            moment = now if self._next_free is None else max(self._next_free, now)
            await self._sleep_until(moment)
            if len(self._recent) == self.rate.requests:
                window_opens = await self._recent[0].wait_sent() + self.window
                await self._sleep_until(window_opens)
                moment = max(moment, window_opens)
            # From the scheduled moment, not the wake-up: a late wake-up does not slow the pace.
            self._next_free = moment + self.interval
            slot = SendSlot()
            self._recent.append(slot)
            return slot

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)


# --------------------------------------------------------------------------------------------
# The paced transport, and what each token's worker knows about its own requests


@attrs.define
class _TokenProgress:
    """What the transport has seen of one token's cancel call."""

    attempts: int = 0
    stop_requested: bool = False


_current_token: contextvars.ContextVar[_TokenProgress | None] = contextvars.ContextVar(
    "tokencancel_bulk_current_token", default=None
)


class _WireLog:
    """Send times of every request that went on the wire, for the achieved-rate figure."""

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None

    def record(self, when: float) -> None:
        self.count += 1
        if self.first is None:
            self.first = when
        self.last = when

    def rate_per_second(self) -> float | None:
        """Requests per second between the first and the last send (None under two requests)."""
        if self.first is None or self.last is None or self.last <= self.first:
            return None
        return (self.count - 1) / (self.last - self.first)


_TraceCallback = Callable[[str, dict[str, Any]], Awaitable[None]]


def _send_tracer(slot: SendSlot, chained: _TraceCallback | None) -> _TraceCallback:
    """An httpcore2 trace callback marking `slot` when the request headers start to go out."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            slot.mark_sent(time.monotonic())
        if chained is not None:
            await chained(event, info)

    return trace


class _PacedTransport(httpx2.AsyncBaseTransport):
    """Passes each request through the limiter first, so retries are paced like first tries."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        limiter: PacingLimiter | None,
        wire_log: _WireLog,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._wire_log = wire_log

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        progress = _current_token.get()
        if progress is not None and progress.stop_requested:
            # Ctrl-C came after this token's first try: no retry; the token stays undone.
            current = asyncio.current_task()
            if current is not None:
                current.cancel()
            await asyncio.sleep(0)
        if self._limiter is None:
            return await self._send(request, progress)
        slot = await self._limiter.acquire()
        request.extensions = {
            **request.extensions,
            "trace": _send_tracer(slot, request.extensions.get("trace")),
        }
        try:
            return await self._send(request, progress)
        finally:
            # No trace (an in-memory transport) or a failure before sending: the latest moment
            # the request can have left is now, so count it from now.
            slot.mark_sent(time.monotonic())

    async def _send(
        self, request: httpx2.Request, progress: _TokenProgress | None
    ) -> httpx2.Response:
        if progress is not None:
            progress.attempts += 1
        self._wire_log.record(time.monotonic())
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


# --------------------------------------------------------------------------------------------
# Input


@attrs.frozen
class InputRecord:
    """One input line: a token to cancel, or the reason the line cannot be one."""

    line: int
    token_id: str | None = None
    reference1: str | None = None
    error: str | None = None
    raw: str | None = None

    @property
    def resume_key(self) -> str:
        """The key a done output line is remembered by: the token id, or the malformed line."""
        if self.token_id is not None:
            return self.token_id
        return _invalid_key(self.line, self.raw or "")


def _invalid_key(line: int, raw: str) -> str:
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


def _record(line: int, raw: str, token_id: object, reference1: object) -> InputRecord:
    problem = _check_field("token_id", token_id, required=True) or _check_field(
        "reference1", reference1, required=False
    )
    if problem is not None:
        return InputRecord(line=line, error=problem, raw=raw[:_RAW_EXCERPT_LENGTH])
    return InputRecord(
        line=line,
        token_id=str(token_id),
        reference1=str(reference1) if reference1 not in (None, "") else None,
    )


def _detect_format(first_line: str) -> InputFormat:
    stripped = first_line.strip()
    if stripped.startswith("{"):
        return "jsonl"
    header = [cell.strip().lower() for cell in stripped.split(",")]
    if "token_id" in header:
        return "csv"
    return "plain"


def read_records(lines: Iterable[str], input_format: InputFormat = "auto") -> Iterator[InputRecord]:
    """Turn input lines into records, lazily; a malformed line becomes a record with `error`.

    Blank lines and, in plain and CSV input, lines starting with `#` are skipped. CSV needs a
    header naming `token_id` (and `reference1` where the provider needs it); each physical line
    is one row. JSONL lines are objects with `token_id` and optionally `reference1`.
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
            yield _record(number, text, stripped, None)
        elif resolved == "jsonl":
            yield _jsonl_record(number, text)
        elif columns is None:
            columns, problem = _csv_header(text)
            if problem is not None:
                yield InputRecord(line=number, error=problem, raw=text[:_RAW_EXCERPT_LENGTH])
                return
        else:
            yield _csv_record(number, text, columns)


def _jsonl_record(number: int, text: str) -> InputRecord:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return InputRecord(line=number, error="not valid JSON", raw=text[:_RAW_EXCERPT_LENGTH])
    if not isinstance(value, dict):
        return InputRecord(line=number, error="not a JSON object", raw=text[:_RAW_EXCERPT_LENGTH])
    return _record(number, text, value.get("token_id"), value.get("reference1"))


def _csv_header(text: str) -> tuple[dict[str, int], str | None]:
    cells = [cell.strip().lower() for cell in _csv_cells(text) or []]
    if "token_id" not in cells:
        return {}, "the CSV header must name a token_id column"
    return {name: cells.index(name) for name in ("token_id", "reference1") if name in cells}, None


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
    reference1 = cells[columns["reference1"]].strip() if "reference1" in columns else None
    return _record(number, text, token_id, reference1)


def _open_input(path: str) -> IO[str]:
    """Open a path or `-` (stdin) as UTF-8 text that never fails to decode."""
    if path == "-":
        return io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8-sig", errors="replace", newline=""
        )
    return Path(path).open(encoding="utf-8-sig", errors="replace", newline="")


# --------------------------------------------------------------------------------------------
# Output


class _OutputLog:
    """The append-only JSONL output: done keys on open, one whole line per write, fsync at close."""

    def __init__(self, path: Path, provider: Provider) -> None:
        self.path = path
        self.done: set[str] = set()
        self.ignored_lines = 0
        self.truncated_tail = False
        self._load(provider)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _load(self, provider: Provider) -> None:
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
        data = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        written = os.write(self._fd, data)
        if written != len(data):  # pragma: no cover - a full disk; never leave half a line behind
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")

    def close(self) -> None:
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)


def _done_key(raw_line: bytes, provider: Provider) -> str | None:
    """The resume key a line marks as done, "" if it marks nothing, None if it is not ours."""
    try:
        entry = json.loads(raw_line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(entry, dict) or "outcome" not in entry:
        return None
    if entry.get("provider") != provider.value or entry.get("outcome") not in DONE_OUTCOMES:
        return ""
    token_id = entry.get("token_id")
    if isinstance(token_id, str):
        return token_id
    line, raw = entry.get("line"), entry.get("input")
    if isinstance(line, int) and isinstance(raw, str):
        return _invalid_key(line, raw)
    return ""


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# Outcomes


@attrs.frozen
class _Outcome:
    outcome: str
    fields: dict[str, Any]
    fatal: bool = False  # the whole run must stop (credentials or configuration are wrong)


def _classify_result(result: CancelResult) -> _Outcome:
    return _Outcome(
        outcome=str(result.outcome),
        fields={
            "http_status": result.http_status,
            "provider_status": result.provider_status,
            "request_id": result.request_id,
        },
    )


def _classify_error(error: TokenCancelError) -> _Outcome:
    fields = {
        "error_type": type(error).__name__,
        "error_code": error.error_code,
        "message": error.message,
        "http_status": error.http_status,
        "request_id": error.request_id,
    }
    if isinstance(error, (AuthenticationError, ConfigurationError)):
        # Not the token's fault: every other token would fail the same way.
        return _Outcome(ERROR, fields, fatal=True)
    if isinstance(error, NotFoundError):
        return _Outcome(NOT_FOUND, fields)
    if isinstance(error, RateLimitedError):
        return _Outcome(RATE_LIMITED, fields)
    if isinstance(error, InvalidRequestError):
        # Refused before sending (the spec forbids the value) or by the provider: either way final.
        return _Outcome(INVALID_INPUT if error.http_status is None else REFUSED, fields)
    if isinstance(error, ProviderError) and not (
        isinstance(error, ProviderServerError) or error.retryable
    ):
        return _Outcome(REFUSED, fields)
    # Server errors, unexpected answers, timeouts and transport failures: worth another try.
    return _Outcome(ERROR, fields)


# --------------------------------------------------------------------------------------------
# The run


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
        """The process exit code this summary calls for (see `BULK_EXIT_CODES`)."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.fatal_error is not None:
            return EXIT_USAGE
        if self.counts[RATE_LIMITED] or self.counts[ERROR]:
            return EXIT_TRANSIENT
        if any(self.counts[outcome] for outcome in _NEEDS_A_LOOK):
            return EXIT_REFUSALS
        return EXIT_OK

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


class _Progress:
    """A one-line progress display on a terminal's stderr; silent otherwise."""

    def __init__(self, stream: IO[str], *, enabled: bool, total: int | None) -> None:
        self._stream = stream
        self._enabled = enabled
        self._total = total
        self._started = time.monotonic()
        self._shown_at = 0.0

    def update(self, summary: BulkSummary, *, force: bool = False) -> None:
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
        if self._enabled:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _count_lines(path: str) -> int | None:
    """The number of lines in a regular file, for the progress bar; None for stdin or pipes."""
    if path == "-":
        return None
    try:
        with Path(path).open("rb") as source:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: source.read(1 << 20), b""))
    except OSError:
        return None


def _take(records: Iterator[InputRecord], count: int) -> tuple[list[InputRecord], Exception | None]:
    """Up to `count` records, and the error that cut the batch short (records before it count)."""
    batch: list[InputRecord] = []
    try:
        for record in records:
            batch.append(record)
            if len(batch) == count:
                break
    except Exception as error:  # handed back, so the records read before it are not lost
        return batch, error
    return batch, None


class _Run:
    """One bulk run's moving parts: a reader task, the workers, the output and the stop logic."""

    def __init__(
        self,
        *,
        client: AsyncTokenCancelClient,
        provider: Provider,
        records: Iterator[InputRecord],
        output: _OutputLog,
        concurrency: int,
        wire_log: _WireLog,
        summary: BulkSummary,
        progress: _Progress,
    ) -> None:
        self.client = client
        self.provider = provider
        self.records = records
        self.output = output
        self.concurrency = concurrency
        self.wire_log = wire_log
        self.summary = summary
        self.progress = progress
        self.queue: asyncio.Queue[InputRecord | None] = asyncio.Queue(maxsize=2 * concurrency)
        self.stopping = False
        self.reader: asyncio.Task[None] | None = None
        self.workers: dict[asyncio.Task[None], _TokenProgress | None] = {}

    async def run(self) -> None:
        self.reader = asyncio.create_task(self._read())
        for _ in range(self.concurrency):
            task = asyncio.create_task(self._work())
            self.workers[task] = None
        await asyncio.gather(*self.workers, return_exceptions=True)
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader

    def stop(self, *, abandon_in_flight: bool, reason: str | None = None) -> None:
        """Stop taking tokens; abandon those not on the wire yet (or all, when told)."""
        self.stopping = True
        if reason is not None and self.summary.fatal_error is None:
            self.summary.fatal_error = reason
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
        for task, token in self.workers.items():
            if token is None or token.attempts == 0 or abandon_in_flight:
                task.cancel()
            else:
                token.stop_requested = True

    async def _read(self) -> None:
        try:
            await self._feed()
        except Exception as error:  # a read error ends the input; what was read still runs
            if self.summary.fatal_error is None:
                self.summary.fatal_error = (
                    f"cannot read the input: {type(error).__name__}: {redact(str(error))}"
                )
        for _ in range(self.concurrency):
            await self.queue.put(None)

    async def _feed(self) -> None:
        done = self.output.done
        while not self.stopping:
            batch, read_error = await asyncio.to_thread(_take, self.records, _READ_BATCH)
            if not batch and read_error is None:
                break
            for record in batch:
                if record.resume_key in done:
                    self.summary.skipped_done += 1
                elif record.error is not None:
                    self._write_invalid(record)
                else:
                    await self.queue.put(record)
            if read_error is not None:
                raise read_error

    def _write_invalid(self, record: InputRecord) -> None:
        self._write(
            INVALID_INPUT,
            record,
            {"error_type": "InvalidInputLine", "message": record.error, "input": record.raw},
            attempts=0,
        )

    async def _work(self) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always inside a task
        while not self.stopping:
            record = await self.queue.get()
            if record is None or self.stopping:
                return
            token = _TokenProgress()
            self.workers[task] = token
            _current_token.set(token)
            outcome = await self._cancel(record)
            self.workers[task] = None
            self._write(outcome.outcome, record, outcome.fields, attempts=token.attempts)
            if outcome.fatal:
                self.stop(abandon_in_flight=False, reason=str(outcome.fields["message"]))

    async def _cancel(self, record: InputRecord) -> _Outcome:
        assert record.token_id is not None  # noqa: S101 - invalid records never reach a worker
        if self.provider is Provider.KBANK and record.reference1 is None:
            return _Outcome(
                INVALID_INPUT,
                {
                    "error_type": "InvalidInputLine",
                    "message": "KBank needs reference1 (a CSV column or a JSONL field)",
                },
            )
        try:
            result = await self.client.cancel(
                self.provider, record.token_id, reference1=record.reference1
            )
        except TokenCancelError as error:
            return _classify_error(error)
        except Exception as error:  # one token's bug must not stop the whole run
            return _Outcome(
                ERROR,
                {"error_type": type(error).__name__, "message": "unexpected error in the client"},
            )
        return _classify_result(result)

    def _write(
        self, outcome: str, record: InputRecord, fields: Mapping[str, Any], *, attempts: int
    ) -> None:
        entry: dict[str, Any] = {
            "token_id": record.token_id,
            "provider": self.provider.value,
            "outcome": outcome,
            "done": outcome in DONE_OUTCOMES,
            "error_type": None,
            "error_code": None,
            "message": None,
            "http_status": None,
            "attempts": attempts,
            "line": record.line,
            "timestamp": _timestamp(),
        }
        entry.update(fields)
        for free_text in ("message", "input"):
            if isinstance(entry.get(free_text), str):
                entry[free_text] = redact(entry[free_text])
        self.output.write(entry)
        self.summary.counts[outcome] += 1
        self.progress.update(self.summary)


async def run_bulk(
    client: AsyncTokenCancelClient,
    provider: Provider,
    records: Iterator[InputRecord],
    output_path: Path,
    *,
    concurrency: int,
    wire_log: _WireLog,
    rate: Rate | None,
    progress_stream: IO[str] | None = None,
    total_lines: int | None = None,
    install_signal_handlers: bool = True,
) -> BulkSummary:
    """Cancel every record's token, append one line per token to `output_path`, and summarise.

    `client` must send through a `_PacedTransport` sharing `wire_log` (`open_paced_client`
    builds one); records already done in `output_path` are skipped.
    """
    output = _OutputLog(output_path, provider)
    summary = BulkSummary(
        provider=provider.value,
        rate_limit=str(rate) if rate else None,
        rate_limit_per_second=rate.per_second if rate else None,
    )
    stream = progress_stream if progress_stream is not None else sys.stderr
    if output.truncated_tail:
        stream.write(f"note: dropped a partial last line from {output_path}\n")
    progress = _Progress(stream, enabled=progress_stream is not None, total=total_lines)
    run = _Run(
        client=client,
        provider=provider,
        records=records,
        output=output,
        concurrency=concurrency,
        wire_log=wire_log,
        summary=summary,
        progress=progress,
    )
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        summary.interrupted = True
        if interrupts == 1:
            stream.write("\nstopping: finishing requests already sent (Ctrl-C again to abandon)\n")
        run.stop(abandon_in_flight=interrupts > 1)

    if install_signal_handlers:
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        await run.run()
    finally:
        if install_signal_handlers:
            loop.remove_signal_handler(signal.SIGINT)
        output.close()
        progress.finish()
        summary.elapsed_seconds = time.monotonic() - started
        summary.requests_sent = wire_log.count
        summary.request_rate_per_second = wire_log.rate_per_second()
    return summary


# --------------------------------------------------------------------------------------------
# Wiring: settings, client, command line


def _settings_from_env(
    provider: Provider, env: Mapping[str, str]
) -> KBankSettings | SolidgateSettings | XenditSettings:
    if provider is Provider.KBANK:
        return KBankSettings.from_env(env)
    if provider is Provider.SOLIDGATE:
        return SolidgateSettings.from_env(env)
    return XenditSettings.from_env(env)


def _inner_transport(
    settings: KBankSettings | SolidgateSettings | XenditSettings, concurrency: int
) -> httpx2.AsyncBaseTransport:
    """The real network transport, verifying TLS (with KBank's client certificate when set)."""
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    kbank = settings if isinstance(settings, KBankSettings) else None
    return httpx2.AsyncHTTPTransport(verify=_ssl_context(kbank), limits=limits)


def open_paced_client(
    settings: KBankSettings | SolidgateSettings | XenditSettings,
    *,
    rate: Rate | None,
    concurrency: int,
    inner: httpx2.AsyncBaseTransport | None = None,
) -> tuple[AsyncTokenCancelClient, _WireLog]:
    """Build a client whose every request goes through a limiter holding `rate`."""
    wire_log = _WireLog()
    limiter = PacingLimiter(rate) if rate is not None else None
    transport = _PacedTransport(
        inner if inner is not None else _inner_transport(settings, concurrency), limiter, wire_log
    )
    if isinstance(settings, KBankSettings):
        client = AsyncTokenCancelClient(kbank=settings, transport=transport)
    elif isinstance(settings, SolidgateSettings):
        client = AsyncTokenCancelClient(solidgate=settings, transport=transport)
    else:
        client = AsyncTokenCancelClient(xendit=settings, transport=transport)
    return client, wire_log


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _rate_argument(text: str) -> Rate | None:
    try:
        return Rate.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_BULK_DESCRIPTION: Final = """\
Cancel many tokens of one provider, paced just under its rate limit.

Input (a file, or - for stdin), detected from the first line or set with --format:
  plain  one token id per line
  csv    a header naming token_id (and reference1, which KBank needs), then one row per line
  jsonl  one object per line: {"token_id": "...", "reference1": "..."}
Blank lines and lines starting with # (plain, csv) are skipped. A malformed line is recorded
as invalid_input and the run goes on.

Output: one JSON line per token appended to --output (token_id, provider, outcome, done,
error_type, error_code, message, http_status, attempts, line, timestamp). Re-running with the
same --output skips every token already done (cancelled, cancellation_pending,
already_inactive, not_found, refused, invalid_input) and retries the rest. Tokens of one input
are not de-duplicated within a run: a repeated id is cancelled again (already_inactive).

Ctrl-C stops taking tokens and lets requests already sent finish; a second Ctrl-C abandons
them. Either way the output stays valid and the same command resumes.

Credentials come from the environment, as for `tokencancel cancel`."""

_BULK_EPILOG: Final = f"""\
rate limits (--rate; the provider's limit, paced at 98% of it, retries included):
  xendit     60/min with a xnd_development_ key, 600/min with a xnd_production_ key
  solidgate  10/s: its published sandbox limit per merchant (live: 25/s, shared with
             the merchant's payment traffic; keys do not tell the two apart)
  kbank      5/s: KBank publishes no limit; a conservative choice

{BULK_EXIT_CODES}"""


def add_bulk_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bulk` subcommand's arguments to `parser`."""
    parser.description = _BULK_DESCRIPTION
    parser.epilog = _BULK_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("provider", choices=[member.value for member in Provider])
    parser.add_argument("input", help="input file, or - for stdin")
    parser.add_argument(
        "--output", "-o", required=True, type=Path, help="JSONL results file (appended, resumable)"
    )
    parser.add_argument(
        "--format",
        dest="input_format",
        choices=["auto", "plain", "csv", "jsonl"],
        default="auto",
        help="input format (default: detected from the first line)",
    )
    parser.add_argument(
        "--rate",
        type=_rate_argument,
        default=argparse.SUPPRESS,
        help="the provider's limit, e.g. 600/min, 10/s, 50/5s, or off (default: see below)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        help="requests in flight at most (default: 16)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    parser.add_argument(
        "--summary-json", type=Path, default=None, help="also write the summary to this JSON file"
    )


def run_bulk_command(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run the `bulk` subcommand from parsed arguments; return the exit code."""
    # Each token's retries and failures are in the output file; on stderr they would only bury
    # the progress bar and the summary. `-v` brings them back.
    package_logger = logging.getLogger("tokencancel")
    previous_level = package_logger.level
    if not getattr(args, "verbose", False):
        package_logger.setLevel(logging.ERROR)
    try:
        return _run_bulk_command(args, os.environ if env is None else env)
    finally:
        package_logger.setLevel(previous_level)


def _run_bulk_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    provider = Provider(args.provider)
    try:
        settings = _settings_from_env(provider, env)
    except ConfigurationError as error:
        sys.stderr.write(f"tokencancel bulk: {error}\n")
        return EXIT_USAGE
    rate: Rate | None = getattr(args, "rate", default_rate(provider, settings))
    try:
        source = _open_input(args.input)
    except OSError as error:
        sys.stderr.write(f"tokencancel bulk: cannot read {args.input}: {error.strerror}\n")
        return EXIT_USAGE
    show_progress = not args.no_progress and sys.stderr.isatty()
    try:
        with source:
            summary = asyncio.run(
                _bulk_main(provider, settings, rate, args, source, show_progress=show_progress)
            )
    except OSError as error:
        sys.stderr.write(f"tokencancel bulk: {args.output}: {error.strerror or error}\n")
        return EXIT_USAGE
    sys.stderr.write(summary.render() + "\n")
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps(summary.to_json_dict(), indent=2) + "\n")
    return summary.exit_code()


async def _bulk_main(
    provider: Provider,
    settings: KBankSettings | SolidgateSettings | XenditSettings,
    rate: Rate | None,
    args: argparse.Namespace,
    source: IO[str],
    *,
    show_progress: bool,
) -> BulkSummary:
    client, wire_log = open_paced_client(settings, rate=rate, concurrency=args.concurrency)
    async with client:
        return await run_bulk(
            client,
            provider,
            read_records(source, args.input_format),
            args.output,
            concurrency=args.concurrency,
            wire_log=wire_log,
            rate=rate,
            progress_stream=sys.stderr if show_progress else None,
            total_lines=_count_lines(args.input) if show_progress else None,
        )
