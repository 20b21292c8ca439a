"""SIGTERM and SIGHUP stop a run as Ctrl-C does: requests in flight are recorded, then resume.

After the stop, the output and the sandbox must agree exactly: every token the sandbox has
cancelled is recorded, and every token recorded as cancelled is cancelled at the sandbox.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from tokencancel_sandbox import Sandbox

from .conftest import bulk_command, read_output, run_bulk_cli, write_ids


def _start(env: dict[str, str], ids: Path, output: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bulk_command("xendit", str(ids), output, *extra),
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lines(output: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if output.exists() and output.read_text().count("\n") >= count:
            return
        assert process.poll() is None, "the run ended before it could be stopped"
        time.sleep(0.02)
    pytest.fail(f"fewer than {count} output lines after 60 s")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_records_what_was_sent_and_a_rerun_finishes(
    sandbox: Sandbox, tmp_path: Path, stop: signal.Signals
) -> None:
    """Stopped mid-run: exit 130, output and sandbox agree, and the re-run cancels the rest once."""
    tokens = [sandbox.create_token("xendit") for _ in range(40)]
    ids = write_ids(tmp_path / "ids.txt", tokens)
    output = tmp_path / "out.jsonl"
    process = _start(sandbox.env(), ids, output, "--rate", "10/s", "--concurrency", "4")
    _wait_for_lines(output, 5, process)

    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130
    assert f"stopping ({stop.name})" in stderr
    stopped = read_output(output)  # every line whole
    assert 5 <= len(stopped) < len(tokens)
    recorded = {entry["token_id"] for entry in stopped}
    cancelled = {token for token in tokens if sandbox.token_status("xendit", token) == "CANCELED"}
    assert recorded == cancelled  # nothing cancelled unrecorded, nothing recorded uncancelled
    summary = json.loads(Path(str(output) + ".summary.json").read_text())
    assert (summary["interrupted"], summary["exit_code"]) == (True, 130)

    rerun = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    entries = read_output(output)
    assert rerun.exit_code == 0
    assert sorted(entry["token_id"] for entry in entries) == sorted(tokens)
    # Had a request been sent and not recorded, the re-run would have met "already_inactive".
    assert Counter(entry["outcome"] for entry in entries) == {"cancelled": len(tokens)}
    assert rerun.summary["totals"] == {"cancelled": len(tokens)}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_abandons_requests_in_flight(
    sandbox: Sandbox, tmp_path: Path, stop: signal.Signals
) -> None:
    """A second signal does not wait for a slow answer; that token stays undone for the re-run."""
    slow = sandbox.create_token("xendit", fault="slow", fault_times=1, delay_seconds=20)
    quick = [sandbox.create_token("xendit") for _ in range(10)]
    ids = write_ids(tmp_path / "ids.txt", [slow, *quick])
    output = tmp_path / "out.jsonl"
    process = _start(sandbox.env(), ids, output, "--rate", "off", "--concurrency", "2")
    _wait_for_lines(output, len(quick), process)  # only the slow one is left in flight
    started = time.monotonic()

    process.send_signal(stop)
    time.sleep(0.2)
    process.send_signal(stop)
    process.communicate(timeout=30)

    assert process.returncode == 130
    assert time.monotonic() - started < 15  # it did not wait out the 20 s answer
    assert slow not in {entry["token_id"] for entry in read_output(output)}

    rerun = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    redone = [entry for entry in read_output(output) if entry["token_id"] == slow]
    assert rerun.summary["skipped_done"] == len(quick)
    # The abandoned request may or may not have reached the provider; either answer is done.
    assert [entry["outcome"] in {"cancelled", "already_inactive"} for entry in redone] == [True]


def test_a_kill_mid_run_leaves_a_valid_file_and_the_rerun_finishes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """SIGKILL (no chance to clean up): every line is whole, none is untrue, the re-run finishes."""
    tokens = [sandbox.create_token("xendit") for _ in range(40)]
    ids = write_ids(tmp_path / "ids.txt", tokens)
    output = tmp_path / "out.jsonl"
    process = _start(sandbox.env(), ids, output, "--rate", "20/s", "--concurrency", "4")
    _wait_for_lines(output, 5, process)

    process.kill()
    process.communicate(timeout=60)

    killed = read_output(output)  # a crash at any instant leaves only whole lines
    cancelled = {token for token in tokens if sandbox.token_status("xendit", token) == "CANCELED"}
    assert {entry["token_id"] for entry in killed} <= cancelled  # nothing recorded untrue

    rerun = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    entries = read_output(output)
    assert rerun.exit_code == 0
    assert {entry["token_id"] for entry in entries} == set(tokens)
    # Tokens cancelled but unrecorded at the kill were checked again, never skipped.
    assert {sandbox.token_status("xendit", token) for token in tokens} == {"CANCELED"}
    assert sum(rerun.summary["totals"].values()) == len(tokens)
