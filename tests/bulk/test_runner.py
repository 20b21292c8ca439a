"""The bulk runner in-process: failures underneath (input, disk, bugs) and what each leaves."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from tokencancel import Provider, XenditSettings
from tokencancel.bulk import BulkSummary, InputRecord, open_paced_client, run_bulk
from tokencancel.bulk import output as output_module
from tokencancel.bulk import run as run_module
from tokencancel.bulk.summary import Progress

_CANCELED = json.dumps({"payment_token_id": "x", "status": "CANCELED"}).encode()
SETTINGS = XenditSettings(secret_key="xnd_development_test", base_url="http://127.0.0.1:9")


def _token(number: int) -> str:
    return f"pt-{number:08d}-0000-4000-8000-000000000000"


def _records(count: int, *, repeat: int = 1) -> Iterator[InputRecord]:
    for index in range(count * repeat):
        yield InputRecord(line=index + 1, token_id=_token(index % count))


class _Counting:
    """A mock Xendit answering every cancel with success, counting the requests."""

    def __init__(self, body: bytes = _CANCELED, status: int = 200) -> None:
        self.requests = 0
        self.body = body
        self.status = status
        self._lock = threading.Lock()

    def __call__(self, _request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests += 1
        return httpx2.Response(
            self.status, content=self.body, headers={"Content-Type": "application/json"}
        )


def _run(
    records: Iterator[InputRecord],
    output: Path,
    answer: _Counting,
    *,
    concurrency: int = 4,
) -> BulkSummary:
    async def scenario() -> BulkSummary:
        client, wire_log = open_paced_client(
            SETTINGS, rate=None, concurrency=concurrency, inner=httpx2.MockTransport(answer)
        )
        async with client:
            return await run_bulk(
                client,
                Provider.XENDIT,
                records,
                output,
                concurrency=concurrency,
                wire_log=wire_log,
                rate=None,
                install_signal_handlers=False,
            )

    return asyncio.run(scenario())


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.timeout(30)  # without the fix, workers waited forever for input that never came
def test_an_input_read_error_stops_the_run_cleanly(tmp_path: Path) -> None:
    """A read error ends the input: tokens read before it are done, then exit 5 with a reason."""

    def failing_input() -> Iterator[InputRecord]:
        yield from _records(3)
        raise OSError("disk went away")

    summary = _run(failing_input(), tmp_path / "out.jsonl", _Counting(), concurrency=2)

    assert summary.file_error is not None
    assert "disk went away" in summary.file_error
    assert summary.exit_code() == 5
    entries = _entries(tmp_path / "out.jsonl")
    assert sorted(entry["line"] for entry in entries) == [1, 2, 3]
    assert {entry["outcome"] for entry in entries} == {"cancelled"}


def test_a_full_disk_stops_the_run_at_once_with_exit_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes failing with ENOSPC: exit 5, few requests past the last line, no line half-written."""
    real_write = os.write
    writes = 0

    def full_after_ten(fd: int, data: bytes) -> int:
        nonlocal writes
        writes += 1
        if writes > 10:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(output_module.os, "write", full_after_ten)
    answer = _Counting()

    summary = _run(_records(200), tmp_path / "out.jsonl", answer, concurrency=4)

    assert summary.exit_code() == 5
    assert summary.file_error is not None
    assert "No space left on device" in summary.file_error
    assert len(_entries(tmp_path / "out.jsonl")) == 10
    # Before the fix, the failing workers died silently and the run went on with fewer (127 of
    # 200 never sent, exit 0). Now it stops: at most the requests in flight follow the failure.
    assert answer.requests <= 10 + 1 + 2 * 4
    assert summary.recorded == 10
    assert summary.unaccounted > 0  # the rest stays undone, for the re-run


def test_a_bug_in_a_worker_is_raised_not_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception ends the run and reaches the caller (the CLI's exit 4)."""
    calls = 0

    def broken(result: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("a bug")
        return real(result)

    real = run_module.classify_result
    monkeypatch.setattr(run_module, "classify_result", broken)

    with pytest.raises(RuntimeError, match="a bug"):
        _run(_records(50), tmp_path / "out.jsonl", _Counting())

    # The output was closed properly: whole lines, and the lock is free for the re-run.
    assert all(entry["outcome"] == "cancelled" for entry in _entries(tmp_path / "out.jsonl"))
    rerun = _run(_records(50), tmp_path / "out.jsonl", _Counting())
    assert rerun.exit_code() == 0


def test_repeated_ids_are_sent_once_and_recorded_as_duplicates(tmp_path: Path) -> None:
    """100 lines over 10 ids send 10 requests; each repeat points at the line that was sent."""
    answer = _Counting()

    summary = _run(_records(10, repeat=10), tmp_path / "out.jsonl", answer)

    assert answer.requests == 10
    entries = _entries(tmp_path / "out.jsonl")
    duplicates = [entry for entry in entries if entry["outcome"] == "duplicate"]
    assert len(duplicates) == 90
    assert all(entry["duplicate_of"] == (entry["line"] - 1) % 10 + 1 for entry in duplicates)
    assert summary.exit_code() == 0

    again = _Counting()
    rerun = _run(_records(10, repeat=10), tmp_path / "out.jsonl", again)
    assert (again.requests, rerun.recorded, rerun.skipped_done) == (0, 0, 100)


def test_a_rerun_exits_with_what_the_first_run_recorded(tmp_path: Path) -> None:
    """Tokens skipped as recorded count with their recorded category: not found stays exit 1."""
    not_found = json.dumps({"error_code": "DATA_NOT_FOUND", "message": "nope"}).encode()

    first = _run(_records(5), tmp_path / "out.jsonl", _Counting(not_found, status=404))
    second = _run(_records(5), tmp_path / "out.jsonl", _Counting())

    assert first.exit_code() == 1
    assert second.exit_code() == 1
    assert second.recorded == 0
    assert second.to_json_dict()["totals"] == {"not_found": 5}


def test_provider_text_reaches_the_output_escaped_and_valid(tmp_path: Path) -> None:
    """Escape sequences, NULs and lone surrogates in a provider's answer: a valid, inert line."""
    hostile = (
        b'{"error_code": "\\u001b[31mEVIL\\udc80", "message": "\\u001b]0;title\\u0007 \\u0000"}'
    )
    summary = _run(_records(1), tmp_path / "out.jsonl", _Counting(hostile, status=400))

    raw = (tmp_path / "out.jsonl").read_bytes()
    assert b"\x1b" not in raw
    assert b"\x07" not in raw
    (entry,) = _entries(tmp_path / "out.jsonl")
    assert entry["error_code"] == "\\x1b[31mEVIL\\udc80"
    assert "\x1b" not in entry["message"]
    assert summary.exit_code() == 3  # an undocumented code: the token's state is unknown


@pytest.mark.parametrize("width", [1, 5, 10, 20, 40, 80, 200])
def test_the_progress_line_never_wraps(width: int) -> None:
    """However narrow the terminal, the progress line is shorter than it, so it never wraps."""
    summary = BulkSummary(provider="xendit")
    summary.counts["cancelled"] = 123_456
    summary.counts["error"] = 7
    progress = Progress(open(os.devnull, "w"), enabled=True, total=1_000_000)  # noqa: SIM115
    line = progress.line(summary, elapsed=98_765.4, width=width)
    assert len(line) <= max(width - 1, 0)
    if width >= 80:
        assert "[" in line  # the bar itself, when there is room for it
