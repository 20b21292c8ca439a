"""Typed, contract-tested cancel-token clients for KBank K PLUS, Solidgate and Xendit.

    from tokencancel import TokenCancelClient, CancelOutcome, TokenCancelError

    with TokenCancelClient.from_env() as client:
        result = client.cancel_xendit("pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1")
        result.outcome  # CancelOutcome.CANCELLED, CANCELLATION_PENDING or ALREADY_INACTIVE

Every answer becomes a `CancelResult` (the token is, or will shortly be, unusable) or a
`TokenCancelError` from one tree (see `tokencancel._errors`); nothing a provider sends escapes as
a KeyError, ValueError, TypeError or JSONDecodeError. The outcome mapping per provider is in
`tokencancel._interpret`, the retry behaviour in `tokencancel._retry`.
"""

from ._client import DEFAULT_TIMEOUT, AsyncTokenCancelClient, TokenCancelClient
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
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
)
from ._provider import Provider
from ._result import CancelOutcome, CancelResult, ProviderResponse
from ._retry import RetryPolicy
from ._settings import KBankSettings, SolidgateSettings, XenditSettings

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncTokenCancelClient",
    "AuthenticationError",
    "CancelOutcome",
    "CancelResult",
    "ConfigurationError",
    "InvalidRequestError",
    "KBankSettings",
    "NotFoundError",
    "PermissionDeniedError",
    "Provider",
    "ProviderError",
    "ProviderInvalidRequestError",
    "ProviderResponse",
    "ProviderServerError",
    "RateLimitedError",
    "RequestTimeoutError",
    "RetryPolicy",
    "SolidgateSettings",
    "TokenCancelClient",
    "TokenCancelError",
    "TransportError",
    "UnexpectedResponseError",
    "XenditSettings",
]
