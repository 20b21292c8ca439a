"""The fuzzer authenticates exactly as the overlay does, and leaves deliberate breakage alone."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import CHECKS
from tokencancel import KBankSettings
from tokencancel.providers.kbank import kbank_credential_headers
from tokencancel.providers.solidgate import solidgate_signature, solidgate_signature_matches
from tokencancel.providers.xendit import xendit_authorization

HERE = Path(__file__).resolve().parent
CUSTOM_CHECKS = (
    "provider_positive_data_acceptance",
    "provider_negative_data_rejection",
    "provider_credentials_enforced",
)
SPECS = HERE.parents[1] / "specs"

ENV = {
    "KBANK_PARTNER_ID": "KP2HOOKS0000001",
    "KBANK_PARTNER_SECRET": "kbank_hooks_secret_0001",
    "KBANK_BASE_URL": "http://127.0.0.1:9/kbank/v1",
    "KBANK_PARTNER_HEADERS": "1",  # the spec's second security alternative: headers too
    "SOLIDGATE_PUBLIC_KEY": "api_pk_hooks_0001",
    "SOLIDGATE_SECRET_KEY": "api_sk_hooks_0001",
    "SOLIDGATE_BASE_URL": "http://127.0.0.1:9/solidgate/api",
    "XENDIT_SECRET_KEY": "xnd_development_hooks_0001",
    "XENDIT_BASE_URL": "http://127.0.0.1:9/xendit",
}


@pytest.fixture(scope="module")
def loaded_hooks() -> Iterator[ModuleType]:
    # Loaded from its file, the way schemathesis loads it. Loading registers an auth provider, a
    # hook and checks in schemathesis' global registries; they are removed again afterwards so
    # other tests that generate cases in this process are not authenticated by them.
    spec = importlib.util.spec_from_file_location(
        "contract_hooks_under_test", HERE.parents[1] / "contract" / "hooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        yield module
    finally:
        schemathesis.auths.unregister()
        schemathesis.hooks.unregister(module.before_call)
        for name in CUSTOM_CHECKS:
            CHECKS.unregister(name)


@pytest.fixture
def hooks(loaded_hooks: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    loaded_hooks.settings_of.cache_clear()
    yield loaded_hooks
    loaded_hooks.settings_of.cache_clear()


def make_case(provider: str, **kwargs: Any) -> Any:
    schema = schemathesis.openapi.from_path(SPECS / f"{provider}.yaml")
    (path,) = schema.raw_schema["paths"]
    return schema[path]["POST"].Case(**kwargs)


def test_credential_headers_come_from_the_overlay(hooks: ModuleType) -> None:
    """The auth provider sends the overlay's own placement: KBank headers, Xendit Authorization."""
    provider = hooks.ProviderCredentials()
    kbank = KBankSettings(ENV["KBANK_PARTNER_ID"], ENV["KBANK_PARTNER_SECRET"])
    assert provider.get(make_case("kbank"), None) == kbank_credential_headers(kbank)
    assert hooks.adapter_of(make_case("kbank")).name == "kbank"
    assert provider.get(make_case("xendit"), None) == {
        "Authorization": xendit_authorization(ENV["XENDIT_SECRET_KEY"])
    }
    solidgate = provider.get(make_case("solidgate"), None)
    assert solidgate == {"merchant": ENV["SOLIDGATE_PUBLIC_KEY"], "signature": hooks.SIGNED_ON_SEND}


def test_kbank_credentials_overwrite_present_values_and_never_add_missing_ones(
    hooks: ModuleType,
) -> None:
    """Present, well-formed credentials become the real ones; missing or malformed ones stay."""
    case = make_case(
        "kbank",
        headers={"Partner-Id": "generated-id"},  # Partner-Secret left out by the fuzzer
        body={"partnerId": "generated", "partnerSecret": "", "tokenId": "t", "requestDt": 1},
    )
    hooks.before_call(None, case, {})
    assert case.headers == {"Partner-Id": ENV["KBANK_PARTNER_ID"]}
    assert case.body == {
        "partnerId": ENV["KBANK_PARTNER_ID"],
        "partnerSecret": "",  # malformed on purpose (minLength 1): sent as generated
        "tokenId": "t",
        "requestDt": 1,
    }

    wrong_type = make_case("kbank", headers={}, body={"partnerSecret": 12345})
    hooks.before_call(None, wrong_type, {})
    assert wrong_type.headers == {}
    assert wrong_type.body == {"partnerSecret": 12345}


def test_solidgate_requests_are_signed_over_the_bytes_requests_sends(hooks: ModuleType) -> None:
    """The signature covers requests' spaced, ASCII-escaped JSON, not a compact re-encoding."""
    case = make_case(
        "solidgate",
        headers={"merchant": ENV["SOLIDGATE_PUBLIC_KEY"], "signature": hooks.SIGNED_ON_SEND},
        body={"token": "tökén"},
    )
    kwargs: dict[str, Any] = {}
    hooks.before_call(None, case, kwargs)
    prepared = requests.Request(
        "POST", "http://127.0.0.1:9/x", json=case.body, auth=kwargs["auth"]
    ).prepare()
    assert isinstance(prepared.body, bytes)
    assert prepared.body == b'{"token": "t\\u00f6k\\u00e9n"}'
    signature = prepared.headers["signature"]
    public, secret = ENV["SOLIDGATE_PUBLIC_KEY"], ENV["SOLIDGATE_SECRET_KEY"]
    assert solidgate_signature_matches(public, secret, prepared.body, signature)
    compact = json.dumps(case.body, ensure_ascii=False, separators=(",", ":")).encode()
    assert signature != solidgate_signature(public, secret, compact)
    assert "hooks_0001" not in repr(kwargs["auth"])


def test_solidgate_cases_without_the_placeholder_are_sent_unsigned(hooks: ModuleType) -> None:
    """A signature the fuzzer removed or garbled on purpose is not replaced by a valid one."""
    for headers in ({"merchant": ENV["SOLIDGATE_PUBLIC_KEY"]}, {"signature": "garbled"}):
        kwargs: dict[str, Any] = {}
        hooks.before_call(
            None, make_case("solidgate", headers=headers, body={"token": "t"}), kwargs
        )
        assert "auth" not in kwargs
