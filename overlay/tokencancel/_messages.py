"""What one attempt sends and gets back: the request without credentials, the answer in hand."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, Final

import attrs
import httpx2

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "NOT_JSON",
    "Answer",
    "AnswerLimits",
    "AttemptFacts",
    "OutgoingRequest",
]

DEFAULT_MAX_RESPONSE_BYTES: Final = 1 << 20
"""1 MiB: a cancel answer is a few kilobytes; anything near this is not a provider's answer."""

NOT_JSON: Final = object()
"""`Answer.decoded` for an empty, HTML or undecodable body."""

# -- what goes out and what comes back -----------------------------------------------------------


@attrs.frozen
class OutgoingRequest:
    """One attempt's request, before credentials: the auth flow adds them on the way out."""

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes | None = None


@attrs.frozen
class Answer:
    """What came back for one request: status, headers and the whole (decoded) body."""

    status: int
    headers: httpx2.Headers = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)  # secrets a server echoed are already redacted

    @functools.cached_property
    def decoded(self) -> object:
        """The body as JSON, or `NOT_JSON` for an HTML page, empty or broken body (read once)."""
        content_type = self.headers.get("content-type", "").lower()
        if "html" in content_type or not self.body.strip():
            return NOT_JSON
        try:
            # UTF-8 only (what JSON over HTTP is): `json.loads(bytes)` would also guess UTF-16
            # and UTF-32, whose bytes the redaction of the raw body does not read.
            return json.loads(self.body.decode("utf-8-sig"))
        except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, absurd nesting
            return NOT_JSON

    @property
    def json_object(self) -> dict[str, Any] | None:
        """The body when it is a JSON object, else None."""
        data = self.decoded
        return data if isinstance(data, dict) else None


@attrs.frozen
class AnswerLimits:
    """How long one attempt may take in all, and how large its answer may be once decoded."""

    deadline: float
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


@attrs.frozen
class AttemptFacts:
    """What every error raised for one attempt carries: whose request it was, and its id."""

    provider: str
    display_name: str
    request_id: str | None
