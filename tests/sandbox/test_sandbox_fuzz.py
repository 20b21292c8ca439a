"""A short schema-driven fuzz: no 5xx, and every answer conforms to the spec.

Schemathesis generates requests from each spec, valid (positive) and invalid (negative); the
test sends them with valid credentials, signed over the exact bytes sent, so they reach the
sandbox's validation and token logic rather than stopping at authentication.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from tokencancel.providers.solidgate import solidgate_signature
from tokencancel_sandbox import Sandbox

from .sandbox_helpers import SPECS, ProviderCalls, spec_problems

_OPERATIONS = {
    "kbank": "/kplus/payment/cancel-token",
    "solidgate": "/v1/recurring-token/cancel",
    "xendit": "/v3/payment_tokens/{payment_token_id}/cancel",
}

_EXAMPLES = 40


def _send(provider: str, calls: ProviderCalls, case: Any) -> httpx2.Response:
    """Send a generated case with valid credentials; bodies are serialised once, then signed."""
    keys = calls.credentials
    base = calls.sandbox.base_url(provider)
    if provider == "xendit":
        headers = {
            name: value
            for name, value in (case.headers or {}).items()
            if name.lower() != "authorization"
        }
        return calls.http.post(
            f"{base}/v3/payment_tokens/{case.path_parameters['payment_token_id']}/cancel",
            headers=headers,
            auth=(keys["xendit"]["secret_key"], ""),
        )
    body = case.body if not isinstance(case.body, type(schemathesis.core.NOT_SET)) else None
    if provider == "kbank":
        if isinstance(body, dict):
            body = {
                **body,
                "partnerId": keys["kbank"]["partner_id"],
                "partnerSecret": keys["kbank"]["partner_secret"],
            }
        raw = json.dumps(body).encode()
        return calls.http.post(
            f"{base}/kplus/payment/cancel-token",
            content=raw,
            headers={"Content-Type": "application/json", **calls.kbank_headers()},
        )
    raw = json.dumps(body).encode()
    public_key, secret_key = keys["solidgate"]["public_key"], keys["solidgate"]["secret_key"]
    return calls.http.post(
        f"{base}/v1/recurring-token/cancel",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "merchant": public_key,
            "signature": solidgate_signature(public_key, secret_key, raw),
        },
    )


def _fuzz(
    provider: str, strategy: st.SearchStrategy[Any], check: Callable[[httpx2.Response], None]
) -> None:
    with Sandbox.start(port=0) as sandbox, httpx2.Client(timeout=10) as http:
        calls = ProviderCalls(sandbox, http)

        @settings(
            max_examples=_EXAMPLES,
            deadline=None,
            database=None,
            # Health checks judge the generator's speed and sizes, not the sandbox: off.
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            try:
                response = _send(provider, calls, case)
            except (httpx2.LocalProtocolError, UnicodeEncodeError, TypeError, ValueError):
                assume(False)  # headers or bodies httpx2 itself cannot send
                return
            check(response)

        run()


@pytest.mark.parametrize("provider", sorted(_OPERATIONS))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_generated_requests_never_get_a_5xx_and_answers_conform(
    provider: str, mode: GenerationMode
) -> None:
    # Whatever the spec-derived generator sends, the sandbox answers below 500 and per spec.
    schema = schemathesis.openapi.from_path(str(SPECS / f"{provider}.yaml"))
    strategy = schema[_OPERATIONS[provider]]["POST"].as_strategy(generation_mode=mode)

    def check(response: httpx2.Response) -> None:
        assert response.status_code < 500, response.text
        if response.json().get("error_code") == "NOT_FOUND":
            return  # the generated id changed the path itself (e.g. ".."): no operation matched
        assert not spec_problems(provider, response), response.text

    _fuzz(provider, strategy, check)
