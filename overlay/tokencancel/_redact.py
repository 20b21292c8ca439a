r"""Keep secrets out of logs, exception text, command output and everything a provider sends back.

Three layers, because a secret can reach text by more than one road:

- every configured secret value (and the forms derived from it, such as Xendit's Basic
  credential) is registered here when settings are created, and replaced wherever it appears:
  as itself, in any JSON or Python-repr escaping of any of its characters (`\u0041`, `\/`,
  `\"`), and base64-encoded at any alignment (a server echoing a request body in base64);
- header-shaped text naming a credential header (``authorization``, ``signature``,
  ``partner-secret``, ``merchant``...) has its value replaced, which covers httpcore2's DEBUG
  trace of response headers even when a hostile server echoes a credential back;
- anything shaped like a Solidgate signature (172 base64 characters, escaped or not) is
  replaced, since each request has its own signature and they cannot all be registered; and
  the signature of the request an answer belongs to is replaced in that answer in every form,
  base64-encoded ones included (`note_request_secret`, `request_secrets`).

`redact_bytes` runs on every answer as it arrives (body and headers), matching secrets however
JSON escapes them, so nothing decoded from an answer, stored on a result or an error, logged,
printed or written holds a secret a provider sent back. Redaction always runs on text before it is
escaped or encoded for display. `install_log_redaction()` attaches the filter to this package's
logger and to httpx2's and httpcore2's, whose DEBUG output a user may switch on.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, AnyStr

__all__ = [
    "REDACTED",
    "AnswerRedactor",
    "escape_controls",
    "install_log_redaction",
    "note_request_secret",
    "one_line",
    "redact",
    "redact_bytes",
    "redacting_filter",
    "register_secret",
    "request_secrets",
]

REDACTED = "[REDACTED]"

_SENSITIVE_NAMES = (
    r"authorization|proxy-authorization|signature|partner-secret|partnersecret|partner_secret"
    r"|merchant|secret[-_]?key|cookie|set-cookie|x-api-key"
)
# httpcore2 logs response headers as a list of byte-string pairs: (b'Name', b'value').
_HEADER_TUPLE = re.compile(
    rf"""(\(b?['"](?:{_SENSITIVE_NAMES})['"],\s*b?['"])([^'"]*)(['"]\))""", re.IGNORECASE
)
# "Name: value", "name=value", '"name": "value"' as they appear in text and JSON. Narrower than
# the header list: "merchant" and "signature" are ordinary words in provider messages ("invalid
# signature: ..."), and their values are caught as registered secrets or by shape instead.
_CREDENTIAL_FIELDS = (
    r"authorization|proxy-authorization|partner-secret|partnersecret|partner_secret"
    r"|secret[-_]?key|x-api-key"
)
_NAME_VALUE = re.compile(
    rf"""(\b(?:{_CREDENTIAL_FIELDS})["']?\s*[:=]\s*["']?)(?!\[REDACTED\])((?:Basic\s+)?[^\s"',;)]+)""",
    re.IGNORECASE,
)
# base64 of a 128-character hex digest: 171 base64 characters and one "=".
_SIGNATURE_SHAPE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{171}=(?![A-Za-z0-9+/=])")
_SIGNATURE_SHAPE_BYTES = re.compile(_SIGNATURE_SHAPE.pattern.encode("ascii"))
# The escapes a JSON encoder or a Python repr writes for a printable character: `\uXXXX`, and a
# backslash before a quote, a slash or a backslash. Text holding one is searched unescaped.
_ESCAPE = re.compile(r"""\\(?:u([0-9a-fA-F]{4})|(["'/\\]))""")
_ESCAPE_BYTES = re.compile(_ESCAPE.pattern.encode("ascii"))
_REDACTED_BYTES = REDACTED.encode()

# Secrets shorter than this would turn ordinary words into noise; settings refuse them anyway.
_MIN_SECRET_LENGTH = 4
# A base64 form shorter than this could match ordinary text; longer secrets are the real ones.
_MIN_BASE64_FORM_LENGTH = 16


_lock = threading.Lock()
_secrets: set[str] = set()
# Compiled when first needed after a change (None then): settings register their secrets one
# after the other, and a compile per registration would be quadratic in the registry's size.
_secret_pattern: re.Pattern[str] | None = None
_secret_bytes_pattern: re.Pattern[bytes] | None = None


def _patterns() -> tuple[re.Pattern[str], re.Pattern[bytes]] | None:
    """The registered secrets' patterns (text, bytes), or None when there are none."""
    global _secret_pattern, _secret_bytes_pattern  # noqa: PLW0603 -- the registry's cache
    text, data = _secret_pattern, _secret_bytes_pattern
    if text is not None and data is not None:
        return text, data
    with _lock:
        if not _secrets:
            return None
        if _secret_pattern is None or _secret_bytes_pattern is None:
            # Longest first, so a secret that contains another is replaced whole.
            alternatives = sorted(_secrets, key=len, reverse=True)
            _secret_pattern = re.compile("|".join(re.escape(form) for form in alternatives))
            _secret_bytes_pattern = re.compile(
                b"|".join(re.escape(_utf8(form)) for form in alternatives)
            )
        return _secret_pattern, _secret_bytes_pattern


_LOGGERS_TO_FILTER = (
    "tokencancel",
    "httpx2",
    "httpcore2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
    "hpack",
)


def register_secret(value: str) -> None:
    """Remember `value` as a secret, so that `redact` replaces it wherever it appears.

    What is matched is every way the value can be written in an answer or a log line: itself,
    with any of its characters escaped as JSON or a Python repr escapes them (see `redact`), and
    its base64 encoding at each of the three alignments it can have inside a longer encoded text.
    """
    global _secret_pattern, _secret_bytes_pattern  # noqa: PLW0603 -- one process-wide registry is the point
    if len(value) < _MIN_SECRET_LENGTH:
        return
    forms = {value, *_base64_forms(value)}
    if forms <= _secrets:
        return
    with _lock:
        _secrets.update(forms)
        _secret_pattern = _secret_bytes_pattern = None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


_REQUEST_SECRETS: ContextVar[list[str] | None] = ContextVar(
    "tokencancel_request_secrets", default=None
)


@contextlib.contextmanager
def request_secrets() -> Iterator[list[str]]:
    """Collect the per-request secrets (a signature) noted while one attempt is sent.

    The transport opens one of these around each attempt and passes what it collected to
    `redact_bytes` for that attempt's answer.
    """
    collected: list[str] = []
    token = _REQUEST_SECRETS.set(collected)
    try:
        yield collected
    finally:
        _REQUEST_SECRETS.reset(token)


def note_request_secret(value: str) -> None:
    """Note a secret of the request being sent (a signature): its answer is redacted of it.

    Only inside `request_secrets()`; elsewhere (an auth flow used outside the facade) there is
    no answer of ours to redact, and this does nothing.
    """
    collected = _REQUEST_SECRETS.get()
    if collected is not None and len(value) >= _MIN_SECRET_LENGTH:
        collected.append(value)


def _base64_forms(value: str) -> list[str]:
    """The parts of base64 text that encode `value` alone, whatever bytes came before it.

    Inside a longer encoded text the value starts at byte offset 0, 1 or 2 of a 3-byte group;
    each alignment gives a different encoding, of which the characters that depend on the
    value's bytes only are kept. Standard and URL-safe alphabets alike.
    """
    data = value.encode("utf-8", "surrogatepass")
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data).decode("ascii")
        start = -(-8 * shift // 6)  # the first character no padding byte contributes to
        end = 8 * (shift + len(data)) // 6  # the last one the following bytes do not touch
        core = encoded[start:end]
        if len(core) >= _MIN_BASE64_FORM_LENGTH:
            forms += [core, core.replace("+", "-").replace("/", "_")]
    return forms


def redact(text: str) -> str:
    r"""Return `text` with every registered secret and credential-shaped value replaced.

    Registered secrets and signature shapes are searched in `text` with its JSON and repr
    escapes undone, so `S\u0031...` or `ab\/cd` is caught as surely as the plain form; the
    escaped span of the original text is what gets replaced.
    """
    patterns = _patterns()
    if patterns is not None:
        text = _sub_unescaped(patterns[0], _ESCAPE, _unescape_text, text, REDACTED)
    text = _HEADER_TUPLE.sub(rf"\g<1>{REDACTED}\g<3>", text)
    text = _NAME_VALUE.sub(rf"\g<1>{REDACTED}", text)
    return _sub_unescaped(_SIGNATURE_SHAPE, _ESCAPE, _unescape_text, text, REDACTED)


def redact_bytes(data: bytes, request_secrets: Iterable[str] = ()) -> bytes:
    """Return `data` (a provider's answer) with every registered secret and signature replaced.

    Applied to each answer as it arrives, so nothing stored on a result or an error, logged or
    written holds a secret a hostile server echoed back, however it escaped it.
    `request_secrets` are the secrets of the request this answers (its signature), replaced in
    the same forms as registered ones.
    """
    return AnswerRedactor(request_secrets)(data)


class AnswerRedactor:
    """`redact_bytes` for one answer's parts (headers, body): the request's forms worked out once.

    The repr names no secret; the forms live in a slot, not in an attribute dict a debugger or a
    traceback's locals would print.
    """

    __slots__ = ("_forms", "_pattern")

    def __init__(self, request_secrets: Iterable[str] = ()) -> None:
        forms = {
            _utf8(form) for value in request_secrets for form in (value, *_base64_forms(value))
        }
        # Longest first, so a form that contains another is replaced whole.
        self._forms = sorted(forms, key=len, reverse=True)
        self._pattern: re.Pattern[bytes] | None = None

    def __repr__(self) -> str:
        return f"AnswerRedactor(<{len(self._forms)} forms>)"

    def __call__(self, data: bytes) -> bytes:
        if self._forms and self._may_hold_a_form(data):
            if self._pattern is None:
                self._pattern = re.compile(b"|".join(re.escape(form) for form in self._forms))
            data = _sub_unescaped(
                self._pattern, _ESCAPE_BYTES, _unescape_bytes, data, _REDACTED_BYTES
            )
        patterns = _patterns()
        if patterns is not None:
            data = _sub_unescaped(
                patterns[1], _ESCAPE_BYTES, _unescape_bytes, data, _REDACTED_BYTES
            )
        return _sub_unescaped(
            _SIGNATURE_SHAPE_BYTES, _ESCAPE_BYTES, _unescape_bytes, data, _REDACTED_BYTES
        )

    def _may_hold_a_form(self, data: bytes) -> bool:
        """Whether the request's forms can be in `data`: an escape, or one of them as it is.

        Without a backslash the pattern matches exactly where a form occurs verbatim, so a
        substring search (no regex built) decides nearly every answer.
        """
        return b"\\" in data or any(form in data for form in self._forms)


def _unescape_text(match: re.Match[str]) -> str:
    code, character = match.groups()
    return chr(int(code, 16)) if code is not None else character


def _unescape_bytes(match: re.Match[bytes]) -> bytes:
    code, character = match.groups()
    return _utf8(chr(int(code, 16))) if code is not None else character


def _sub_unescaped(
    pattern: re.Pattern[AnyStr],
    escape: re.Pattern[AnyStr],
    unescape: Callable[[re.Match[AnyStr]], AnyStr],
    text: AnyStr,
    replacement: AnyStr,
) -> AnyStr:
    """`pattern.sub(replacement, text)`, matching `text` as it reads with its escapes undone.

    Text without a backslash (nearly all of it) takes the plain substitution. Otherwise the
    escapes are undone into a plain copy, searched, and each match's span in the copy mapped
    back to the escaped span of `text`, which is replaced whole.
    """
    if _BACKSLASH[type(text)] not in text:
        return pattern.sub(replacement, text)
    escapes: list[tuple[int, int, int]] = []  # (start, end) in `text`, length once unescaped

    def record(match: re.Match[AnyStr]) -> AnyStr:
        plain = unescape(match)
        escapes.append((match.start(), match.end(), len(plain)))
        return plain

    plain = escape.sub(record, text)
    matches = [(match.start(), match.end()) for match in pattern.finditer(plain)]
    if not matches:
        return text
    # Where each escape starts in the plain copy: its start in `text` less what the escapes
    # before it shrank.
    starts, shrunk = [], 0
    for start, end, length in escapes:
        starts.append(start - shrunk)
        shrunk += end - start - length

    def original(position: int, *, end: bool) -> int:
        """The offset in `text` of the plain copy's `position` (a match's start or end)."""
        probe = position - 1 if end else position
        index = bisect.bisect_right(starts, probe) - 1
        if index < 0:
            return position
        start, stop, length = escapes[index]
        if probe < starts[index] + length:  # inside an escape: take all of it
            return stop if end else start
        return stop + (position - starts[index] - length)

    pieces, cursor = [], 0
    for start, stop in matches:
        begin = original(start, end=False)
        pieces += [text[cursor:begin], replacement]
        cursor = original(stop, end=True)
    pieces.append(text[cursor:])
    return text[:0].join(pieces)


_BACKSLASH: dict[type, Any] = {str: "\\", bytes: b"\\"}


def escape_controls(text: str) -> str:
    """Return `text` with control and other unprintable characters as visible escapes."""
    if text.isprintable():
        return text
    return "".join(
        character if character.isprintable() else character.encode("unicode_escape").decode("ascii")
        for character in text
    )


def one_line(text: str, *, limit: int = 300) -> str:
    """Return `text` redacted, on one line, control characters escaped, cut to `limit`."""
    flat = escape_controls(" ".join(redact(text).split()))
    if len(flat) > limit:
        return flat[: limit - 3] + "..."
    return flat


class _RedactingFilter(logging.Filter):
    """Rewrite a log record's message (and traceback text) with secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        # Redacted first, then escaped: a CR/LF or terminal escape a server sent cannot forge a
        # log line, and escaping cannot split a secret the redaction would have matched.
        cleaned = escape_controls(redact(message))
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = _RedactingFilter()


def redacting_filter() -> logging.Filter:
    """Return the redacting filter, to attach to a handler (then it sees every logger)."""
    return _FILTER


def install_log_redaction() -> None:
    """Attach the redacting filter to this package's, httpx2's and httpcore2's loggers (once)."""
    for name in _LOGGERS_TO_FILTER:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
