"""Local emulator of the three providers' cancel-token endpoints, driven by their specs.

    from tokencancel_sandbox import Sandbox, SandboxConfig, RateLimit

    with Sandbox.start(config=SandboxConfig(rate_limits={"xendit": RateLimit(60, 60)})) as sandbox:
        token_id = sandbox.create_token("xendit", fault="503", fault_times=1)
        env = sandbox.env()  # XENDIT_BASE_URL, XENDIT_SECRET_KEY, ... for the overlay

Providers live under `/kbank/v1`, `/solidgate/api` and `/xendit`; the control API under
`/_sandbox/`. See docs/sandbox.md.
"""

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
    "SolidgateCredentials",
    "XenditCredentials",
]
