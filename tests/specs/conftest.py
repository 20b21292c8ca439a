"""Fixtures for the spec and generated-client tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .spec_helpers import call_generated_client


@pytest.fixture
def answer_with() -> Callable[..., Any]:
    def call(
        provider: str, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> Any:
        return call_generated_client(provider, status, json.dumps(payload).encode(), headers)

    return call
