"""Fixtures for the sandbox tests: a live sandbox on a free port, and raw provider calls.

Elsewhere, use the pytest plugin installed with the package (the `tokencancel_sandbox`
fixtures, docs/sandbox.md); these tests keep a fixture of their own, which checks every answer
against the specs and keeps Solidgate tokens processing for the whole session.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from tokencancel_sandbox import Sandbox, SandboxConfig

from .sandbox_helpers import ProviderCalls

#: Solidgate tokens cancelled in the shared sandbox stay `processing` for the whole session, so
#: tests never depend on timing; the settling itself is tested on a sandbox of its own.
SETTLE_SECONDS = 3600.0


@pytest.fixture(scope="session")
def _running_sandbox() -> Iterator[Sandbox]:
    """One sandbox server for the session, checking its own answers against the specs."""
    config = SandboxConfig(cancel_settle_seconds=SETTLE_SECONDS, validate_responses=True)
    with Sandbox.start(port=0, config=config) as running:
        yield running


@pytest.fixture
def sandbox(_running_sandbox: Sandbox) -> Sandbox:
    """A sandbox on a free loopback port, reset for each test (tokens and rate windows)."""
    _running_sandbox.reset()
    return _running_sandbox


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    """A plain httpx2 client (keep-alive, short timeout)."""
    with httpx2.Client(timeout=10.0) as client:
        yield client


@pytest.fixture
def calls(sandbox: Sandbox, http: httpx2.Client) -> ProviderCalls:
    """Raw provider calls against the `sandbox` fixture."""
    return ProviderCalls(sandbox, http)
