"""What the sandbox sends back: answers, and the faults that break them."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["BAD_GATEWAY_HTML", "Answer", "ResetConnection", "json_answer", "json_bytes"]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer.

    `documented` marks an answer the provider's spec describes (checked against it when the
    sandbox validates its own answers); control-API answers and deliberate faults are not.
    `truncate_to` sends only that many bytes of the body, with a matching Content-Length.
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    documented: bool = False
    truncate_to: int | None = None

    def truncated(self) -> Answer:
        """Return this answer cut mid-body, sent as a complete 200 (the `truncated` fault)."""
        return replace(self, status=200, documented=False, truncate_to=max(1, len(self.body) // 2))


@dataclass(frozen=True)
class ResetConnection:
    """Drop the connection with a TCP reset instead of answering (the `reset` fault)."""


def json_answer(
    status: int,
    payload: Any,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    documented: bool = True,
) -> Answer:
    """Serialise `payload` compactly into an application/json answer (always valid UTF-8)."""
    return Answer(status, json_bytes(payload), "application/json", headers, documented)


def json_bytes(payload: Any) -> bytes:
    """Serialise `payload` as compact UTF-8 JSON.

    A string parsed from a client's JSON may hold a lone surrogate (the escape of U+D800 is valid
    JSON text, but no UTF-8 can carry the character); echoed back, it is escaped as the client
    sent it rather than failing to encode.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")


#: The page a gateway in front of the provider answers with (the `502-html` fault).
BAD_GATEWAY_HTML = Answer(
    502,
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n",
    "text/html",
)
