"""Typed, contract-tested cancel-token clients for KBank K PLUS, Solidgate and Xendit.

    from tokencancel import TokenCancelClient, CancelOutcome, TokenCancelError

    with TokenCancelClient.from_env() as client:
        result = client.cancel_xendit("pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1")
        result.outcome  # CancelOutcome.CANCELLED, CANCELLATION_PENDING or ALREADY_INACTIVE

Every answer becomes a `CancelResult` (the token is, or will shortly be, unusable) or a
`TokenCancelError` from one tree (see `tokencancel._errors`); nothing a provider sends escapes as
a KeyError, ValueError, TypeError or JSONDecodeError. Each provider's outcome table, every rule
with its source, is in `tokencancel.providers.<name>` and docs/providers.md.
"""

import logging

from ._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from ._facade import (
    DEFAULT_ATTEMPT_DEADLINE,
    DEFAULT_CANCEL_DEADLINE,
    DEFAULT_TIMEOUT,
    AsyncTokenCancelClient,
    ProviderName,
    TokenCancelClient,
)
from ._log import configure_from_env as _configure_log_from_env
from ._provider import Provider
from ._result import CancelOutcome, CancelResult
from ._retry import RetryPolicy
from ._rules import OutcomeRules
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, TransportSettings
from ._version import __version__
from .providers.kbank import KBankAuth, KBankResult, KBankSettings
from .providers.solidgate import SolidgateAuth, SolidgateResult, SolidgateSettings
from .providers.xendit import XenditAuth, XenditResult, XenditSettings

# A library stays quiet unless the application configures logging (retry warnings included),
# or TOKENCANCEL_LOG=debug|info|warning asks for stderr logging (read once, here: see _log).
logging.getLogger("tokencancel").addHandler(logging.NullHandler())
_configure_log_from_env()

__all__ = [
    "DEFAULT_ATTEMPT_DEADLINE",
    "DEFAULT_CANCEL_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "AsyncTokenCancelClient",
    "AuthenticationError",
    "CancelOutcome",
    "CancelResult",
    "ConfigurationError",
    "InvalidRequestError",
    "KBankAuth",
    "KBankResult",
    "KBankSettings",
    "NotFoundError",
    "OutcomeRules",
    "PermissionDeniedError",
    "Provider",
    "ProviderError",
    "ProviderInvalidRequestError",
    "ProviderName",
    "ProviderServerError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SolidgateAuth",
    "SolidgateResult",
    "SolidgateSettings",
    "TokenCancelClient",
    "TokenCancelError",
    "TransportError",
    "TransportSettings",
    "UnexpectedResponseError",
    "UnrecognizedAnswerError",
    "XenditAuth",
    "XenditResult",
    "XenditSettings",
    "__version__",
]
