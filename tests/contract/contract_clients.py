"""The client side of the contract: feed chosen answers through the overlay and its clients.

`AnsweringClient` is a `TokenCancelClient` whose transport answers each cancel with whatever the
test scripts (no network, no retries), so a test can put any provider answer through the
generated client and the overlay and see what comes out.
`response_strategies` draws schema-valid response bodies for every response each spec declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import schemathesis
import yaml
from hypothesis import strategies as st
from schemathesis import GenerationMode
from tokencancel import (
    CancelResult,
    KBankSettings,
    Provider,
    RetryPolicy,
    SolidgateSettings,
    TokenCancelClient,
    TokenCancelError,
    XenditSettings,
)

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
PROVIDERS = ("kbank", "solidgate", "xendit")

KBANK_TOKEN = "KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B"
SOLIDGATE_TOKEN = "923bb4e6-4a5f-41ec-81fb-28eb8a152e55"
XENDIT_TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"


def load_spec(provider: str) -> dict[str, Any]:
    """The provider's OpenAPI document."""
    spec: dict[str, Any] = yaml.safe_load((SPECS / f"{provider}.yaml").read_text(encoding="utf-8"))
    return spec


def documented_responses(provider: str) -> list[tuple[int, dict[str, Any]]]:
    """(status, JSON schema) of every response the provider's cancel operation declares."""
    spec = load_spec(provider)
    (operation,) = (item["post"] for item in spec["paths"].values())
    return [
        (int(status), response["content"]["application/json"]["schema"])
        for status, response in operation["responses"].items()
    ]


def response_strategies(provider: str) -> dict[int, st.SearchStrategy[Any]]:
    """Per documented status, a strategy of bodies valid against that response's schema.

    schemathesis generates only requests, so each response schema is declared as the request
    body of an operation of a scratch spec (sharing the real spec's components), and
    schemathesis' positive generation draws from it.
    """
    spec = load_spec(provider)
    paths = {
        f"/{status}": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                },
                "responses": {"200": {"description": "unused"}},
            }
        }
        for status, schema in documented_responses(provider)
    }
    scratch = {
        "openapi": "3.1.0",
        "info": {"title": f"{provider} responses", "version": "1"},
        "paths": paths,
        "components": spec["components"],
    }
    schema = schemathesis.openapi.from_dict(scratch)
    return {
        int(path.lstrip("/")): schema[path]["POST"]
        .as_strategy(generation_mode=GenerationMode.POSITIVE)
        .map(lambda case: case.body)
        for path in paths
    }


@dataclass
class Answer:
    """What the scripted transport answers next."""

    status: int = 200
    content: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


class AnsweringClient:
    """A TokenCancelClient for every provider whose transport answers with `self.answer`."""

    def __init__(self) -> None:
        self.answer = Answer()
        base = "http://127.0.0.1:9"  # never contacted: the transport answers
        self.client = TokenCancelClient(
            kbank=KBankSettings("KP2XXX000033159", "contract_kbank_secret", base_url=f"{base}/v1"),
            solidgate=SolidgateSettings(
                "api_pk_contract_0001", "api_sk_contract_0001", base_url=f"{base}/api"
            ),
            xendit=XenditSettings("xnd_development_contract_0001", base_url=base),
            transport_factory=lambda _settings: httpx2.MockTransport(self._respond),
            retry=RetryPolicy(max_attempts=1),
            sleep=lambda _seconds: None,
        )

    def _respond(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            self.answer.status, content=self.answer.content, headers=self.answer.headers
        )

    def cancel(self, provider: str, answer: Answer) -> CancelResult | TokenCancelError:
        """Cancel the spec's example token, answered with `answer`; return what came out.

        A `TokenCancelError` is returned rather than raised; anything else propagates and
        fails the calling test.
        """
        self.answer = answer
        try:
            if provider == Provider.KBANK:
                return self.client.cancel_kbank(KBANK_TOKEN, reference1="ORDER-0001")
            if provider == Provider.SOLIDGATE:
                return self.client.cancel_solidgate(SOLIDGATE_TOKEN)
            return self.client.cancel_xendit(XENDIT_TOKEN)
        except TokenCancelError as error:
            return error

    def close(self) -> None:
        """Release the client's pools."""
        self.client.close()
