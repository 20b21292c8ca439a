"""The server itself: keep-alive, concurrency safety, the CLI and `make sandbox`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from tokencancel.providers.solidgate import solidgate_signature
from tokencancel_sandbox import Sandbox
from tokencancel_sandbox._spec import find_spec_dir

from .sandbox_helpers import ProviderCalls

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connections_are_kept_alive(sandbox: Sandbox) -> None:
    # Two requests on one TCP connection both get answers (HTTP/1.1 keep-alive).
    request = (f"GET /_sandbox/health HTTP/1.1\r\nHost: 127.0.0.1:{sandbox.port}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as connection:
        stream = connection.makefile("rb")
        for _ in range(2):
            connection.sendall(request)
            assert stream.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while (line := stream.readline()) not in {b"\r\n", b""}:
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert stream.read(length) == b'{"status":"ok"}'


def test_concurrent_cancels_of_one_token_cancel_it_once(sandbox: Sandbox) -> None:
    # 64 simultaneous cancels of one token: exactly one succeeds, 63 get "already inactive".
    token_id = sandbox.create_token("xendit")
    limits = httpx2.Limits(max_connections=64)
    with httpx2.Client(limits=limits, timeout=30) as http:
        calls = ProviderCalls(sandbox, http)
        with ThreadPoolExecutor(max_workers=64) as pool:
            statuses = list(pool.map(lambda _: calls.xendit(token_id).status_code, range(64)))
    assert sorted(statuses) == [200] + [400] * 63


def test_concurrent_cancels_of_many_tokens_all_succeed(sandbox: Sandbox) -> None:
    # 200 tokens cancelled from 32 threads: every one answers 00 exactly once.
    token_ids = [sandbox.create_token("kbank") for _ in range(200)]
    with httpx2.Client(limits=httpx2.Limits(max_connections=32), timeout=30) as http:
        calls = ProviderCalls(sandbox, http)
        with ThreadPoolExecutor(max_workers=32) as pool:
            codes = list(pool.map(lambda t: calls.kbank(t).json()["statusCode"], token_ids))
    assert codes == ["00"] * 200
    assert {sandbox.token_status("kbank", t) for t in token_ids} == {"CANCELLED"}


def test_specs_are_found_in_the_repository() -> None:
    # In an editable install the sandbox validates against the repository's specs/ files.
    assert find_spec_dir() == REPO / "specs"


def test_a_taken_port_is_a_clear_oserror(sandbox: Sandbox) -> None:
    # Starting on a port in use raises OSError at once instead of serving nothing.
    with pytest.raises(OSError, match="in use"):
        Sandbox.start(port=sandbox.port)


def _wait_for_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline()


def test_cli_serves_until_interrupted_and_exits_cleanly() -> None:
    # `python -m tokencancel_sandbox` prints where it listens, serves, and exits 0 on Ctrl-C.
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokencancel_sandbox",
            "--port",
            str(port),
            "--rate-limit",
            "xendit=60/60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _wait_for_line(process)
        assert line.startswith("# ")  # stdout is shell script: comments, then exports
        assert f"http://127.0.0.1:{port}" in line
        assert httpx2.get(f"http://127.0.0.1:{port}/_sandbox/health").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in stderr


def test_cli_rejects_a_bad_rate_limit() -> None:
    # A malformed --rate-limit is a usage error (exit 2) with a message, not a traceback.
    result = subprocess.run(
        [sys.executable, "-m", "tokencancel_sandbox", "--rate-limit", "xendit=lots"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "PROVIDER=REQUESTS/SECONDS" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_sandbox_serves_on_sandbox_port() -> None:
    # `make sandbox` runs the server in the foreground on $SANDBOX_PORT.
    port = _free_port()
    process = subprocess.Popen(
        # -o: the test checks the target, not the install step its stamp may trigger.
        [  # noqa: S607 -- make from PATH, as a developer runs it
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "sandbox",
            f"SANDBOX_PORT={port}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
        start_new_session=True,
    )
    try:
        while f"127.0.0.1:{port}" not in (line := _wait_for_line(process)):
            assert line, "make sandbox exited before listening"
        credentials = httpx2.get(f"http://127.0.0.1:{port}/_sandbox/credentials").json()
        assert set(credentials) == {"kbank", "solidgate", "xendit"}
    finally:
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert "Traceback" not in stderr


def test_chunked_request_bodies_are_read_and_signed_as_sent(sandbox: Sandbox) -> None:
    # A streamed (chunked) body is reassembled: its signature verifies and the cancel happens.
    token = sandbox.create_token("solidgate")
    keys = sandbox.credentials["solidgate"]
    raw = json.dumps({"token": token}).encode()

    def stream() -> Iterator[bytes]:
        yield raw[:10]
        yield raw[10:]

    response = httpx2.post(
        f"{sandbox.base_url('solidgate')}/v1/recurring-token/cancel",
        content=stream(),
        headers={
            "Content-Type": "application/json",
            "merchant": keys["public_key"],
            "signature": solidgate_signature(keys["public_key"], keys["secret_key"], raw),
        },
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.json() == {"status": "processing"}
