"""Helpers for the spec and generated-client tests: load specs, call a generated client offline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import tokencancel_kbank_client
import tokencancel_solidgate_client
import tokencancel_xendit_client
import yaml
from tokencancel_kbank_client.api.kplus_payment import cancel_token as kbank_cancel
from tokencancel_kbank_client.models import CancelTokenRequest
from tokencancel_solidgate_client.api.alternative_payment_methods import (
    cancel_token as solidgate_cancel,
)
from tokencancel_solidgate_client.models import RevokeTokenRequest
from tokencancel_xendit_client.api.payment_tokens import cancel_token as xendit_cancel
from tokencancel_xendit_client.models import CancelTokenApiVersion

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
PROVIDERS = ("kbank", "solidgate", "xendit")


def load_spec(provider: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / f"{provider}.yaml").read_text(encoding="utf-8"))


def the_operation(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Each spec describes exactly one operation: return its path and its operation object."""
    [(path, item)] = spec["paths"].items()
    [operation] = [value for key, value in item.items() if key in {"get", "post", "put", "delete"}]
    return path, operation


def response_examples(provider: str) -> Iterator[tuple[int, str, Any]]:
    """Yield (status, example name, example body) for every response example of a spec."""
    _, operation = the_operation(load_spec(provider))
    for status, response in operation["responses"].items():
        for media in response.get("content", {}).values():
            for name, example in media.get("examples", {}).items():
                yield int(status), name, example["value"]


def request_examples(provider: str) -> Iterator[tuple[str, Any]]:
    _, operation = the_operation(load_spec(provider))
    body = operation.get("requestBody")
    if body:
        for media in body["content"].values():
            for name, example in media.get("examples", {}).items():
                yield name, example["value"]


# A valid call per provider, made through the generated client: (client module, call).
def call_generated_client(
    provider: str, status: int, body: bytes, headers: dict[str, str] | None = None
) -> Any:
    """Send the documented example request through the generated client to a canned answer."""
    sent: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(
            status, content=body, headers={"content-type": "application/json", **(headers or {})}
        )

    transport = httpx2.MockTransport(answer)
    call = GENERATED_CALLS[provider]
    response = call(transport)
    assert len(sent) == 1, "the generated client must send exactly one request"
    return response


def _kbank(transport: httpx2.MockTransport) -> Any:

    [(_, example)] = request_examples("kbank")
    client = tokencancel_kbank_client.Client(
        base_url="http://127.0.0.1", httpx_args={"transport": transport}
    )
    return kbank_cancel.sync_detailed(client=client, body=CancelTokenRequest.from_dict(example))


def _solidgate(transport: httpx2.MockTransport) -> Any:

    [(_, example)] = request_examples("solidgate")
    client = tokencancel_solidgate_client.Client(
        base_url="http://127.0.0.1", httpx_args={"transport": transport}
    )
    return solidgate_cancel.sync_detailed(client=client, body=RevokeTokenRequest.from_dict(example))


def _xendit(transport: httpx2.MockTransport) -> Any:

    client = tokencancel_xendit_client.Client(
        base_url="http://127.0.0.1", httpx_args={"transport": transport}
    )
    return xendit_cancel.sync_detailed(
        "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1",
        client=client,
        api_version=CancelTokenApiVersion.V2024_11_11,
    )


GENERATED_CALLS: dict[str, Callable[[httpx2.MockTransport], Any]] = {
    "kbank": _kbank,
    "solidgate": _solidgate,
    "xendit": _xendit,
}
