"""Ctrl-C mid-run, and the rate limit held against a sandbox that enforces it."""

from __future__ import annotations

import bisect
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tokencancel_sandbox import RateLimit, Sandbox, SandboxConfig
from tokencancel_sandbox._ratelimit import SlidingWindowLimiter

from .conftest import bulk_command, read_output, run_bulk_cli


def _start_bulk(env: dict[str, str], ids: Path, output: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bulk_command("xendit", str(ids), output, *extra),
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lines(output: Path, count: int, process: subprocess.Popen[str]) -> None:
    """Wait until the output holds `count` lines (the run is visibly under way)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if output.exists() and output.read_text().count("\n") >= count:
            return
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    pytest.fail(f"fewer than {count} output lines after 30 s")


def test_ctrl_c_stops_cleanly_and_a_rerun_finishes_without_sending_anything_twice(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """After Ctrl-C every line is valid, and the re-run cancels the rest, each token once."""
    tokens = [sandbox.create_token("xendit") for _ in range(30)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n")
    output = tmp_path / "out.jsonl"
    process = _start_bulk(sandbox.env(), ids, output, "--rate", "10/s", "--concurrency", "4")
    _wait_for_lines(output, 5, process)

    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 130
    interrupted = read_output(output)  # every line parses: nothing half-written
    assert 5 <= len(interrupted) < len(tokens)
    summary = json.loads(Path(str(output) + ".summary.json").read_text())
    assert summary["interrupted"] is True
    assert "resume" in stderr

    rerun = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    entries = read_output(output)
    assert rerun.exit_code == 0
    assert sorted(entry["token_id"] for entry in entries) == sorted(tokens)
    # Had an abandoned request reached the sandbox, the re-run would see "already_inactive".
    assert Counter(entry["outcome"] for entry in entries) == {"cancelled": len(tokens)}


@dataclass
class ServerLog:
    """What the sandbox's own limiter saw: times of accepted calls, and how many it refused."""

    accepted: list[float] = field(default_factory=list)
    refused: int = 0

    def busiest_window(self, seconds: float) -> int:
        """The most accepted calls in any window of `seconds` (closed at both ends)."""
        times = sorted(self.accepted)
        return max(
            (
                bisect.bisect_right(times, start + seconds) - index
                for index, start in enumerate(times)
            ),
            default=0,
        )


LIMIT = RateLimit(requests=10, per_seconds=2.0)


@pytest.fixture
def limited_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, ServerLog]]:
    """A sandbox whose Xendit endpoint answers 429 past 10 calls in any 2 s, with its log."""
    log = ServerLog()
    lock = threading.Lock()
    acquire = SlidingWindowLimiter.acquire

    def logged_acquire(limiter: SlidingWindowLimiter) -> float | None:
        with lock:
            verdict = acquire(limiter)
            if verdict is None:
                log.accepted.append(time.monotonic())
            else:
                log.refused += 1
            return verdict

    monkeypatch.setattr(SlidingWindowLimiter, "acquire", logged_acquire)
    with Sandbox.start(config=SandboxConfig(rate_limits={"xendit": LIMIT})) as running:
        yield running, log


def test_bulk_at_the_sandbox_limit_never_exceeds_it(
    limited_sandbox: tuple[Sandbox, ServerLog], tmp_path: Path
) -> None:
    """Paced at the limit the server enforces, the server never counts more than N in any T."""
    sandbox, server = limited_sandbox
    tokens = [sandbox.create_token("xendit") for _ in range(24)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n")
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(
        sandbox.env(), "xendit", str(ids), output, "--rate", "10/2s", "--concurrency", "8"
    )

    assert len(server.accepted) == 24 + 1  # and the preflight's call, paced like the rest
    assert server.refused == 0
    assert server.busiest_window(LIMIT.per_seconds) <= LIMIT.requests
    assert [(e["outcome"], e["attempts"]) for e in read_output(output)] == [("cancelled", 1)] * 24
    assert run.exit_code == 0


def test_without_pacing_the_same_sandbox_does_refuse(
    limited_sandbox: tuple[Sandbox, ServerLog], tmp_path: Path
) -> None:
    """The control for the test above: unpaced, the server's limit is hit and 429s happen."""
    sandbox, server = limited_sandbox
    tokens = [sandbox.create_token("xendit") for _ in range(14)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n")

    run_bulk_cli(sandbox.env(), "xendit", str(ids), tmp_path / "out.jsonl", "--rate", "off")

    assert server.refused > 0
