"""Configuration of the sandbox: credentials, rate limits and timings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

from tokencancel_sandbox._errors import SandboxConfigError

__all__ = [
    "FAULTS",
    "KBANK_CREDENTIALS_MODES",
    "KBANK_REQUEST_DT_FORMS",
    "MAX_DELAY_SECONDS",
    "PROVIDERS",
    "VOCABULARIES",
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

#: Where the KBank emulator looks for the partner credentials. KBank's Cancel Token page listed
#: `Partner-Id`/`Partner-Secret` header rows in its 2019-07-17 version and dropped them the next
#: day: `body` accepts the credentials in the body alone (headers, when sent, must match too);
#: `headers-and-body` requires both, as the earlier page and the spec's security scheme say.
KBankCredentialsMode = Literal["body", "headers-and-body"]
KBANK_CREDENTIALS_MODES: tuple[str, ...] = get_args(KBankCredentialsMode)

#: Which `requestDt` form the KBank emulator accepts: KBank's field table says epoch seconds (an
#: integer), every example request on its portal sends a local date-time string.
KBankRequestDtForm = Literal["any", "epoch-seconds", "local-datetime"]
KBANK_REQUEST_DT_FORMS: tuple[str, ...] = get_args(KBankRequestDtForm)

#: `known`: answer in the providers' vocabularies (and the sandbox's documented conventions);
#: `unknown`: answer cancels with codes, statuses and texts no client has seen.
Vocabulary = Literal["known", "unknown"]
VOCABULARIES: tuple[str, ...] = get_args(Vocabulary)

#: The longest wait the sandbox will schedule (the `slow` fault): an hour is longer than any
#: client timeout worth testing, and keeps every wait within what a thread can wait for.
MAX_DELAY_SECONDS = 3600.0


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


def _non_negative(name: str, value: float, maximum: float | None = None) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise SandboxConfigError(f"{name} must be a non-negative number of seconds")
    if maximum is not None and value > maximum:
        raise SandboxConfigError(f"{name} must be at most {maximum:g} seconds")


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SandboxConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


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
        kbank_credentials: `body` (default: the credentials in the body alone, as KBank's
            current Cancel Token page documents; headers, when sent, must match) or
            `headers-and-body` (the `Partner-Id`/`Partner-Secret` headers are required too).
        kbank_request_dt: `any` (default: epoch seconds or a local date-time string),
            `epoch-seconds` (the field table's integer only) or `local-datetime` (the portal
            examples' string only).
        vocabulary: `known` (default) or `unknown`: answers to cancels carry codes, statuses
            and texts no spec lists and no client has seen, each still valid against the spec.
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
    kbank_credentials: KBankCredentialsMode = "body"
    kbank_request_dt: KBankRequestDtForm = "any"
    vocabulary: Vocabulary = "known"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.rate_limits) - set(PROVIDERS))
        if unknown:
            raise SandboxConfigError(
                f"rate limit for unknown provider(s) {', '.join(unknown)}; "
                f"expected one of {', '.join(PROVIDERS)}"
            )
        _non_negative("cancel_settle_seconds", self.cancel_settle_seconds)
        _non_negative("slow_seconds", self.slow_seconds, MAX_DELAY_SECONDS)
        _non_negative("fault_rate_limit_reset_seconds", self.fault_rate_limit_reset_seconds)
        _one_of("kbank_credentials", self.kbank_credentials, KBANK_CREDENTIALS_MODES)
        _one_of("kbank_request_dt", self.kbank_request_dt, KBANK_REQUEST_DT_FORMS)
        _one_of("vocabulary", self.vocabulary, VOCABULARIES)
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
