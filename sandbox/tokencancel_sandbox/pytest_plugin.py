"""pytest plugin: the tokencancel sandbox as a test dependency, started on first use.

Installed with tokencancel (entry point `pytest11`), so any test suite can ask for it:

    def test_cancel_twice(tokencancel_sandbox, tokencancel_sandbox_env):
        token_id = tokencancel_sandbox.create_token("xendit")
        with TokenCancelClient.from_env() as client:      # reads tokencancel_sandbox_env
            assert client.cancel_xendit(token_id).outcome is CancelOutcome.CANCELLED
        assert tokencancel_sandbox.token_status("xendit", token_id) == "CANCELED"

Fixtures:

- `tokencancel_sandbox` (session): a running `Sandbox` on a free loopback port, shared by the
  session and closed at its end: `env()`, `exports()`, `credentials`, `url`, `base_url()`,
  `ca_bundle`, `create_token()`, `token_status()`, `reset()`.
- `tokencancel_sandbox_env` (function): the sandbox's `env()`, also set in `os.environ` for the
  test (undone after it).
- `tokencancel_sandbox_config` (session): the `SandboxConfig` it starts with; override it in a
  conftest.py to change credentials, rate limits, the vocabulary, KBank's settings, ...
- `tokencancel_sandbox_tls` (session): False; override it to return True for https with a
  throwaway CA (`TOKENCANCEL_CA_BUNDLE` in the env).

Nothing starts until a test requests one of these, and loading the plugin imports only this
module and the sandbox's settings: a suite that never uses the sandbox pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tokencancel_sandbox._config import SandboxConfig
from tokencancel_sandbox._extra import is_missing_extra, missing_extra_message

if TYPE_CHECKING:
    from tokencancel_sandbox._sandbox import Sandbox

__all__ = [
    "tokencancel_sandbox",
    "tokencancel_sandbox_config",
    "tokencancel_sandbox_env",
    "tokencancel_sandbox_tls",
]


@pytest.fixture(scope="session")
def tokencancel_sandbox_config() -> SandboxConfig:
    """The settings of the session's sandbox (override this fixture to change them)."""
    return SandboxConfig()


@pytest.fixture(scope="session")
def tokencancel_sandbox_tls() -> bool:
    """Whether the session's sandbox serves https (override this fixture to return True)."""
    return False


@pytest.fixture(scope="session")
def tokencancel_sandbox(
    tokencancel_sandbox_config: SandboxConfig, tokencancel_sandbox_tls: bool
) -> Iterator[Sandbox]:
    """A tokencancel sandbox serving on a free loopback port for the whole test session."""
    sandbox_class = _sandbox_class()
    if isinstance(sandbox_class, str):
        pytest.fail(f"tokencancel_sandbox: {sandbox_class}", pytrace=False)
    with sandbox_class.start(
        "127.0.0.1", 0, tokencancel_sandbox_config, tls=tokencancel_sandbox_tls
    ) as sandbox:
        yield sandbox


def _sandbox_class() -> type[Sandbox] | str:
    """Import `Sandbox` (only when a test needs it); else say how to install what is missing."""
    try:
        from tokencancel_sandbox._sandbox import Sandbox  # noqa: PLC0415
    except ModuleNotFoundError as missing:
        if not is_missing_extra(missing):
            raise
        return missing_extra_message(missing)
    return Sandbox


@pytest.fixture
def tokencancel_sandbox_env(
    tokencancel_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The sandbox's client environment, also set in `os.environ` for this test."""
    environment = tokencancel_sandbox.env()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment
