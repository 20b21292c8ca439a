"""Per-provider rate limits: off by default, the provider's 429 shape when configured."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from tokencancel_sandbox import RateLimit, Sandbox, SandboxConfig, SandboxConfigError

from .sandbox_helpers import ProviderCalls, assert_conforms

UNKNOWN = "pt-00000000-0000-0000-0000-000000000000"


@pytest.fixture
def limited() -> Iterator[Sandbox]:
    """A sandbox with Xendit limited to 3 calls a minute, the others unlimited."""
    config = SandboxConfig(rate_limits={"xendit": RateLimit(requests=3, per_seconds=60)})
    with Sandbox.start(port=0, config=config) as running:
        yield running


def test_no_rate_limit_by_default(calls: ProviderCalls) -> None:
    # Without configuration, 100 quick calls are all answered (404 for an unknown id).
    assert {calls.xendit(UNKNOWN).status_code for _ in range(100)} == {404}


def test_configured_limit_answers_xendits_429(limited: Sandbox, http: httpx2.Client) -> None:
    # The 4th call within the window gets 429 RATE_LIMIT_EXCEEDED with Rate-Limit-* headers.
    calls = ProviderCalls(limited, http)
    assert [calls.xendit(UNKNOWN).status_code for _ in range(3)] == [404] * 3
    response = calls.xendit(UNKNOWN)
    assert response.status_code == 429
    assert response.json()["error_code"] == "RATE_LIMIT_EXCEEDED"
    assert response.headers["rate-limit-limit"] == "3"
    assert response.headers["rate-limit-remaining"] == "0"
    assert 0 < float(response.headers["rate-limit-reset"]) <= 60
    assert_conforms("xendit", response)


def test_rate_limits_are_per_provider_and_spare_the_control_api(
    limited: Sandbox, http: httpx2.Client
) -> None:
    # Xendit's limit does not touch KBank, nor the control API.
    calls = ProviderCalls(limited, http)
    for _ in range(4):
        calls.xendit(UNKNOWN)
    assert calls.xendit(UNKNOWN).status_code == 429
    assert calls.kbank("unknown").json()["errorCode"] == "TOKEN_NOT_FOUND"
    assert http.get(f"{limited.url}/_sandbox/health").status_code == 200
    assert http.post(f"{limited.url}/_sandbox/xendit/tokens").status_code == 201


def test_reset_clears_the_rate_limit_window(limited: Sandbox, http: httpx2.Client) -> None:
    # POST /_sandbox/reset starts a fresh window.
    calls = ProviderCalls(limited, http)
    for _ in range(4):
        calls.xendit(UNKNOWN)
    limited.reset()
    assert calls.xendit(UNKNOWN).status_code == 404


@pytest.mark.parametrize(
    ("provider", "code"), [("solidgate", "5.07"), ("kbank", "TOO_MANY_REQUESTS")]
)
def test_other_providers_limits_use_their_shapes(
    http: httpx2.Client, provider: str, code: str
) -> None:
    # Solidgate answers 429 with 5.07; KBank 429 with statusCode 10 and Retry-After.
    config = SandboxConfig(rate_limits={provider: RateLimit(requests=1, per_seconds=60)})
    with Sandbox.start(port=0, config=config) as sandbox:
        calls = ProviderCalls(sandbox, http)
        calls.cancel(provider, "unknown")
        response = calls.cancel(provider, "unknown")
    assert response.status_code == 429
    body = response.json()
    assert (body["error"]["code"] if provider == "solidgate" else body["errorCode"]) == code


def test_bad_rate_limit_configuration_is_refused() -> None:
    # An unknown provider or a non-positive limit is a configuration error, at construction.
    with pytest.raises(SandboxConfigError):
        SandboxConfig(rate_limits={"paypal": RateLimit(1, 1)})
    with pytest.raises(SandboxConfigError):
        RateLimit(requests=0, per_seconds=60)
