"""One bulk run: an input thread, a feeder, the workers, the output and every way it can stop.

The input is read in batches by a daemon thread (a read that never returns, from a stalled
pipe, cannot hold the process after a stop) and handed over through a bounded queue, so memory
does not grow with the input beyond two maps: the output's done tokens (resuming) and the ids
seen in this input (sending each once). The feeder skips tokens already recorded, records
malformed lines and repeats, runs the preflight before the first cancel, and queues the rest
for the workers.

Nothing fails silently: every task's exception stops the run. A file error (`BulkFileError`:
the output cannot be written or flushed, the input cannot be read) ends it with exit code 5; a
write failure abandons requests in flight at once (their answers could not be recorded), a read
failure lets them finish. Anything else is a bug, re-raised after the output is closed (exit 4).

SIGINT, SIGTERM and SIGHUP all stop a run the same way: the first stops taking tokens, abandons
those not on the wire yet and lets requests already sent finish (no further retries); a second
abandons those too. Tokens in flight when a run stops are not recorded, so a re-run does them;
a cancel is safe to repeat (the provider answers "already inactive").
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final

import httpx2

from .._errors import TokenCancelError
from .._exit import Category
from .._facade import AsyncTokenCancelClient
from .._rate import Rate
from .._transport import AsyncTransportFactory, TransportSettings, default_async_transport
from ..providers import CheckReport
from .input import InputRecord, duplicate_key
from .outcomes import Outcome, classify_error, classify_result, output_entry
from .output import BulkFileError, OutputLog
from .pacing import PacedTransport, PacingLimiter, TokenProgress, WireLog, current_token
from .summary import BulkSummary, Progress, say

__all__ = ["STOP_SIGNALS", "open_paced_client", "run_bulk"]

_READ_BATCH: Final = 256
_BATCHES_AHEAD: Final = 4
STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals that stop a run cleanly (a second one abandons requests in flight)."""

Preflight = Callable[[], Awaitable[CheckReport]]


class _InputThread:
    """Reads records in batches on a daemon thread; the loop takes them with `next_batch`."""

    def __init__(self, records: Iterator[InputRecord], loop: asyncio.AbstractEventLoop) -> None:
        self._records = records
        self._loop = loop
        self._slots = threading.Semaphore(_BATCHES_AHEAD)
        self._stopped = threading.Event()
        self._queue: asyncio.Queue[tuple[list[InputRecord], BaseException | None]] = asyncio.Queue()
        self._thread = threading.Thread(
            target=self._read, name="tokencancel-bulk-input", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    async def next_batch(self) -> tuple[list[InputRecord], BaseException | None]:
        """The next records and the error that ended the input, if any; ([], None) at its end."""
        batch = await self._queue.get()
        self._slots.release()
        return batch

    def _read(self) -> None:
        while not self._stopped.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            batch: list[InputRecord] = []
            error: BaseException | None = None
            try:
                for record in self._records:
                    batch.append(record)
                    if len(batch) == _READ_BATCH:
                        break
            except BaseException as caught:  # handed to the loop, which decides
                error = caught
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                self._loop.call_soon_threadsafe(self._queue.put_nowait, (batch, error))
            if error is not None or len(batch) < _READ_BATCH:
                return


class _Run:
    """One bulk run's moving parts: the feeder, the workers, the output and the stops."""

    def __init__(
        self,
        *,
        client: AsyncTokenCancelClient,
        provider: str,
        records: Iterator[InputRecord],
        output: OutputLog,
        concurrency: int,
        summary: BulkSummary,
        progress: Progress,
        preflight: Preflight | None,
        stream: IO[str] | None,
    ) -> None:
        self.client = client
        self.provider = provider
        self.output = output
        self.concurrency = concurrency
        self.summary = summary
        self.progress = progress
        self.preflight = preflight
        self.stream = stream
        self.input = _InputThread(records, asyncio.get_running_loop())
        self.queue: asyncio.Queue[InputRecord | None] = asyncio.Queue(maxsize=2 * concurrency)
        # Token id -> the line that sends it: just the line number when the token has no other
        # fields (most providers; the one memory cost that grows with the input), else the line
        # and the fields, compared exactly.
        self.seen: dict[str, int | tuple[int, tuple[tuple[str, str], ...]]] = {}
        self.stopping = False
        self.failure: BaseException | None = None
        self.feeder: asyncio.Task[None] | None = None
        self.workers: dict[asyncio.Task[None], TokenProgress | None] = {}

    async def run(self) -> None:
        self.feeder = asyncio.create_task(self._feed())
        self.feeder.add_done_callback(self._on_done)
        for _ in range(self.concurrency):
            task = asyncio.create_task(self._work())
            task.add_done_callback(self._on_done)
            self.workers[task] = None
        try:
            await asyncio.wait([self.feeder, *self.workers])
        finally:
            self.input.stop()
        if self.failure is not None:
            raise self.failure

    def _on_done(self, task: asyncio.Task[None]) -> None:
        """Stop the run on the first task that failed: no error is ever left unseen."""
        if task.cancelled() or task.exception() is None or self.failure is not None:
            return
        error = task.exception()
        self.failure = error
        # A write failure: answers still coming could not be recorded, so abandon them now.
        # A read failure: requests already sent can still be recorded; let them finish.
        reading = isinstance(error, BulkFileError) and error.reading
        self.stop(abandon_in_flight=not reading)

    def stop(self, *, abandon_in_flight: bool, reason: str | None = None) -> None:
        """Stop taking tokens; abandon those not on the wire yet (or all, when told)."""
        self.stopping = True
        self.input.stop()
        if reason is not None and self.summary.fatal_error is None:
            self.summary.fatal_error = reason
        if self.feeder is not None and self.feeder is not asyncio.current_task():
            self.feeder.cancel()
        for task, token in self.workers.items():
            if token is None or token.attempts == 0 or abandon_in_flight:
                task.cancel()
            else:
                token.stop_requested = True

    # -- the feeder --------------------------------------------------------------------------

    async def _feed(self) -> None:
        await self._feed_batches()
        if not self.stopping:  # the input ended: each worker ends after the last token
            for _ in self.workers:
                await self.queue.put(None)

    async def _feed_batches(self) -> None:
        self.input.start()
        checked = self.preflight is None
        while not self.stopping:
            batch, error = await self.input.next_batch()
            for record in batch:
                self.summary.tokens_read += 1
                if not self._settled(record):
                    if not checked:
                        checked = await self._check()
                        if not checked:
                            return
                    await self.queue.put(record)
            if isinstance(error, OSError):
                raise BulkFileError(
                    f"cannot read the input: {error.strerror or error}", reading=True
                ) from None
            if error is not None:
                raise error
            if len(batch) < _READ_BATCH:
                return

    def _settled(self, record: InputRecord) -> bool:
        """Skip, record or refuse `record` without sending; False if it is to be cancelled."""
        if record.token_id is not None:
            fields = tuple(sorted(record.fields.items()))
            first = self.seen.setdefault(
                record.token_id, (record.line, fields) if fields else record.line
            )
            line, first_fields = first if isinstance(first, tuple) else (first, ())
            if line != record.line:
                return self._repeat(record, line, same_fields=first_fields == fields)
        done = self.output.done.get(record.resume_key)
        if done is not None:
            self.summary.skipped[done.value] += 1
            return True
        if record.error is not None:
            self._write(
                Category.INVALID_INPUT.value,
                record,
                {"error_type": "InvalidInputLine", "message": record.error},
                attempts=0,
            )
            return True
        return False

    def _repeat(self, record: InputRecord, line: int, *, same_fields: bool) -> bool:
        """A token id an earlier line (`line`) already has: never sent twice."""
        if not same_fields:
            # Two lines name one token with different fields: which one is meant is unknown.
            invalid = InputRecord(
                line=record.line, error="repeat", raw=record.raw, digest=record.digest
            )
            done = self.output.done.get(invalid.resume_key)
            if done is not None:
                self.summary.skipped[done.value] += 1
                return True
            message = f"token_id repeats line {line} with other fields; only line {line} is sent"
            self._write(
                Category.INVALID_INPUT.value,
                invalid,
                {"error_type": "InvalidInputLine", "message": message},
                attempts=0,
            )
            return True
        done = self.output.done.get(duplicate_key(record.line, record.token_id or ""))
        if done is not None:
            self.summary.skipped[done.value] += 1
            return True
        self._write(
            Category.DUPLICATE.value,
            record,
            {"duplicate_of": line, "message": f"token_id repeats line {line}, sent once there"},
            attempts=0,
        )
        return True

    async def _check(self) -> bool:
        """Run the preflight before the first cancel; False (and the run stops) if it fails."""
        assert self.preflight is not None  # noqa: S101 -- only called when there is one
        report = await self.preflight()
        self.summary.check = report.to_json_dict()
        if report.refuses:
            say(self.stream, report.render())
            say(self.stream, "bulk: not started (the check failed); --skip-check skips it")
            self.summary.check_refused = report.exit_code
            self.stop(abandon_in_flight=False)
            return False
        say(self.stream, report.render().splitlines()[0] if report.passed else report.render())
        return True

    # -- the workers -------------------------------------------------------------------------

    async def _work(self) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always inside a task
        while not self.stopping:
            record = await self.queue.get()
            if record is None or self.stopping:
                return
            token = TokenProgress()
            self.workers[task] = token
            current_token.set(token)
            outcome = await self._cancel(record)
            self.workers[task] = None
            self._write(outcome.name, record, outcome.fields, attempts=token.attempts)
            if outcome.fatal:
                self.stop(abandon_in_flight=False, reason=str(outcome.fields["message"]))

    async def _cancel(self, record: InputRecord) -> Outcome:
        assert record.token_id is not None  # noqa: S101 - invalid records never reach a worker
        try:
            result = await self.client.cancel(
                self.provider,  # type: ignore[arg-type]  # any registered provider's name
                record.token_id,
                **record.fields,
            )
        except TokenCancelError as error:
            return classify_error(error)
        return classify_result(result)

    def _write(
        self, outcome: str, record: InputRecord, fields: dict[str, Any], *, attempts: int
    ) -> None:
        self.output.write(output_entry(self.provider, outcome, record, fields, attempts=attempts))
        self.summary.counts[outcome] += 1
        self.progress.update(self.summary)


async def run_bulk(
    client: AsyncTokenCancelClient,
    provider: str,
    records: Iterator[InputRecord],
    output: Path | OutputLog,
    *,
    concurrency: int,
    wire_log: WireLog,
    rate: Rate | None,
    progress_stream: IO[str] | None = None,
    total_lines: int | None = None,
    install_signal_handlers: bool = True,
    preflight: Preflight | None = None,
    stream: IO[str] | None = None,
) -> BulkSummary:
    """Cancel every record's token, append one line per token to `output`, and summarise.

    `client` must send through a `PacedTransport` sharing `wire_log` (`open_paced_client`
    builds one); records already done in `output` are skipped, and counted with the outcome
    recorded for them. `preflight` runs before the first cancel; a failed check stops the run.
    A file error ends the run with `summary.file_error` set; any other exception is raised
    after the output is closed.
    """
    stream = stream if stream is not None else sys.stderr
    log = output if isinstance(output, OutputLog) else OutputLog(output, provider)
    summary = BulkSummary(
        provider=provider,
        rate_limit=str(rate) if rate else None,
        rate_limit_per_second=rate.per_second if rate else None,
    )
    for note in log.state.notes(log.path):
        say(stream, note)
    progress = Progress(stream, enabled=progress_stream is not None, total=total_lines)
    run = _Run(
        client=client,
        provider=provider,
        records=records,
        output=log,
        concurrency=concurrency,
        summary=summary,
        progress=progress,
        preflight=preflight,
        stream=stream,
    )
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal(number: signal.Signals) -> None:
        nonlocal signals
        signals += 1
        summary.interrupted = True
        if signals == 1:
            say(
                stream,
                f"\nstopping ({number.name}): finishing requests already sent "
                "(send it again to abandon them)",
            )
        run.stop(abandon_in_flight=signals > 1)

    if install_signal_handlers:
        for number in STOP_SIGNALS:
            loop.add_signal_handler(number, on_signal, number)
    try:
        await run.run()
    except BulkFileError as error:
        summary.file_error = str(error)
    finally:
        if install_signal_handlers:
            for number in STOP_SIGNALS:
                loop.remove_signal_handler(number)
        progress.finish()
        summary.elapsed_seconds = time.monotonic() - started
        summary.requests_sent = wire_log.count
        summary.request_rate_per_second = wire_log.rate_per_second()
        _close(log, summary)
    return summary


def _close(log: OutputLog, summary: BulkSummary) -> None:
    """Flush and close the output; a failed flush is the run's file error (exit 5)."""
    if summary.file_error is not None:
        log.abandon()
        return
    try:
        log.close()
    except BulkFileError as error:
        summary.file_error = str(error)


def open_paced_client(
    settings: Any,
    *,
    rate: Rate | None,
    concurrency: int,
    inner: httpx2.AsyncBaseTransport | None = None,
    transport_factory: AsyncTransportFactory = default_async_transport,
    **options: Any,
) -> tuple[AsyncTokenCancelClient, WireLog]:
    """Build a client for `settings`' provider whose every request goes through the limiter.

    The network transport (`transport_factory`: httpx2's, or
    `tokencancel.aiohttp_transport.factory`) is built from the client's own TLS context, pool
    limits and proxy policy, exactly as for `tokencancel cancel` and the library; `inner`
    replaces it in tests. `options` are further client arguments (the environment's outcome
    rules and CA bundle).
    """
    wire_log = WireLog()
    limiter = PacingLimiter(rate) if rate is not None else None

    def paced(transport_settings: TransportSettings) -> httpx2.AsyncBaseTransport:
        sender = inner if inner is not None else transport_factory(transport_settings)
        return PacedTransport(sender, limiter, wire_log)

    client = AsyncTokenCancelClient(
        settings=[settings],
        limits=httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        transport_factory=paced,
        **options,
    )
    return client, wire_log
