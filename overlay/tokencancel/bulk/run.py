"""One bulk run: a reader task feeding a bounded queue, the workers, the output, the stops.

The input is read in small batches in a worker thread and handed to the workers through a
bounded queue, so memory does not grow with the input (a resumed run keeps the set of token ids
already done, which is inherent to resuming). Tokens in flight when a run stops are not
recorded, so a re-run does them; a cancel is safe to repeat (the provider answers "already
inactive"). The first SIGINT stops taking tokens, abandons tokens that have not gone on the
wire yet, and lets requests already sent finish (no further retries); a second one abandons
those too.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

import httpx2

from .._errors import TokenCancelError
from .._exit import Category
from .._facade import AsyncTokenCancelClient
from .._rate import Rate
from .._redact import redact
from .._transport import AsyncTransportFactory, TransportSettings, default_async_transport
from .input import InputRecord
from .outcomes import DONE_OUTCOMES, Outcome, classify_error, classify_result
from .output import OutputLog, timestamp
from .pacing import PacedTransport, PacingLimiter, TokenProgress, WireLog, current_token
from .summary import BulkSummary, Progress

__all__ = ["open_paced_client", "run_bulk"]

_READ_BATCH: Final = 256


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
        provider: str,
        records: Iterator[InputRecord],
        output: OutputLog,
        concurrency: int,
        wire_log: WireLog,
        summary: BulkSummary,
        progress: Progress,
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
        self.workers: dict[asyncio.Task[None], TokenProgress | None] = {}

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
            Category.INVALID_INPUT.value,
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
        except Exception as error:  # one token's bug must not stop the whole run
            return Outcome(
                Category.ERROR,
                {"error_type": type(error).__name__, "message": "unexpected error in the client"},
            )
        return classify_result(result)

    def _write(
        self, outcome: str, record: InputRecord, fields: Mapping[str, Any], *, attempts: int
    ) -> None:
        entry: dict[str, Any] = {
            "token_id": record.token_id,
            "provider": self.provider,
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
        for free_text in ("message", "input"):
            if isinstance(entry.get(free_text), str):
                entry[free_text] = redact(entry[free_text])
        self.output.write(entry)
        self.summary.counts[outcome] += 1
        self.progress.update(self.summary)


async def run_bulk(
    client: AsyncTokenCancelClient,
    provider: str,
    records: Iterator[InputRecord],
    output_path: Path,
    *,
    concurrency: int,
    wire_log: WireLog,
    rate: Rate | None,
    progress_stream: IO[str] | None = None,
    total_lines: int | None = None,
    install_signal_handlers: bool = True,
) -> BulkSummary:
    """Cancel every record's token, append one line per token to `output_path`, and summarise.

    `client` must send through a `PacedTransport` sharing `wire_log` (`open_paced_client`
    builds one); records already done in `output_path` are skipped.
    """
    output = OutputLog(output_path, provider)
    summary = BulkSummary(
        provider=provider,
        rate_limit=str(rate) if rate else None,
        rate_limit_per_second=rate.per_second if rate else None,
    )
    stream = progress_stream if progress_stream is not None else sys.stderr
    if output.truncated_tail:
        stream.write(f"note: dropped a partial last line from {output_path}\n")
    progress = Progress(stream, enabled=progress_stream is not None, total=total_lines)
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


def open_paced_client(
    settings: Any,
    *,
    rate: Rate | None,
    concurrency: int,
    inner: httpx2.AsyncBaseTransport | None = None,
    network: AsyncTransportFactory = default_async_transport,
) -> tuple[AsyncTokenCancelClient, WireLog]:
    """Build a client for `settings`' provider whose every request goes through the limiter.

    The network transport (`network`: httpx2's, or `tokencancel.aiohttp_transport.factory`) is
    built from the client's own TLS context, pool limits and proxy policy, exactly as for
    `tokencancel cancel` and the library; `inner` replaces it in tests.
    """
    wire_log = WireLog()
    limiter = PacingLimiter(rate) if rate is not None else None

    def paced(transport_settings: TransportSettings) -> httpx2.AsyncBaseTransport:
        sender = inner if inner is not None else network(transport_settings)
        return PacedTransport(sender, limiter, wire_log)

    client = AsyncTokenCancelClient(
        settings=[settings],
        limits=httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        transport_factory=paced,
    )
    return client, wire_log
