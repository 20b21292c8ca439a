"""Raw provider calls and an independent spec check, shared by the sandbox tests.

The calls use httpx2 and `tokencancel._signing` only, so these tests do not depend on the
overlay's client. Answers are checked with openapi-core's own response validator, not with the
sandbox's compiled validators.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response import V31ResponseValidator
from tokencancel.providers.solidgate import solidgate_signature
from tokencancel_sandbox import Sandbox

SPECS = Path(__file__).resolve().parents[2] / "specs"
PROVIDERS = ("kbank", "solidgate", "xendit")

#: The server URL and request path each spec documents, to check answers with openapi-core.
_SPEC_REQUESTS = {
    "kbank": ("https://kbankapi.tech", "/v1/kplus/payment/cancel-token"),
    "solidgate": ("https://gate.solidgate.com", "/api/v1/recurring-token/cancel"),
    "xendit": ("https://api.xendit.co", "/v3/payment_tokens/{id}/cancel"),
}


class ProviderCalls:
    """Raw provider calls against a sandbox, with valid credentials unless told otherwise."""

    def __init__(self, sandbox: Sandbox, http: httpx2.Client) -> None:
        self.sandbox = sandbox
        self.http = http
        self.credentials = sandbox.credentials

    # -- Xendit --------------------------------------------------------------------------

    def xendit(
        self,
        token_id: str,
        *,
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx2.Response:
        """POST /v3/payment_tokens/{id}/cancel with Basic auth and api-version."""
        sent_headers = {"api-version": "2024-11-11", **(headers or {})}
        return self.http.post(
            f"{self.sandbox.base_url('xendit')}/v3/payment_tokens/{token_id}/cancel",
            auth=auth or (self.credentials["xendit"]["secret_key"], ""),
            headers=sent_headers,
            timeout=timeout if timeout is not None else self.http.timeout,
        )

    # -- KBank ---------------------------------------------------------------------------

    def kbank_body(
        self, token_id: str, reference1: str = "ORDER-0001", **overrides: Any
    ) -> dict[str, Any]:
        """A valid Cancel Token body for `token_id`, with `overrides` applied."""
        body: dict[str, Any] = {
            "partnerTxnUid": "TXN000000000001",
            "partnerId": self.credentials["kbank"]["partner_id"],
            "partnerSecret": self.credentials["kbank"]["partner_secret"],
            "requestDt": int(time.time()),
            "tokenId": token_id,
            "reference1": reference1,
        }
        body.update(overrides)
        return body

    def kbank_headers(self) -> dict[str, str]:
        """Valid Partner-Id/Partner-Secret headers."""
        return {
            "Partner-Id": self.credentials["kbank"]["partner_id"],
            "Partner-Secret": self.credentials["kbank"]["partner_secret"],
        }

    def kbank(
        self,
        token_id: str = "",
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx2.Response:
        """POST /kplus/payment/cancel-token; `body`/`raw` replace the valid body."""
        content = (
            raw
            if raw is not None
            else json.dumps(body if body is not None else self.kbank_body(token_id)).encode()
        )
        return self.http.post(
            f"{self.sandbox.base_url('kbank')}/kplus/payment/cancel-token",
            content=content,
            headers={
                "Content-Type": "application/json",
                **(headers if headers is not None else self.kbank_headers()),
            },
            timeout=timeout if timeout is not None else self.http.timeout,
        )

    # -- Solidgate -----------------------------------------------------------------------

    def solidgate(
        self,
        token: str = "",
        *,
        raw: bytes | None = None,
        merchant: str | None = None,
        signature: str | None = None,
        secret_key: str | None = None,
        timeout: float | None = None,
    ) -> httpx2.Response:
        """POST /v1/recurring-token/cancel, signed over the exact bytes sent."""
        keys = self.credentials["solidgate"]
        content = raw if raw is not None else json.dumps({"token": token}).encode()
        public_key = merchant if merchant is not None else keys["public_key"]
        signed = signature or solidgate_signature(
            public_key, secret_key or keys["secret_key"], content
        )
        return self.http.post(
            f"{self.sandbox.base_url('solidgate')}/v1/recurring-token/cancel",
            content=content,
            headers={
                "Content-Type": "application/json",
                "merchant": public_key,
                "signature": signed,
            },
            timeout=timeout if timeout is not None else self.http.timeout,
        )

    def cancel(self, provider: str, token_id: str, **kwargs: Any) -> httpx2.Response:
        """Cancel `token_id` at `provider` with valid credentials."""
        if provider == "kbank":
            return self.kbank(token_id, **kwargs)
        if provider == "solidgate":
            return self.solidgate(token_id, **kwargs)
        return self.xendit(token_id, **kwargs)


_VALIDATORS: dict[str, V31ResponseValidator] = {}


def spec_problems(provider: str, response: httpx2.Response) -> list[str]:
    """Check an answer against the provider's spec with openapi-core (independent of the sandbox).

    Returns the problems found; an empty list means the answer conforms.
    """
    if provider not in _VALIDATORS:
        _VALIDATORS[provider] = V31ResponseValidator(
            OpenAPI.from_file_path(str(SPECS / f"{provider}.yaml")).spec
        )
    host, path = _SPEC_REQUESTS[provider]
    request = MockRequest(
        host, "post", path.replace("{id}", "pt-00000000-0000-0000-0000-000000000000")
    )
    mock = MockResponse(
        response.content,
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response.headers.get("content-type", ""),
    )
    problems: list[str] = []
    for error in _VALIDATORS[provider].iter_errors(request, mock):
        cause = error.__cause__
        details = getattr(cause, "schema_errors", None) or ()
        problems.append(f"{type(error).__name__}: {error} {[d.message for d in details]}")
    return problems


def assert_conforms(provider: str, response: httpx2.Response) -> None:
    """Fail unless `response` is an answer the provider's spec documents."""
    problems = spec_problems(provider, response)
    assert not problems, f"{provider} answer {response.status_code} {response.text}: {problems}"


class SandboxProcess:
    """`python -m tokencancel_sandbox` in a child process: its port, stdout lines and stderr log.

    For what an in-process sandbox cannot show: the server's own memory (read from /proc), what
    it prints, and what it logs to stderr.
    """

    def __init__(
        self, *arguments: str, log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tokencancel_sandbox", "--port", "0", *arguments],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=dict(env) if env is not None else None,
        )
        assert self.process.stdout is not None
        self.banner = self.process.stdout.readline()
        found = re.search(r"https?://127\.0\.0\.1:(\d+)", self.banner)
        if found is None:
            self.close()
            raise AssertionError(f"the sandbox did not start: {self.banner!r} {self.log()}")
        self.port = int(found.group(1))
        self.url = found.group(0)

    def log(self) -> str:
        """Everything the sandbox wrote to stderr so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def peak_rss_kib(self) -> int:
        """The process's peak resident memory so far (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")

    def close(self) -> None:
        """Stop the sandbox (SIGINT, as Ctrl-C) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
        self._log.close()


def raw_exchange(port: int, request: bytes, *, timeout: float = 10.0) -> tuple[int | None, bytes]:
    """Send raw bytes on a fresh loopback connection, close our side, read the whole answer.

    Returns the status of the first answer (None if there was none) and every byte received.
    """
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(request)
            connection.shutdown(socket.SHUT_WR)
            while chunk := connection.recv(65536):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
    found = re.match(rb"HTTP/1\.[01] (\d{3}) ", received)
    return (int(found.group(1)) if found else None), received


def answer_body(received: bytes) -> bytes:
    """The body of the first answer in `received` (by its Content-Length)."""
    head, _, rest = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    return rest[: int(length.group(1))] if length else rest
