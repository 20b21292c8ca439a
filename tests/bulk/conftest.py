"""Fixtures for the bulk tests: a sandbox, and `tokencancel bulk` run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tokencancel_sandbox import Sandbox


@dataclass
class BulkRun:
    """One finished `tokencancel bulk` process."""

    exit_code: int
    stderr: str
    summary: dict[str, Any]
    stdout: str = ""

    @property
    def last_line(self) -> str:
        """The last line on stderr: the reason of a run that stopped."""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def read_output(path: Path) -> list[dict[str, Any]]:
    """Every line of a bulk output file, each of which must be a JSON object."""
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) for entry in entries)
    return entries


def bulk_command(
    provider: str, input_path: str, output: Path, *extra: str, file_size_limit: int | None = None
) -> list[str]:
    """The argv of a bulk run writing its summary next to the output.

    `file_size_limit` runs it under `RLIMIT_FSIZE` of that many bytes (CPython ignores SIGXFSZ,
    so a write past it fails with EFBIG, as on a volume with a file-size limit).
    """
    if file_size_limit is None:
        start = [sys.executable, "-m", "tokencancel"]
    else:
        code = (
            "import resource, runpy, sys; "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({file_size_limit}, {file_size_limit})); "
            "sys.argv[0] = 'tokencancel'; runpy.run_module('tokencancel', run_name='__main__')"
        )
        start = [sys.executable, "-c", code]
    return [
        *start, "bulk", provider, input_path,
        "--output", str(output), "--summary-json", str(output) + ".summary.json",
        "--no-progress", *extra,
    ]  # fmt: skip


def run_bulk_cli(
    env: dict[str, str],
    provider: str,
    input_path: str,
    output: Path,
    *extra: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    file_size_limit: int | None = None,
) -> BulkRun:
    """Run `tokencancel bulk` to completion and collect its exit code, stderr and summary."""
    summary_path = Path(str(output) + ".summary.json")
    if cwd is not None and not summary_path.is_absolute():
        summary_path = cwd / summary_path
    summary_path.unlink(missing_ok=True)
    done = subprocess.run(
        bulk_command(provider, input_path, output, *extra, file_size_limit=file_size_limit),
        env={**os.environ, **env},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return BulkRun(done.returncode, done.stderr, summary, done.stdout)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox without rate limits, shared by a module's tests (tokens are unique per test)."""
    with Sandbox.start() as running:
        yield running


def write_ids(path: Path, tokens: list[str]) -> Path:
    """Write one token id per line to `path` and return it."""
    path.write_text("".join(f"{token}\n" for token in tokens))
    return path
