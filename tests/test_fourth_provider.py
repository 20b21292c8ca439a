"""A fourth provider, added by the recipe in docs/architecture.md, works everywhere unchanged.

The recipe's overlay steps are a provider module (settings, auth, a `ProviderAdapter`) and a
registry line. This test writes a fake provider, "acme", registers it, and uses it through the
library, the `tokencancel cancel` command and `tokencancel bulk`, against a loopback server: no
facade, CLI or bulk code knows it exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import attrs
import pytest
from tokencancel import CancelOutcome, NotFoundError, TokenCancelClient
from tokencancel._checks import (
    check_base_url,
    env_value,
    required_env,
    validated_credential,
    validated_url,
)
from tokencancel._cli import main
from tokencancel._rate import Rate
from tokencancel._transport import OutgoingRequest
from tokencancel.providers import (
    REGISTRY,
    AnswerReader,
    CredentialPlacement,
    EnvVar,
    PreparedCancel,
    ProviderAdapter,
    Verdict,
)

from .overlay.loopback_server import CaptureServer, json_reply

ACME_KEY = "acme_test_key_0001"
ACME_DOC = "https://acme.example/docs/cancel"  # the fake provider's "public source"


@attrs.frozen
class AcmeSettings:
    """The fake provider's settings: an API key and a base URL."""

    api_key: str = attrs.field(repr=False, validator=validated_credential("api_key", secret=True))
    base_url: str = attrs.field(default="https://acme.example", validator=validated_url("base_url"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        return cls(
            api_key=required_env(env, "ACME_API_KEY"),
            base_url=check_base_url(
                env_value(env, "ACME_BASE_URL") or "https://acme.example", "ACME_BASE_URL"
            ),
        )


class AcmeAdapter(ProviderAdapter[AcmeSettings, dict[str, Any]]):
    """The whole of the fake provider's knowledge, as the recipe asks."""

    name: ClassVar[str] = "acme"
    display_name: ClassVar[str] = "Acme"
    operation_path: ClassVar[str] = "/tokens/{token_id}/cancel"
    settings_type: ClassVar[type[Any]] = AcmeSettings
    env_vars: ClassVar[tuple[EnvVar, ...]] = (
        EnvVar("ACME_API_KEY", "API key", secret=True, selects_provider=True),
        EnvVar("ACME_BASE_URL", "server URL"),
    )

    def settings_from_env(self, env: Mapping[str, str]) -> AcmeSettings:
        return AcmeSettings.from_env(env)

    def credentials(self, settings: AcmeSettings) -> CredentialPlacement:
        return CredentialPlacement(headers={"Authorization": f"Bearer {settings.api_key}"})

    def default_rate(self, settings: AcmeSettings) -> Rate:
        """100/s: the fake provider's published limit."""
        return Rate(100, 1.0)

    def build_request(self, settings: AcmeSettings, prepared: PreparedCancel) -> OutgoingRequest:
        path = self.operation_path.format(token_id=prepared.token_id)
        return OutgoingRequest("POST", settings.base_url + path, {})

    def interpret(self, reader: AnswerReader) -> Verdict[dict[str, Any]]:
        body = reader.body or {}
        if reader.answer.status == 200 and body.get("state") == "cancelled":
            return reader.verdict(CancelOutcome.CANCELLED, "cancelled", dict, source=ACME_DOC)
        if reader.answer.status == 404 and body.get("code") == "no_such_token":
            raise reader.fail(
                NotFoundError, "token not found", code="no_such_token", source=ACME_DOC
            )
        raise reader.unexpected(reader.describe_body())


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> AcmeAdapter:
    """The fake provider, registered for the test only (the recipe's registry line)."""
    adapter = AcmeAdapter()
    monkeypatch.setitem(REGISTRY, adapter.name, adapter)
    return adapter


@pytest.fixture
def server() -> Iterator[CaptureServer]:
    capture = CaptureServer()
    capture.start()
    yield capture
    capture.stop()


def test_the_library_cancels_at_a_registered_provider(
    acme: AcmeAdapter, server: CaptureServer
) -> None:
    """`cancel("acme", ...)` reaches the fake provider with its auth and reads its outcome table."""
    server.script(
        json_reply(200, {"state": "cancelled"}), json_reply(404, {"code": "no_such_token"})
    )
    with TokenCancelClient(settings=[AcmeSettings(ACME_KEY, base_url=server.url)]) as client:
        result = client.cancel("acme", "tok-1")  # type: ignore[arg-type]  # not a built-in name
        with pytest.raises(NotFoundError) as caught:
            client.cancel("acme", "tok-2")  # type: ignore[arg-type]
    assert result.outcome is CancelOutcome.CANCELLED
    assert result.provider == "acme"
    assert result.rule_source == ACME_DOC
    assert caught.value.rule_source == ACME_DOC
    assert [request.path for request in server.requests] == [
        "/tokens/tok-1/cancel",
        "/tokens/tok-2/cancel",
    ]
    assert server.requests[0].headers["authorization"] == f"Bearer {ACME_KEY}"


def test_the_cli_cancels_at_a_registered_provider(
    acme: AcmeAdapter, server: CaptureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tokencancel cancel acme TOKEN` works from the registry alone, configured from the env."""
    server.script(json_reply(200, {"state": "cancelled"}))
    env = {"ACME_API_KEY": ACME_KEY, "ACME_BASE_URL": server.url}
    assert main(["cancel", "acme", "tok-1"], env) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["outcome"] == "cancelled"
    assert ACME_KEY not in out


def test_bulk_cancels_at_a_registered_provider(
    acme: AcmeAdapter, server: CaptureServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tokencancel bulk acme` paces, records and summarises the fake provider's tokens."""
    server.script(*(json_reply(200, {"state": "cancelled"}) for _ in range(3)))
    ids = tmp_path / "ids.txt"
    ids.write_text("tok-1\ntok-2\ntok-3\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    env = {"ACME_API_KEY": ACME_KEY, "ACME_BASE_URL": server.url}
    code = main(["bulk", "acme", str(ids), "--output", str(output), "--rate", "off"], env)
    capsys.readouterr()
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert code == 0
    assert sorted(line["token_id"] for line in lines) == ["tok-1", "tok-2", "tok-3"]
    assert {line["outcome"] for line in lines} == {"cancelled"}
    assert {line["provider"] for line in lines} == {"acme"}
