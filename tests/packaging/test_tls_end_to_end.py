"""The sandbox as a drop-in test dependency over https: the client side, end to end.

A sandbox in TLS mode exports https base URLs and `TOKENCANCEL_CA_BUNDLE` (its throwaway CA).
`tokencancel cancel`, run as the installed command with exactly that environment, cancels at
every provider with certificate verification on; without the CA, or with another sandbox's,
verification fails and the command exits 3 with one line naming the TLS failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tokencancel import TokenCancelClient, TransportError
from tokencancel_sandbox import Sandbox

TOKENCANCEL = str(Path(sys.executable).with_name("tokencancel"))  # the installed command
PROVIDERS = ("kbank", "solidgate", "xendit")
REFERENCE1 = "ORDER-0001"
_CLIENT_VARIABLES = re.compile(r"^(KBANK|SOLIDGATE|XENDIT|TOKENCANCEL)_")
TLS_FAILURE = re.compile(r"certificate verify failed|CERTIFICATE_VERIFY_FAILED", re.IGNORECASE)


@pytest.fixture(scope="module")
def tls_sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(port=0, tls=True) as running:
        yield running


def _cancel(env: dict[str, str], provider: str, token_id: str) -> subprocess.CompletedProcess[str]:
    extra = ["--reference1", REFERENCE1] if provider == "kbank" else []
    inherited = {k: v for k, v in os.environ.items() if not _CLIENT_VARIABLES.match(k)}
    # Neither the test runner's trust settings nor a proxy may decide the outcome.
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "ALL_PROXY"):
        inherited.pop(name, None)
    return subprocess.run(
        [TOKENCANCEL, "cancel", provider, token_id, *extra],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _token(sandbox: Sandbox, provider: str) -> str:
    fields = {"reference1": REFERENCE1} if provider == "kbank" else {}
    return sandbox.create_token(provider, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_cli_cancels_over_verified_https_with_the_sandbox_env(
    tls_sandbox: Sandbox, provider: str
) -> None:
    env = tls_sandbox.env()
    assert env["TOKENCANCEL_CA_BUNDLE"] == str(tls_sandbox.ca_bundle)
    base_urls = [value for name, value in env.items() if name.endswith("_BASE_URL")]
    assert len(base_urls) == 3
    assert all(url.startswith("https://127.0.0.1:") for url in base_urls), base_urls
    token_id = _token(tls_sandbox, provider)
    done = _cancel(env, provider, token_id)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] in {"cancelled", "cancellation_pending"}
    assert tls_sandbox.token_status(provider, token_id).upper() != "ACTIVE"  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_without_the_ca_the_cli_fails_verification_and_exits_3(
    tls_sandbox: Sandbox, provider: str
) -> None:
    env = {k: v for k, v in tls_sandbox.env().items() if k != "TOKENCANCEL_CA_BUNDLE"}
    token_id = _token(tls_sandbox, provider)
    done = _cancel(env, provider, token_id)
    assert done.returncode == 3, done.stderr
    # The last line is the error; the lines before it, if any, are the retry warnings (a
    # connection that failed before any answer is retried, TLS failures included).
    *retries, error_line = done.stderr.strip().splitlines()
    assert error_line.startswith("tokencancel: error: "), done.stderr
    assert TLS_FAILURE.search(error_line), error_line
    assert all(" WARNING tokencancel: " in line and TLS_FAILURE.search(line) for line in retries)
    assert done.stdout == ""
    # Nothing reached the provider: the token is as it was.
    assert tls_sandbox.token_status(provider, token_id).upper() == "ACTIVE"  # type: ignore[arg-type]


def test_another_sandboxs_ca_is_not_trusted_either(tls_sandbox: Sandbox) -> None:
    with Sandbox.start(port=0, tls=True) as other:
        env = {**tls_sandbox.env(), "TOKENCANCEL_CA_BUNDLE": str(other.ca_bundle)}
        done = _cancel(env, "xendit", _token(tls_sandbox, "xendit"))
    assert done.returncode == 3, done.stderr
    assert TLS_FAILURE.search(done.stderr), done.stderr


def test_the_library_raises_a_typed_transport_error_naming_tls(tls_sandbox: Sandbox) -> None:
    # The same failure through TokenCancelClient.from_env: a TransportError (not a timeout)
    # naming the verification failure, sent once: a certificate that does not verify fails the
    # same way on every retry.
    env = {k: v for k, v in tls_sandbox.env().items() if k != "TOKENCANCEL_CA_BUNDLE"}
    with TokenCancelClient.from_env(env) as client, pytest.raises(TransportError) as caught:
        client.cancel_xendit(_token(tls_sandbox, "xendit"))
    error = caught.value
    assert type(error) is TransportError
    assert not error.retryable
    assert TLS_FAILURE.search(str(error)), str(error)
    with TokenCancelClient.from_env(tls_sandbox.env()) as client:
        assert client.cancel_xendit(_token(tls_sandbox, "xendit")).http_status == 200
