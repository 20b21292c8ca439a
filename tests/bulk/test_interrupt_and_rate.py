"""Ctrl-C mid-run, and the rate limit held against a sandbox that enforces it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tokencancel_sandbox import RateLimit, Sandbox, SandboxConfig

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


def test_second_ctrl_c_abandons_requests_in_flight(sandbox: Sandbox, tmp_path: Path) -> None:
    """A second Ctrl-C does not wait for a slow answer; that token stays undone for the re-run."""
    slow = sandbox.create_token("xendit", fault="slow", fault_times=1, delay_seconds=8)
    quick = [sandbox.create_token("xendit") for _ in range(10)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join([slow, *quick]) + "\n")
    output = tmp_path / "out.jsonl"
    process = _start_bulk(sandbox.env(), ids, output, "--rate", "off", "--concurrency", "2")
    _wait_for_lines(output, len(quick), process)  # only the slow one is left in flight

    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)

    assert process.returncode == 130
    assert slow not in {entry["token_id"] for entry in read_output(output)}

    rerun = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    redone = [entry for entry in read_output(output) if entry["token_id"] == slow]
    assert rerun.summary["skipped_done"] == len(quick)
    # The abandoned request may or may not have reached the provider; either answer is done.
    assert [entry["outcome"] in {"cancelled", "already_inactive"} for entry in redone] == [True]


@pytest.fixture
def limited_sandbox() -> Iterator[Sandbox]:
    """A sandbox whose Xendit endpoint answers 429 past 10 requests in any 2 seconds."""
    config = SandboxConfig(rate_limits={"xendit": RateLimit(requests=10, per_seconds=2.0)})
    with Sandbox.start(config=config) as running:
        yield running


def test_bulk_at_the_sandbox_limit_never_meets_a_429(
    limited_sandbox: Sandbox, tmp_path: Path
) -> None:
    """Paced at the same limit the server enforces, no request is refused for rate (no retry)."""
    tokens = [limited_sandbox.create_token("xendit") for _ in range(24)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n")
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(
        limited_sandbox.env(), "xendit", str(ids), output, "--rate", "10/2s", "--concurrency", "8"
    )

    entries = read_output(output)
    # The sandbox's sliding window is the server-side count: a 429 would show as a retry.
    assert [(entry["outcome"], entry["attempts"]) for entry in entries] == [("cancelled", 1)] * 24
    assert run.summary["requests_sent"] == 24
    assert run.exit_code == 0


def test_without_pacing_the_same_sandbox_does_answer_429(
    limited_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The control for the test above: unpaced, the sandbox's limit is hit and retries happen."""
    tokens = [limited_sandbox.create_token("xendit") for _ in range(14)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n")
    output = tmp_path / "out.jsonl"

    run_bulk_cli(limited_sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    entries = read_output(output)
    assert any(entry["attempts"] > 1 or entry["outcome"] == "rate_limited" for entry in entries)
