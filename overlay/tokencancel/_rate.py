"""A provider's rate limit, as `tokencancel bulk` holds it: N requests in any T seconds."""

from __future__ import annotations

import re
from typing import Final

import attrs

__all__ = ["Rate"]

_RATE_UNITS: Final = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0}
_RATE_PATTERN: Final = re.compile(
    r"^\s*(\d{1,9})\s*/\s*(\d{1,9}(?:\.\d{1,9})?)?\s*(s|sec|second|min|minute|h)\s*$",
    re.IGNORECASE,
)


@attrs.frozen
class Rate:
    """A provider's rate limit: at most `requests` requests in any `per_seconds` seconds."""

    requests: int
    per_seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """Parse `600/min`, `10/s`, `50/5s` or `100/2min`; `off` or `none` means no limit.

        Raises `ValueError` with a readable message on anything else.
        """
        if text.strip().lower() in {"off", "none", "0"}:
            return None
        match = _RATE_PATTERN.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate like 600/min, 10/s, 50/5s or off")
        requests = int(match.group(1))
        multiple = float(match.group(2)) if match.group(2) else 1.0
        per_seconds = multiple * _RATE_UNITS[match.group(3).lower()]
        if requests < 1 or per_seconds <= 0:
            raise ValueError(f"{text!r}: the rate must allow at least one request per period")
        return cls(requests=requests, per_seconds=per_seconds)

    @property
    def per_second(self) -> float:
        """The allowed average rate in requests per second."""
        return self.requests / self.per_seconds

    def __str__(self) -> str:
        return f"{self.requests}/{self.per_seconds:g}s"
