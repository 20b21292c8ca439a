"""The exit codes of `tokencancel cancel`, `check` and `bulk`: one table, one meaning per code.

A token's outcome falls in one category (`Category`); each category has one exit code, and a
command exits with the most urgent code among its tokens (a bulk run: every token of the input,
those skipped as already recorded included) or its one token (`cancel`). The same condition
gives the same code whichever command met it; `EXIT_CODES_HELP` is the one place the table is
written out (every `--help` prints it, and the docs point here).
"""

from __future__ import annotations

import enum
from typing import Final

from ._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    ProviderServerError,
    RateLimitedError,
    TokenCancelError,
)

__all__ = ["EXIT_CODES_HELP", "Category", "ExitCode", "category_of"]


class ExitCode(enum.IntEnum):
    """What a `tokencancel` command's exit status means."""

    OK = 0
    REFUSED = 1
    USAGE = 2
    INCOMPLETE = 3
    INTERNAL = 4
    IO = 5
    INTERRUPTED = 130


class Category(enum.StrEnum):
    """What became of one token, as the output and the exit code report it."""

    CANCELLED = "cancelled"
    CANCELLATION_PENDING = "cancellation_pending"
    ALREADY_INACTIVE = "already_inactive"
    NOT_FOUND = "not_found"  # the provider said so, in its documented shape
    REFUSED = "refused"  # the provider refused the request for good
    INVALID_INPUT = "invalid_input"  # the input cannot be sent as it is
    RATE_LIMITED = "rate_limited"  # still rate limited after the retries: run again
    ERROR = "error"  # outcome unknown (transport, timeout, unexpected answer): run again
    DUPLICATE = "duplicate"  # a bulk input line repeating a token an earlier line sends
    FATAL = "fatal"  # credentials or configuration: every token would fail the same way

    @property
    def done(self) -> bool:
        """Whether a re-run leaves this token alone (its outcome is final)."""
        return self in _DONE

    @property
    def exit_code(self) -> ExitCode:
        """The exit code this category calls for."""
        return _EXIT_CODES[self]


_DONE: Final = frozenset(
    {
        Category.CANCELLED,
        Category.CANCELLATION_PENDING,
        Category.ALREADY_INACTIVE,
        Category.NOT_FOUND,
        Category.REFUSED,
        Category.INVALID_INPUT,
        # A repeat is never sent: the line it repeats carries the token's own outcome (and its
        # exit code), so the repeat itself is settled and adds nothing to the exit code.
        Category.DUPLICATE,
    }
)
_EXIT_CODES: Final = {
    Category.CANCELLED: ExitCode.OK,
    Category.CANCELLATION_PENDING: ExitCode.OK,
    Category.ALREADY_INACTIVE: ExitCode.OK,
    Category.NOT_FOUND: ExitCode.REFUSED,
    Category.REFUSED: ExitCode.REFUSED,
    Category.INVALID_INPUT: ExitCode.REFUSED,
    Category.RATE_LIMITED: ExitCode.INCOMPLETE,
    Category.ERROR: ExitCode.INCOMPLETE,
    Category.DUPLICATE: ExitCode.OK,
    Category.FATAL: ExitCode.USAGE,
}


def category_of(error: TokenCancelError) -> Category:
    """The category a failed cancel falls in: the one place errors are sorted for the CLI."""
    if isinstance(error, AuthenticationError | ConfigurationError):
        return Category.FATAL
    if isinstance(error, NotFoundError):
        # A not-found a wrong reference answers the same way may hide an active token: not final.
        return Category.ERROR if error.ambiguous else Category.NOT_FOUND
    if isinstance(error, RateLimitedError):
        return Category.RATE_LIMITED
    if isinstance(error, InvalidRequestError):
        # Refused before sending (the spec forbids the value) or by the provider: final.
        return Category.INVALID_INPUT if error.http_status is None else Category.REFUSED
    if isinstance(error, ProviderError) and not (
        isinstance(error, ProviderServerError) or error.retryable
    ):
        return Category.REFUSED
    # Server errors, unexpected or unrecognised answers, timeouts, transport failures.
    return Category.ERROR


EXIT_CODES_HELP: Final = """\
exit codes (the same for cancel, check and bulk; bulk: over every token of the input,
those skipped as already recorded included):
  0    success: every token cancelled, cancellation pending, or already inactive
       (bulk: repeated ids included); check: everything it tests was proven
  1    the provider refused or does not know a token (not found, refused), or an
       input line cannot be sent as it is
  2    usage or configuration error (bad arguments, unsafe --output, input columns the
       provider does not use), the provider rejected the credentials, or check found
       the base URL is not the provider's API; nothing (more) was sent
  3    the outcome of a token is unknown (timeout, transport failure, unexpected or
       unrecognised answer, server error, still rate limited): run again;
       check: the configuration could not be proven (unreachable, or an answer that
       cannot tell a wrong credential from an unknown token)
  4    internal error (please report it with the -v output)
  5    an input or output file cannot be read, written, flushed or locked (another
       run holds it): what is recorded stays valid; fix the cause, run again
  130  interrupted (Ctrl-C, SIGTERM or SIGHUP): run again to resume"""
