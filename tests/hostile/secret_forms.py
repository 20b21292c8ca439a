"""Every form a secret can take in text, and a check that none appears.

Worked out here independently of `tokencancel._redact`, so the tests do not share its mistakes.
"""

from __future__ import annotations

import base64
import json
import traceback
from collections.abc import Iterable

from tokencancel.providers.xendit import xendit_authorization

from .hostile_server import SECRETS, XENDIT_SECRET_KEY, Received


def _base64_cores(secret: str) -> list[str]:
    """The base64 characters that encode `secret` alone, at each alignment, both alphabets."""
    data = secret.encode()
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data).decode()
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(data)) // 6]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


def forms_of(secret: str) -> set[str]:
    """`secret` as itself, JSON- and repr-escaped (str and bytes), and base64-encoded."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
        *_base64_cores(secret),
    }


def forbidden(requests: Iterable[Received] = (), extra: Iterable[str] = ()) -> set[str]:
    """What must never be shown: every configured secret in every form, the Xendit Basic
    credential, and the signature (and every credential header) of each request sent."""
    found = {form for secret in (*SECRETS, *extra) for form in forms_of(secret)}
    found.add(xendit_authorization(XENDIT_SECRET_KEY).removeprefix("Basic "))
    for request in requests:
        for name in ("signature", "authorization", "partner-secret", "merchant"):
            if name in request.headers:
                found |= forms_of(request.headers[name].removeprefix("Basic "))
    return found


def leaks(text: str, forms: Iterable[str]) -> list[str]:
    """The forms that appear in `text` (empty when it is clean)."""
    return sorted(form for form in forms if form in text)


def rendered(error: BaseException) -> str:
    """Everything a traceback renderer with locals can show of `error` and its whole chain.

    `TracebackException(capture_locals=True)` of the error and of every `__cause__` and
    `__context__` (suppressed ones included), plus `str` and `repr` of each.
    """
    parts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        report = traceback.TracebackException(
            type(exc), exc, exc.__traceback__, capture_locals=True
        )
        parts += [*report.format(), str(exc), repr(exc)]
        pending += [exc.__cause__, exc.__context__]
    return "".join(parts)
