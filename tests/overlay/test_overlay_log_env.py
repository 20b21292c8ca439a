"""TOKENCANCEL_LOG: the library's log on stderr, redacted, only when asked for.

Each case is a fresh interpreter (the variable is read when `tokencancel` is first imported)
cancelling against a sandbox: one token whose first cancel meets a 503 (a retry: WARNING) and
one that cancels at once (DEBUG lines), and a record that quotes the secret key outright, as a
careless message would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from tokencancel._cli import main as tokencancel_main
from tokencancel.providers.xendit import xendit_authorization
from tokencancel_sandbox import Sandbox

_CLIENT_VARIABLES = re.compile(r"^(KBANK|SOLIDGATE|XENDIT|TOKENCANCEL)_")
SCRIPT = textwrap.dedent(
    """
    import logging, os, sys
    from tokencancel import TokenCancelClient
    with TokenCancelClient.from_env() as client:
        for token_id in sys.argv[1:]:
            print(client.cancel_xendit(token_id).outcome)
    logging.getLogger("tokencancel").warning("careless: key %s", os.environ["XENDIT_SECRET_KEY"])
    """
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(port=0) as running:
        yield running


def _run(sandbox: Sandbox, log: str | None, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not _CLIENT_VARIABLES.match(k)}
    env.update(sandbox.env())
    if log is not None:
        env["TOKENCANCEL_LOG"] = log
    return subprocess.run(
        [sys.executable, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _cancel_twice(sandbox: Sandbox, log: str | None) -> subprocess.CompletedProcess[str]:
    flaky = sandbox.create_token("xendit", fault="503", fault_times=1)
    plain = sandbox.create_token("xendit")
    return _run(sandbox, log, "-c", SCRIPT, flaky, plain)


def _secrets(sandbox: Sandbox) -> list[str]:
    key = sandbox.env()["XENDIT_SECRET_KEY"]
    return [key, xendit_authorization(key).removeprefix("Basic ")]


def test_debug_logs_every_attempt_and_request_redacted(sandbox: Sandbox) -> None:
    done = _cancel_twice(sandbox, "debug")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cancelled", "cancelled"]
    err = done.stderr
    assert " DEBUG tokencancel: xendit: cancelling token " in err
    assert " DEBUG tokencancel: xendit: answer HTTP 200" in err
    assert " WARNING tokencancel: xendit: attempt 1 of 3 failed" in err
    assert " INFO httpx2: HTTP Request: POST " in err
    assert "careless: key [REDACTED]" in err
    for secret in _secrets(sandbox):
        assert secret not in err


@pytest.mark.parametrize("level", ["info", "warning", "WARNING "])
def test_info_and_warning_show_the_retry_and_no_debug(sandbox: Sandbox, level: str) -> None:
    done = _cancel_twice(sandbox, level)
    assert done.returncode == 0, done.stderr
    assert " WARNING tokencancel: xendit: attempt 1 of 3 failed" in done.stderr
    assert " DEBUG " not in done.stderr
    assert "httpx2" not in done.stderr
    assert "careless: key [REDACTED]" in done.stderr
    assert sandbox.env()["XENDIT_SECRET_KEY"] not in done.stderr


@pytest.mark.parametrize("log", [None, ""])
def test_without_it_the_library_prints_nothing(sandbox: Sandbox, log: str | None) -> None:
    # The same run, retry and careless warning included: not one character on stderr.
    done = _cancel_twice(sandbox, log)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cancelled", "cancelled"]
    assert done.stderr == ""


def test_an_unknown_value_is_reported_once_and_ignored(sandbox: Sandbox) -> None:
    done = _cancel_twice(sandbox, "verbose")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "tokencancel: TOKENCANCEL_LOG='verbose' is not one of debug, info, warning; ignored"
    ]


def test_the_command_writes_each_record_once(sandbox: Sandbox) -> None:
    # TOKENCANCEL_LOG=debug with the installed command (which has its own stderr handler).
    tokencancel = str(Path(sys.executable).with_name("tokencancel"))
    token_id = sandbox.create_token("xendit")
    env = {k: v for k, v in os.environ.items() if not _CLIENT_VARIABLES.match(k)}
    done = subprocess.run(
        [tokencancel, "cancel", "xendit", token_id],
        env={**env, **sandbox.env(), "TOKENCANCEL_LOG": "debug"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cancelling token") == 1, done.stderr
    assert done.stderr.count("HTTP Request: POST") == 1, done.stderr


def test_the_commands_v_still_works_under_a_quieter_setting(sandbox: Sandbox) -> None:
    # TOKENCANCEL_LOG=warning must not hide what -v asks for.
    token_id = sandbox.create_token("xendit")
    code = (
        "import sys; from tokencancel._cli import main; "
        f"sys.exit(main(['-v', 'cancel', 'xendit', '{token_id}']))"
    )
    done = _run(sandbox, "warning", "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cancelling token") == 1, done.stderr


def test_the_commands_help_names_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert tokencancel_main(["cancel", "--help"]) == 0
    assert "TOKENCANCEL_LOG            debug, info or warning" in capsys.readouterr().out
