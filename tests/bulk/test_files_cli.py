"""`tokencancel bulk` end to end when the files underneath misbehave, as an operator meets it.

Each test runs the real command against the sandbox and then compares what the output says with
what the sandbox did: no token cancelled and unrecorded once the job is finished, none recorded
as cancelled that is not.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from tokencancel_sandbox import Sandbox

from .conftest import bulk_command, read_output, run_bulk_cli, write_ids

DONE = {"cancelled", "already_inactive"}


def _statuses(sandbox: Sandbox, tokens: list[str]) -> dict[str, str | None]:
    return {token: sandbox.token_status("xendit", token) for token in tokens}


def _lines(path: Path) -> list[dict[str, object]]:
    """The output lines that parse (a test that leaves garbage in place reads around it)."""
    parsed = []
    for line in path.read_bytes().splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return parsed


def test_a_file_size_limit_mid_run_stops_with_exit_5_and_a_rerun_finishes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """EFBIG after a few lines: exit 5 at once, one-line reason; the plain re-run does the rest."""
    tokens = [sandbox.create_token("xendit") for _ in range(40)]
    ids = write_ids(tmp_path / "ids.txt", tokens)
    output = tmp_path / "out.jsonl"

    limited = run_bulk_cli(
        sandbox.env(), "xendit", str(ids), output, "--rate", "off", "--concurrency", "4",
        file_size_limit=6000,
    )  # fmt: skip

    assert limited.exit_code == 5
    assert limited.last_line.startswith("tokencancel: error: cannot write to --output")
    assert "File too large" in limited.last_line  # the cause, on the last line
    assert "Traceback" not in limited.stderr
    first = read_output(output)  # every line whole: the failed one was cut back
    assert 0 < len(first) < len(tokens)
    assert output.stat().st_size <= 6000
    # Requests stop with the failure: at most those in flight (and the check) follow it.
    assert limited.summary["requests_sent"] <= len(first) + 1 + 2 * 4
    statuses = _statuses(sandbox, tokens)
    assert all(statuses[str(entry["token_id"])] == "CANCELED" for entry in first)

    rerun = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    assert rerun.exit_code == 0
    entries = read_output(output)
    assert {entry["token_id"] for entry in entries} == set(tokens)
    assert all(entry["outcome"] in DONE for entry in entries)
    assert set(_statuses(sandbox, tokens).values()) == {"CANCELED"}
    # The exit code and totals cover all 40, those recorded by the first run included.
    assert sum(rerun.summary["totals"].values()) == len(tokens)
    assert set(rerun.summary["totals"]) <= DONE


@pytest.mark.parametrize("spelling", ["./ids.txt", "symlink", "hard link"])
def test_the_input_as_output_is_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path, spelling: str
) -> None:
    """The input named as --output, however spelled, is refused: exit 2, nothing sent or written."""
    tokens = [sandbox.create_token("xendit") for _ in range(3)]
    ids = write_ids(tmp_path / "ids.txt", tokens)
    before = ids.read_bytes()
    if spelling == "symlink":
        (tmp_path / "out.jsonl").symlink_to(ids)
    if spelling == "hard link":
        os.link(ids, tmp_path / "out.jsonl")
    target = Path(spelling if spelling.startswith("./") else "out.jsonl")

    run = run_bulk_cli(sandbox.env(), "xendit", "ids.txt", target, "--rate", "off", cwd=tmp_path)

    assert run.exit_code == 2
    assert "is the same file as the input" in run.last_line
    assert ids.read_bytes() == before
    assert set(_statuses(sandbox, tokens).values()) == {"ACTIVE"}


def test_an_output_locked_by_another_run_is_refused_at_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """While another process holds the output's lock, a second run refuses to start (exit 5)."""
    tokens = [sandbox.create_token("xendit") for _ in range(3)]
    ids = write_ids(tmp_path / "ids.txt", tokens)
    output = tmp_path / "out.jsonl"
    output.write_text("")
    with output.open("a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # what a running bulk holds
        started = time.monotonic()
        refused = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")
        elapsed = time.monotonic() - started

    assert refused.exit_code == 5
    assert "in use by another tokencancel bulk run" in refused.last_line
    assert elapsed < 30  # it does not wait for the lock (a generous bound for a busy machine)
    assert output.read_text() == ""
    assert set(_statuses(sandbox, tokens).values()) == {"ACTIVE"}

    freed = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")
    assert freed.exit_code == 0


@pytest.mark.timeout(60)
def test_a_pipe_or_fifo_as_output_is_refused_instead_of_hanging(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`-o /dev/stdout` into a pipe, or a FIFO nobody reads, is refused at once (exit 2)."""
    ids = write_ids(tmp_path / "ids.txt", [sandbox.create_token("xendit")])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    to_fifo = run_bulk_cli(sandbox.env(), "xendit", str(ids), fifo, "--rate", "off")
    piped = subprocess.run(
        [*bulk_command("xendit", str(ids), Path("/dev/stdout")), "--rate", "off"],
        env={**os.environ, **sandbox.env()},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )

    assert to_fifo.exit_code == 2
    assert "is a FIFO or pipe" in to_fifo.last_line
    assert piped.returncode == 2
    assert piped.stdout == ""


def test_a_device_as_resume_file_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    """/dev/zero is never read as a resume file (it would be read until memory runs out)."""
    ids = write_ids(tmp_path / "ids.txt", [sandbox.create_token("xendit")])

    run = run_bulk_cli(sandbox.env(), "xendit", str(ids), Path("/dev/zero"), "--rate", "off")

    assert run.exit_code == 2
    assert "is a character device" in run.last_line


def test_a_poisoned_resume_file_neither_wedges_the_run_nor_is_truncated(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Odd lines left in an output are reported and kept; the run completes and exits 0."""
    tokens = [sandbox.create_token("xendit") for _ in range(5)]
    ids = write_ids(tmp_path / "ids.txt", tokens)
    output = tmp_path / "out.jsonl"
    poison = (
        b'{"provider": "xendit", "outcome": []}\n'
        b'{"provider": "xendit", "outcome": "cancelled", "token_id": "pt-x", "line": '
        + b"9" * 5000
        + b"}\n"
        + b"x" * (2 << 20)
        + b"\n\x00\xff garbage\n"
        + b'{"token_id": "pt-cut", "provider": "xen'  # a last line cut short, no newline
    )
    output.write_bytes(poison)

    first = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")
    second = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    assert first.exit_code == 0
    assert "ignored 5 line(s)" in first.stderr
    assert "(line 1, 2, 3, 4, 5)" in first.stderr
    assert output.read_bytes().startswith(poison + b"\n")  # kept, then a line of its own
    recorded = [entry for entry in _lines(output) if entry.get("token_id") in tokens]
    assert Counter(str(entry["outcome"]) for entry in recorded) == {"cancelled": 5}
    assert second.exit_code == 0
    assert second.summary["requests_sent"] == 0


def test_any_input_line_is_recorded_and_the_run_goes_on(sandbox: Sandbox, tmp_path: Path) -> None:
    """Huge integers, deep nesting, NULs, bad UTF-8 and a 10 MB line: invalid_input, run goes on."""
    good = [sandbox.create_token("xendit") for _ in range(2)]
    source = tmp_path / "tokens.jsonl"
    source.write_bytes(
        json.dumps({"token_id": good[0]}).encode() + b"\n"
        + b'{"token_id": "x", "n": ' + b"9" * 5000 + b"}\n"
        + b"[" * 8000 + b"]" * 8000 + b"\n"
        + b'{"token_id": "a\\u0000b"}\n'
        + b'{"token_id": "\xff\xfe"}\n'
        + b'{"token_id": "' + b"x" * (10 << 20) + b'"}\n'
        + json.dumps({"token_id": good[1]}).encode() + b"\n"
    )  # fmt: skip
    output = tmp_path / "out.jsonl"

    first = run_bulk_cli(sandbox.env(), "xendit", str(source), output, "--rate", "off")
    second = run_bulk_cli(sandbox.env(), "xendit", str(source), output, "--rate", "off")

    entries = read_output(output)
    assert sorted(entry["line"] for entry in entries if entry["outcome"] == "invalid_input") == [
        2, 3, 4, 5, 6
    ]  # fmt: skip
    assert {entry["token_id"] for entry in entries if entry["outcome"] == "cancelled"} == set(good)
    assert max(len(json.dumps(entry)) for entry in entries) < 2000  # no line carries the blob
    assert first.exit_code == 1  # done, but some lines need a human look
    assert (second.exit_code, second.summary["recorded"]) == (1, 0)


def test_stdout_of_bulk_carries_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """Bulk writes its results to the output file and its report to stderr, nothing to stdout."""
    ids = write_ids(tmp_path / "ids.txt", [sandbox.create_token("xendit")])

    run = run_bulk_cli(sandbox.env(), "xendit", str(ids), tmp_path / "out.jsonl")

    assert (run.exit_code, run.stdout) == (0, "")
