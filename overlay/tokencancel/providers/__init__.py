"""The providers: one module each, one interface (`ProviderAdapter`), one registry.

`REGISTRY` maps each provider's name to its adapter; the facade, the command line, bulk, the
benchmarks and the contract hooks iterate it and never branch on a provider. Adding a provider
is one spec, one generated client, one module here, one sandbox module and one line below
(docs/architecture.md has the whole recipe). `register` adds one at run time, for extensions
and tests.
"""

from __future__ import annotations

from typing import Any

from .._errors import InvalidRequestError
from .._provider import Provider
from ._base import (
    AnswerReader,
    CheckCall,
    CredentialAuth,
    CredentialPlacement,
    EnvVar,
    PreparedCancel,
    ProviderAdapter,
    ProviderSettings,
    Verdict,
)
from ._check import CheckProbe, CheckReport, CheckVerdict
from .kbank import KBANK
from .solidgate import SOLIDGATE
from .xendit import XENDIT

__all__ = [
    "REGISTRY",
    "AnswerReader",
    "CheckCall",
    "CheckProbe",
    "CheckReport",
    "CheckVerdict",
    "CredentialAuth",
    "CredentialPlacement",
    "EnvVar",
    "PreparedCancel",
    "ProviderAdapter",
    "ProviderSettings",
    "Verdict",
    "adapter_for",
    "adapter_for_settings",
    "register",
]

REGISTRY: dict[str, ProviderAdapter[Any, Any]] = {
    adapter.name: adapter for adapter in (KBANK, SOLIDGATE, XENDIT)
}
"""Every provider this package can cancel at, by name, in `Provider` order."""


def register(adapter: ProviderAdapter[Any, Any]) -> None:
    """Add a provider at run time (its name must be new)."""
    if adapter.name in REGISTRY:
        raise ValueError(f"a provider named {adapter.name!r} is already registered")
    REGISTRY[adapter.name] = adapter


def adapter_for(provider: Provider | str) -> ProviderAdapter[Any, Any]:
    """The adapter of `provider`, or InvalidRequestError listing the registered names."""
    adapter = REGISTRY.get(str(provider))
    if adapter is None:
        choices = ", ".join(REGISTRY)
        raise InvalidRequestError(f"unknown provider {provider!r}; choose one of {choices}")
    return adapter


def adapter_for_settings(settings: object) -> ProviderAdapter[Any, Any]:
    """The adapter whose settings class `settings` is an instance of."""
    for adapter in REGISTRY.values():
        if isinstance(settings, adapter.settings_type):
            return adapter
    raise TypeError(f"{type(settings).__name__} is not the settings of a registered provider")
