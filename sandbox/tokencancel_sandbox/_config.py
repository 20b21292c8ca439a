"""Configuration of the sandbox: credentials, rate limits and timings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tokencancel_sandbox._errors import SandboxConfigError

__all__ = [
    "FAULTS",
    "PROVIDERS",
    "KBankCredentials",
    "RateLimit",
    "SandboxConfig",
    "SolidgateCredentials",
    "XenditCredentials",
]

#: The providers the sandbox emulates, by the name used in URLs and the control API.
PROVIDERS = ("kbank", "solidgate", "xendit")

#: The faults a token can be created with (see the `fault` field of the control API).
FAULTS = ("429", "500", "503", "502-html", "slow", "truncated", "reset")


@dataclass(frozen=True)
class KBankCredentials:
    """The partner credentials the KBank emulator accepts."""

    partner_id: str = "KP2SBX000000001"
    partner_secret: str = field(default="kbank_sandbox_partner_secret_0001", repr=False)


@dataclass(frozen=True)
class SolidgateCredentials:
    """The merchant key pair the Solidgate emulator accepts."""

    public_key: str = "api_pk_sandbox_0000000000000000000000000001"
    secret_key: str = field(default="api_sk_sandbox_0000000000000000000000000001", repr=False)


@dataclass(frozen=True)
class XenditCredentials:
    """The secret key the Xendit emulator accepts (test mode)."""

    secret_key: str = field(default="xnd_development_sandbox_00000000000000000001", repr=False)


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` provider calls in any window of `per_seconds` seconds."""

    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise SandboxConfigError("a rate limit allows at least 1 request")
        if not (math.isfinite(self.per_seconds) and self.per_seconds > 0):
            raise SandboxConfigError("a rate limit window is a positive number of seconds")


def _non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise SandboxConfigError(f"{name} must be a non-negative number of seconds")


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox can be told at start.

    Attributes:
        kbank, solidgate, xendit: the credentials each emulator accepts.
        rate_limits: per provider name, a sliding-window limit on its API calls; none by default.
        cancel_settle_seconds: how long a Solidgate token stays `processing` after a cancel
            before it becomes `cancelled`.
        slow_seconds: how long the `slow` fault waits before answering, unless the token was
            created with its own `delay_seconds`. Longer than the client's default timeout.
        fault_rate_limit_reset_seconds: the reset time the `429` fault announces.
        validate_responses: check every answer against the spec before sending it, and answer
            500 if one does not conform (a self-check for development; the tests check answers
            from the outside).
        seed_examples: create the spec examples' tokens, active, at start and on every reset.
        xendit_business_id: the `business_id` of every Xendit payment token.
    """

    kbank: KBankCredentials = field(default_factory=KBankCredentials)
    solidgate: SolidgateCredentials = field(default_factory=SolidgateCredentials)
    xendit: XenditCredentials = field(default_factory=XenditCredentials)
    rate_limits: Mapping[str, RateLimit] = field(default_factory=dict)
    cancel_settle_seconds: float = 1.0
    slow_seconds: float = 20.0
    fault_rate_limit_reset_seconds: float = 1.0
    validate_responses: bool = False
    seed_examples: bool = True
    xendit_business_id: str = "5f27a14a9bf05c73dd040bc8"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.rate_limits) - set(PROVIDERS))
        if unknown:
            raise SandboxConfigError(
                f"rate limit for unknown provider(s) {', '.join(unknown)}; "
                f"expected one of {', '.join(PROVIDERS)}"
            )
        _non_negative("cancel_settle_seconds", self.cancel_settle_seconds)
        _non_negative("slow_seconds", self.slow_seconds)
        _non_negative("fault_rate_limit_reset_seconds", self.fault_rate_limit_reset_seconds)
        # A frozen config should not change under a running server through a shared dict.
        object.__setattr__(self, "rate_limits", MappingProxyType(dict(self.rate_limits)))

    def credentials(self) -> dict[str, dict[str, str]]:
        """Return the valid credentials per provider, as `GET /_sandbox/credentials` does."""
        return {
            "kbank": {
                "partner_id": self.kbank.partner_id,
                "partner_secret": self.kbank.partner_secret,
            },
            "solidgate": {
                "public_key": self.solidgate.public_key,
                "secret_key": self.solidgate.secret_key,
            },
            "xendit": {"secret_key": self.xendit.secret_key},
        }
