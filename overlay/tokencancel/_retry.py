"""Bounded retries with exponential backoff and jitter, only for answers that are safe to retry.

What is retried is decided in one place, `tokencancel._errors.is_retryable` (an error's
`retryable` property); this module only decides when and how often:

- a connection that failed before any answer: connect errors and connect or pool timeouts
  (nothing was sent), and a connection dropped or reset before any response arrived. The last
  may follow a request the provider processed; it is retried anyway because cancelling twice is
  harmless for all three providers: the second cancel answers "already cancelled" (KBank
  TOKEN_ALREADY_CANCELLED, Xendit INACTIVE_PAYMENT_REQUEST) or "already processing" (Solidgate),
  which this package reports as ALREADY_INACTIVE or CANCELLATION_PENDING, both successes;
- HTTP 429 from any provider and Solidgate's 5.07, waiting at least Xendit's `Rate-Limit-Reset`
  (or a `Retry-After`) when one is given; a reset longer than `max_delay` is not waited for: the
  RateLimitedError is raised at once with `reset_after`, so a caller is never blocked for long;
- HTTP 503 from any provider (Solidgate's own SDK retries 429 and 503 too).

Never retried: read and write timeouts (the request may be half-way through; the caller decides),
500 and other server errors, 502/504 gateway pages and every other unexpected answer, and every
refusal. KBank's `partnerTxnUid` stays the same on every attempt of one cancel (see the client).
"""

from __future__ import annotations

import random

import attrs

from ._errors import RateLimitedError, TokenCancelError

__all__ = ["RetryPolicy"]


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


@attrs.frozen
class RetryPolicy:
    """How often and how patiently a cancel is retried.

    Attributes:
        max_attempts: Requests per cancel, first one included; 1 disables retries.
        base_delay: Seconds before the first retry; doubled before each further one.
        max_delay: Cap on any single wait, provider-requested waits included.
        jitter: Fraction (0 to 1) of each backoff delay drawn at random, so that many clients
            retrying together spread out.
    """

    max_attempts: int = attrs.field(default=3)
    base_delay: float = attrs.field(default=0.5, validator=_positive)
    max_delay: float = attrs.field(default=10.0, validator=_positive)
    jitter: float = attrs.field(default=0.5)

    @max_attempts.validator
    def _check_attempts(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if value < 1:
            raise ValueError(f"max_attempts must be at least 1, got {value}")

    @jitter.validator
    def _check_jitter(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if not 0 <= value <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {value}")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Return the wait after failed attempt number `attempt` (1-based), jitter applied."""
        exponential = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return exponential * (1 - self.jitter * rng.random())

    def delay_before_retry(
        self, error: TokenCancelError, attempt: int, rng: random.Random
    ) -> float | None:
        """Return how long to wait before retrying after `error`, or None to give up."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        delay = self.backoff(attempt, rng)
        if isinstance(error, RateLimitedError) and error.reset_after is not None:
            if error.reset_after > self.max_delay:
                return None
            delay = max(delay, error.reset_after)
        return delay
