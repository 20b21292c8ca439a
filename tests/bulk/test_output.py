"""The output file in-process: what it refuses, its lock, tolerant resume and failed writes."""

from __future__ import annotations

import errno
import json
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from tokencancel._exit import Category, ExitCode
from tokencancel.bulk import BulkFileError, OutputLog
from tokencancel.bulk import output as output_module
from tokencancel.bulk.output import identity_of


def _line(**fields: Any) -> bytes:
    entry = {"provider": "xendit", "outcome": "cancelled", "line": 1, **fields}
    return json.dumps(entry).encode() + b"\n"


def _input_identity(path: Path) -> dict[tuple[int, int], str]:
    return {identity_of(path.stat()): f"the input {path}"}


@pytest.mark.parametrize("spelling", ["relative", "dot-slash", "symlink", "hard link", "dotdot"])
def test_the_input_is_refused_as_output_by_any_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """Every path naming the input file is refused, and the input is left untouched."""
    source = tmp_path / "ids.txt"
    source.write_text("pt-a\n")
    monkeypatch.chdir(tmp_path)
    if spelling == "symlink":
        (tmp_path / "link.jsonl").symlink_to(source)
    if spelling == "hard link":
        os.link(source, tmp_path / "hard.jsonl")
    target = {
        "relative": Path("ids.txt"),
        "dot-slash": Path("./ids.txt"),
        "symlink": Path("link.jsonl"),
        "hard link": Path("hard.jsonl"),
        "dotdot": Path("..") / tmp_path.name / "ids.txt",
    }[spelling]

    with pytest.raises(BulkFileError, match="is the same file as the input") as refused:
        OutputLog(target, "xendit", forbidden=_input_identity(source))

    assert refused.value.exit_code == ExitCode.USAGE
    assert source.read_text() == "pt-a\n"


def test_directories_fifos_and_devices_are_refused(tmp_path: Path) -> None:
    """Only a regular file can be appended to and read back; anything else is refused."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target, kind in (
        (tmp_path, "a directory"),
        (fifo, "a FIFO"),
        (Path("/dev/null"), "a character device"),
        (Path("/dev/zero"), "a character device"),
    ):
        with pytest.raises(BulkFileError, match=f"is {kind}") as refused:
            OutputLog(target, "xendit")
        assert refused.value.exit_code == ExitCode.USAGE


def test_a_second_run_on_the_same_output_refuses_to_start(tmp_path: Path) -> None:
    """The lock is held for the run: another opener fails at once (by any name), then may go."""
    output = tmp_path / "out.jsonl"
    first = OutputLog(output, "xendit")
    os.link(output, tmp_path / "same.jsonl")
    started = time.monotonic()
    with pytest.raises(BulkFileError, match="in use by another tokencancel bulk run") as refused:
        OutputLog(tmp_path / "same.jsonl", "xendit")
    waited = time.monotonic() - started
    assert refused.value.exit_code == ExitCode.IO
    assert waited < 5  # non-blocking: it never waits for the other run
    first.close()
    OutputLog(output, "xendit").close()  # released with the run


POISON = [
    b"garbage\n",
    b'{"provider": "xendit", "outcome": []}\n',
    b'{"provider": "xendit", "outcome": "cancelled", "token_id": "pt-y", "line": '
    + b"9" * 5000
    + b"}\n",
    b"x" * (16 << 20) + b"\n",
    b'{"provider": "xendit", "outcome": "no such outcome", "token_id": "pt-z"}\n',
    b"[" * 5000 + b"\n",
    _line(token_id=7),
]


def test_a_poisoned_resume_file_is_read_tolerantly_and_never_changed(tmp_path: Path) -> None:
    """Lines that are not results are reported by number and ignored; the bytes stay as is."""
    output = tmp_path / "out.jsonl"
    good = [
        _line(token_id="pt-done"),
        _line(token_id="pt-missing", outcome="not_found"),
        _line(token_id="pt-retry", outcome="error"),
        _line(token_id="pt-kbank", provider="kbank"),
        _line(token_id="pt-again", outcome="duplicate", line=9),
    ]
    content = b"".join([good[0], *POISON, *good[1:]])
    output.write_bytes(content)

    tracemalloc.start()
    try:
        log = OutputLog(output, "xendit")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    log.close()

    assert output.read_bytes() == content
    assert log.state.bad_count == len(POISON)
    assert log.state.bad_lines == [2, 3, 4, 5, 6]  # the first five, by number
    assert log.state.other_providers == 1
    assert log.done["pt-done"] is Category.CANCELLED
    assert log.done["pt-missing"] is Category.NOT_FOUND  # its category, for the exit code
    assert "pt-retry" not in log.done  # an error is done again
    assert "pt-kbank" not in log.done
    assert len(log.done) == 3  # pt-done, pt-missing, and the duplicate's own key
    assert peak < 6 << 20  # the 16 MiB line was skipped in pieces, never held whole
    assert "ignored 7 line(s)" in log.state.notes(output)[0]


def test_a_last_line_without_newline_is_kept_and_the_next_write_starts_a_new_line(
    tmp_path: Path,
) -> None:
    """A complete last line lacking its newline counts; a cut-off one stays and is not truncated."""
    output = tmp_path / "out.jsonl"
    complete = _line(token_id="pt-a").rstrip(b"\n")
    output.write_bytes(complete)

    log = OutputLog(output, "xendit")
    log.write({"token_id": "pt-b", "provider": "xendit", "outcome": "cancelled", "line": 2})
    log.close()

    assert "pt-a" in log.done
    lines = output.read_bytes().split(b"\n")
    assert lines[0] == complete
    assert json.loads(lines[1])["token_id"] == "pt-b"

    cut = b'{"token_id":"pt-c","prov'
    output.write_bytes(cut)
    log = OutputLog(output, "xendit")
    log.write({"token_id": "pt-d", "provider": "xendit", "outcome": "cancelled", "line": 2})
    log.close()
    assert log.state.bad_lines == [1]
    assert output.read_bytes().startswith(cut + b"\n{")


def test_a_write_that_fails_part_way_is_cut_back_and_stops_with_exit_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk mid-line: the error is raised, and the file still ends on a whole line."""
    output = tmp_path / "out.jsonl"
    log = OutputLog(output, "xendit")
    log.write({"token_id": "pt-a", "provider": "xendit", "outcome": "cancelled", "line": 1})
    before = output.read_bytes()
    real_write = os.write
    calls = 0

    def half_then_full(fd: int, data: bytes) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output_module.os, "write", half_then_full)
    with pytest.raises(BulkFileError, match="No space left on device") as failed:
        log.write({"token_id": "pt-b", "provider": "xendit", "outcome": "cancelled", "line": 2})
    monkeypatch.undo()
    log.abandon()

    assert failed.value.exit_code == ExitCode.IO
    assert output.read_bytes() == before


def test_text_that_cannot_be_utf8_is_written_as_a_json_escape(tmp_path: Path) -> None:
    """A lone surrogate from a provider's text cannot stop the run: it becomes \\udXXX."""
    output = tmp_path / "out.jsonl"
    log = OutputLog(output, "xendit")
    log.write(
        {"token_id": "pt-a", "provider": "xendit", "outcome": "error", "error_code": "\udc80"}
    )
    log.close()
    assert json.loads(output.read_bytes())["error_code"] == "\udc80"
