"""Reading a page from a URL: loopback servers stand in for the providers' sites."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .upstream_helpers import PINNED, check_upstream, run

PAGE = PINNED["xendit"].read_bytes()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.0)
        if self.path == "/missing":
            self.send_error(404)
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/markdown; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first, as the timeout test means it to

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = False
    server.block_on_close = True  # server_close() waits for the slow answer: no stray output
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_fetched_over_http_is_checked_like_the_pinned_copy(
    site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The URL form reads the same page and reaches the same verdict as the file."""
    status, out, _ = run(capsys, "--only", "xendit", "--xendit", f"{site}/page.md")
    assert status == 0
    assert out.startswith(f"xendit: {site}/page.md against specs/xendit.yaml")
    assert "xendit: OK:" in out


def test_an_answer_over_the_size_cap_is_refused(
    site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """UPSTREAM_MAX_BYTES caps what is read; over it the check stops with exit 2."""
    status, _, err = run(
        capsys,
        "--only",
        "xendit",
        "--xendit",
        f"{site}/page.md",
        environ={"UPSTREAM_MAX_BYTES": "1000"},
    )
    assert status == 2
    assert err == f"check-upstream: {site}/page.md: {len(PAGE)} bytes, over the 1000-byte cap\n"


def test_an_http_error_is_a_one_line_usage_error(
    site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page that is gone is reported with its status, not parsed."""
    status, _, err = run(capsys, "--only", "xendit", "--xendit", f"{site}/missing")
    assert (status, err) == (2, f"check-upstream: {site}/missing: HTTP 404\n")


def test_a_server_slower_than_the_timeout_is_given_up_on(
    site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """UPSTREAM_TIMEOUT bounds the wait for each provider's page."""
    status, _, err = run(
        capsys,
        "--only",
        "xendit",
        "--xendit",
        f"{site}/slow",
        environ={"UPSTREAM_TIMEOUT": "0.2"},
    )
    assert (status, err) == (2, f"check-upstream: {site}/slow: no answer within 0.2 s\n")


def test_a_bad_timeout_setting_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Settings are validated with a one-line message."""
    status, _, err = run(capsys, environ={"UPSTREAM_TIMEOUT": "soon"})
    assert (status, err) == (
        2,
        "check-upstream: UPSTREAM_TIMEOUT: expected a positive number, got 'soon'\n",
    )


def test_live_mode_reads_each_providers_published_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """UPSTREAM_LIVE=1 (the nightly job) asks for the three public pages, and nothing else."""
    asked: list[str] = []
    by_url = {check_upstream.LIVE[p]: PINNED[p].read_text("utf-8") for p in PINNED}

    def fake_fetch(location: str, *, timeout: float, max_bytes: int) -> str:
        asked.append(location)
        return by_url[location]

    monkeypatch.setattr(check_upstream, "fetch", fake_fetch)
    status, out, _ = run(capsys, "--live")
    assert status == 0
    assert asked == [
        "https://raw.githubusercontent.com/mzget/markdown-for-open-api/HEAD/public/Kplus/CancelToken.en.md",
        "https://api-docs.solidgate.com/_bundle/api/@v1/index.json?download",
        "https://docs.xendit.co/apidocs/cancel-payment-token.md",
    ]
    assert "xendit: https://docs.xendit.co/apidocs/cancel-payment-token.md against" in out
