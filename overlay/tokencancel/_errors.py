"""One exception tree for everything a cancel can run into, whichever the provider.

::

    TokenCancelError                      base of everything this package raises
    ├── ConfigurationError                missing or unusable settings (names the variable)
    ├── InvalidRequestError               the request breaks the spec: refused before sending,
    │   └── ProviderInvalidRequestError   ... or refused by the provider as invalid
    ├── ProviderError                     the provider answered and refused
    │   ├── AuthenticationError           wrong or missing credentials or signature
    │   │   └── PermissionDeniedError     credentials valid, permission missing (Xendit 403)
    │   ├── NotFoundError                 the provider does not know the token (`ambiguous` when
    │   │                                 a wrong reference answers the same: not final)
    │   ├── RateLimitedError              too many calls; `reset_after` seconds when given
    │   ├── ProviderServerError           the provider failed or is unavailable
    │   └── ProviderInvalidRequestError   (also an InvalidRequestError)
    ├── UnexpectedResponseError           an answer the spec does not describe: non-JSON, HTML,
    │   │                                 empty, truncated, undocumented status or shape
    │   ├── UnrecognizedAnswerError       a code or text no documented rule (nor an operator's
    │   │                                 outcome rule) explains: the token's state is unknown
    │   └── ResponseTooLargeError         an answer over the size cap (max_response_bytes)
    └── TransportError                    no usable answer: connection refused, reset, TLS
        └── RequestTimeoutError           no answer within the timeout

Every error carries `provider`, `http_status`, `error_code` (the provider's own code),
`message`, `raw_body` (the bytes received, `b""` when none), `request_id` (KBank's
`partnerTxnUid`, else None), `rule_source` (where the rule that chose this error comes from,
see docs/providers.md), `phase` (for transport failures: how far the request got) and
`retryable` (whether the client may safely send the same cancel again, decided in one place:
`is_retryable`). `str()` and `repr()` never contain a secret: provider text is redacted and cut
to one line. What a provider sent is stored redacted, its control characters escaped
(`message`, `error_code`), so a log line built from any attribute cannot be forged by a CR/LF
or a terminal escape the provider put in it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal, ParamSpec, TypeVar

from ._redact import escape_controls, one_line, redact

Phase = Literal["connect", "send", "wait", "answer"]
"""How far a request got before a transport failure.

- `connect`: no connection was made, so nothing was sent;
- `send`: the connection broke while sending or before any answer arrived;
- `wait`: sent, and no answer came in time (the provider may have acted on it);
- `answer`: an answer began and was cut short or could not be read.
"""

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderInvalidRequestError",
    "ProviderServerError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "TokenCancelError",
    "TransportError",
    "UnexpectedResponseError",
    "UnrecognizedAnswerError",
    "detached",
    "is_retryable",
    "raised_detached",
    "with_detached_errors",
]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)
ExceptionT = TypeVar("ExceptionT", bound=BaseException)


class TokenCancelError(Exception):
    """Base of every error this package raises."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        http_status: int | None = None,
        error_code: str | None = None,
        raw_body: bytes = b"",
        request_id: str | None = None,
        phase: Phase | None = None,
        rule_source: str | None = None,
    ) -> None:
        self.message = one_line(message)
        self.rule_source = rule_source
        self.provider = provider
        self.http_status = http_status
        self.error_code = None if error_code is None else escape_controls(redact(error_code))
        self.raw_body = raw_body
        self.request_id = request_id
        self.phase = phase
        super().__init__(self.message)

    @property
    def retryable(self) -> bool:
        """Whether sending the same cancel again is safe and may help (see `is_retryable`)."""
        return is_retryable(self)

    def __str__(self) -> str:
        facts = []
        if self.http_status is not None:
            facts.append(f"HTTP {self.http_status}")
        if self.error_code is not None:
            facts.append(f"code {one_line(self.error_code, limit=80)}")
        if self.request_id is not None:
            facts.append(f"partnerTxnUid {self.request_id}")
        where = f"{self.provider}: " if self.provider is not None else ""
        suffix = f" ({', '.join(facts)})" if facts else ""
        return f"{where}{self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, provider={self.provider!r}, "
            f"http_status={self.http_status!r}, error_code={self.error_code!r}, "
            f"request_id={self.request_id!r}, raw_body=<{len(self.raw_body)} bytes>)"
        )


class ConfigurationError(TokenCancelError):
    """Settings are missing or unusable; the message names the variable or argument."""


class InvalidRequestError(TokenCancelError):
    """The request breaks the provider's spec.

    Raised before anything is sent when an argument is out of spec (`http_status` is None), and
    as `ProviderInvalidRequestError` when the provider itself refuses the request as invalid.
    """


class ProviderError(TokenCancelError):
    """The provider answered and refused the cancellation."""


class AuthenticationError(ProviderError):
    """The provider rejected the credentials or the signature."""


class PermissionDeniedError(AuthenticationError):
    """The credentials are valid but lack the permission for this call."""


class NotFoundError(ProviderError):
    """The provider does not know the token.

    `ambiguous` is True when the provider gives the same answer for a wrong reference (KBank's
    `reference1`): the token may then still be active, so the outcome is not final.
    """

    ambiguous: bool = False


class RateLimitedError(ProviderError):
    """Too many calls; `reset_after` is the provider's wait in seconds when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        reset_after: float | None = None,
        provider: str | None = None,
        http_status: int | None = None,
        error_code: str | None = None,
        raw_body: bytes = b"",
        request_id: str | None = None,
        rule_source: str | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            http_status=http_status,
            error_code=error_code,
            raw_body=raw_body,
            request_id=request_id,
            rule_source=rule_source,
        )
        self.reset_after = reset_after


class ProviderServerError(ProviderError):
    """The provider failed or is temporarily unavailable."""


class ProviderInvalidRequestError(InvalidRequestError, ProviderError):
    """The provider refused the request as invalid (bad field, wrong state for this token)."""


class UnexpectedResponseError(TokenCancelError):
    """The provider's answer is not one the spec describes, so its outcome is unknown."""


class UnrecognizedAnswerError(UnexpectedResponseError):
    """The provider answered with a code or text that no documented rule explains.

    The token's state is unknown: it may be cancelled, or not. `error_code` and `message` carry
    the provider's own code and text. Teach the client what it means with an outcome rule
    (`TOKENCANCEL_OUTCOME_RULES`, see `tokencancel.OutcomeRules`) once you know.
    """


class ResponseTooLargeError(UnexpectedResponseError):
    """The answer is larger than the cap once decompressed; it was not read, nor retried."""


class TransportError(TokenCancelError):
    """No usable answer arrived: the connection failed, was reset, or TLS failed."""


class RequestTimeoutError(TransportError):
    """No answer arrived within the timeout; the request may or may not have been processed."""


_SERVICE_UNAVAILABLE = 503


def is_retryable(error: TokenCancelError) -> bool:
    """Whether `error` allows sending the same cancel again: the one place this is decided.

    - a rate limit (HTTP 429, Solidgate 5.07): the provider did nothing and asks to wait;
    - HTTP 503 from any provider: the provider did nothing and is briefly unavailable;
    - a connection that failed before any answer (`phase` connect or send). A request dropped
      after it was sent may have been processed; it is retried anyway because a second cancel
      is harmless: the provider answers "already cancelled" or "already processing", which this
      package reports as a success (see docs/providers.md for each provider's source).

    Never: a timeout waiting for an answer (the caller decides), other server errors, gateway
    pages and other unexpected answers, and every refusal.
    """
    if isinstance(error, RateLimitedError):
        return True
    if isinstance(error, RequestTimeoutError):
        return error.phase == "connect"
    if isinstance(error, TransportError):
        return error.phase in {"connect", "send"}
    if isinstance(error, ProviderServerError):
        return error.http_status == _SERVICE_UNAVAILABLE
    return False


def detached(error: ExceptionT) -> ExceptionT:
    """`error` without the frames it was raised through, nor the exception it interrupted.

    Those frames hold what the library was handed and read: an answer's bytes before
    redaction, the whole environment (`from_env`), a proxy URL with its password. Raised again
    from a frame that holds none of it, the error's traceback starts there.
    """
    if not isinstance(error, TokenCancelError) and error.__traceback__ is not None:
        # Not one of ours (a bug, or a caller's TypeError): keep where it came from, without
        # the frames' variables, so it can still be found.
        innermost = error.__traceback__
        while innermost.tb_next is not None:
            innermost = innermost.tb_next
        code = innermost.tb_frame.f_code
        error.add_note(
            f"raised at {code.co_filename}:{innermost.tb_lineno} in {code.co_name} (the "
            "traceback is cut there: the library's frames may hold credentials)"
        )
    error.__traceback__ = None
    error.__context__ = None
    error.__cause__ = None
    return error


def raised_detached(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap a public entry point so whatever it raises reaches the caller detached.

    The wrapper drops its own arguments before raising, so the one library frame left in the
    traceback shows no credential, environment or proxy URL to a renderer of local variables
    (Sentry, Rich, `pytest --showlocals`). Applied where configuration is read and checked;
    errors of a cancel are raised detached by the transport already.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except Exception as error:  # a caller's TypeError holds their arguments in frames too
            failure = detached(error)
        del args, kwargs
        raise failure

    return wrapper


def with_detached_errors(cls: C) -> C:
    """Class decorator: the class's `__init__` (attrs generates it) wrapped by `raised_detached`."""
    cls.__init__ = raised_detached(cls.__init__)  # type: ignore[misc]
    return cls
