"""Local emulator of the three providers' cancel-token endpoints, driven by their specs.

    from tokencancel_sandbox import Sandbox, SandboxConfig, RateLimit

    with Sandbox.start(config=SandboxConfig(rate_limits={"xendit": RateLimit(60, 60)})) as sandbox:
        token_id = sandbox.create_token("xendit", fault="503", fault_times=1)
        env = sandbox.env()  # XENDIT_BASE_URL, XENDIT_SECRET_KEY, ... for the client

Providers live under `/kbank/v1`, `/solidgate/api` and `/xendit`; the control API under
`/_sandbox/`. See docs/sandbox.md.

The sandbox's optional dependencies (`pip install 'tokencancel[sandbox]'`) are imported when
`Sandbox` is first used, not by importing this package: its settings, errors and
`OUTCOME_RULES_PATH` are available without them, and the pytest plugin costs nothing to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokencancel_sandbox._config import (
    FAULTS,
    PROVIDERS,
    KBankCredentials,
    RateLimit,
    SandboxConfig,
    SolidgateCredentials,
    XenditCredentials,
)
from tokencancel_sandbox._conventions import OUTCOME_RULES_PATH
from tokencancel_sandbox._errors import ControlRequestError, SandboxConfigError, SandboxError
from tokencancel_sandbox._extra import (
    SandboxExtraMissingError,
    is_missing_extra,
    missing_extra_message,
)

if TYPE_CHECKING:
    from tokencancel_sandbox._sandbox import Sandbox

__all__ = [
    "FAULTS",
    "OUTCOME_RULES_PATH",
    "PROVIDERS",
    "ControlRequestError",
    "KBankCredentials",
    "RateLimit",
    "Sandbox",
    "SandboxConfig",
    "SandboxConfigError",
    "SandboxError",
    "SandboxExtraMissingError",
    "SolidgateCredentials",
    "XenditCredentials",
]


def __getattr__(name: str) -> Any:
    """Import `Sandbox` (and with it the optional dependencies) on first use."""
    if name != "Sandbox":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from tokencancel_sandbox._sandbox import Sandbox  # noqa: PLC0415
    except ModuleNotFoundError as missing:
        if not is_missing_extra(missing):
            raise
        raise SandboxExtraMissingError(missing_extra_message(missing), name=missing.name) from None
    globals()["Sandbox"] = Sandbox  # later lookups skip this function
    return Sandbox
