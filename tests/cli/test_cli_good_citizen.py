"""The command line as a good citizen: provider text cannot drive the terminal, and a stdout
that is closed, gone or full once the work is done does not change the exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tokencancel_sandbox import Sandbox

from ..overlay.loopback_server import XENDIT_SECRET_KEY, XENDIT_TOKEN, CaptureServer, json_reply

HOSTILE = {
    "error_code": "\x1b]0;pwned\x07\x1b[2J",
    "message": "\x1b[31mred\x1b[0m \x9b6n \x00 text",
}


@pytest.fixture
def hostile_server() -> Iterator[CaptureServer]:
    """A loopback server refusing every call (401) with escape sequences in its error text."""
    server = CaptureServer()
    server.default = json_reply(401, HOSTILE)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _tokencancel(
    env: dict[str, str], *argv: str, stdout_closed: bool = False, **options: Any
) -> subprocess.CompletedProcess[bytes]:
    # `>&-` through sh: the command starts with no stdout at all, as after `cmd >&-`.
    start = ["sh", "-c", 'exec "$0" "$@" >&-'] if stdout_closed else []
    return subprocess.run(
        [*start, sys.executable, "-m", "tokencancel", *argv],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
        **options,
    )


def _xendit_env(server: CaptureServer) -> dict[str, str]:
    return {"XENDIT_SECRET_KEY": XENDIT_SECRET_KEY, "XENDIT_BASE_URL": server.url}


def test_provider_text_is_escaped_on_the_terminal(
    hostile_server: CaptureServer, tmp_path: Path
) -> None:
    """cancel, check and bulk print a hostile provider's text with every control escaped."""
    env = _xendit_env(hostile_server)
    ids = tmp_path / "ids.txt"
    ids.write_text(XENDIT_TOKEN + "\n")

    runs = [
        _tokencancel(env, "cancel", "xendit", XENDIT_TOKEN, stdout=subprocess.PIPE),
        _tokencancel(env, "check", "xendit", stdout=subprocess.PIPE),
        _tokencancel(
            env, "bulk", "xendit", str(ids), "-o", str(tmp_path / "o.jsonl"),
            "--skip-check", "--rate", "off", stdout=subprocess.PIPE,
        ),
    ]  # fmt: skip

    for run in runs:
        shown = run.stdout + run.stderr
        assert b"pwned" in shown or b"red" in shown  # the text is shown...
        assert b"\x1b" not in shown  # ...but no escape sequence reaches the terminal
        assert b"\x07" not in shown
        assert "\x9b".encode() not in shown
        assert run.returncode == 2  # the credentials were refused


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox for cancels that succeed."""
    with Sandbox.start(port=0) as running:
        yield running


def _closed_pipe() -> int:
    """The write end of a pipe whose reader has gone (`| true` after it exited)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


@pytest.mark.parametrize("stdout", ["closed pipe", "closed", "full"])
def test_a_lost_stdout_does_not_turn_a_done_cancel_into_a_failure(
    sandbox: Sandbox, stdout: str
) -> None:
    """The token is cancelled: exit 0 whether stdout's reader left, it is closed, or full."""
    token = sandbox.create_token("xendit")
    options: dict[str, Any] = {}
    if stdout == "closed pipe":
        options["stdout"] = _closed_pipe()
    elif stdout == "closed":
        options.update(stdout=subprocess.DEVNULL, stdout_closed=True)
    else:
        options["stdout"] = Path("/dev/full").open("wb")  # noqa: SIM115 -- closed below

    try:
        run = _tokencancel(sandbox.env(), "cancel", "xendit", token, **options)
    finally:
        target = options["stdout"]
        if isinstance(target, int) and target > 2:
            os.close(target)
        elif hasattr(target, "close"):
            target.close()

    assert run.returncode == 0, run.stderr
    assert sandbox.token_status("xendit", token) == "CANCELED"
    assert b"Traceback" not in run.stderr
    if stdout == "full":
        assert b"could not be written to stdout" in run.stderr  # said, not silently lost
    else:
        assert run.stderr == b""
