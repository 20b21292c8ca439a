"""Keep secrets out of logs, exception text and command output.

Three layers, because a secret can reach text by more than one road:

- every configured secret value (and the forms derived from it, such as Xendit's Basic
  credential) is registered here when settings are created, and replaced wherever it appears;
- header-shaped text naming a credential header (``authorization``, ``signature``,
  ``partner-secret``, ``merchant``...) has its value replaced, which covers httpcore2's DEBUG
  trace of response headers even when a hostile server echoes a credential back;
- anything shaped like a Solidgate signature (172 base64 characters) is replaced, since each
  request has its own signature and they cannot all be registered.

`install_log_redaction()` attaches the filter to this package's logger and to httpx2's and
httpcore2's, whose DEBUG output a user may switch on.
"""

from __future__ import annotations

import json
import logging
import re
import threading

__all__ = [
    "REDACTED",
    "escape_controls",
    "install_log_redaction",
    "one_line",
    "redact",
    "redact_bytes",
    "redacting_filter",
    "register_secret",
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
_SIGNATURE_SHAPE_BYTES = re.compile(rb"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{171}=(?![A-Za-z0-9+/=])")
_REDACTED_BYTES = REDACTED.encode()

# Secrets shorter than this would turn ordinary words into noise; settings refuse them anyway.
_MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None
_secret_bytes_pattern: re.Pattern[bytes] | None = None

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

    Its JSON-escaped form is registered too, so a secret holding a quote or a backslash is
    caught in a JSON body as well as in plain text.
    """
    global _secret_pattern, _secret_bytes_pattern  # noqa: PLW0603 -- one process-wide registry is the point
    forms = {value, json.dumps(value)[1:-1]}
    if len(value) < _MIN_SECRET_LENGTH or forms <= _secrets:
        return
    with _lock:
        _secrets.update(forms)
        # Longest first, so a secret that contains another is replaced whole.
        alternatives = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(secret) for secret in alternatives))
        _secret_bytes_pattern = re.compile(
            b"|".join(re.escape(secret.encode("utf-8", "surrogatepass")) for secret in alternatives)
        )


def redact(text: str) -> str:
    """Return `text` with every registered secret and credential-shaped value replaced."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _HEADER_TUPLE.sub(rf"\g<1>{REDACTED}\g<3>", text)
    text = _NAME_VALUE.sub(rf"\g<1>{REDACTED}", text)
    return _SIGNATURE_SHAPE.sub(REDACTED, text)


def redact_bytes(data: bytes) -> bytes:
    """Return `data` (a provider's answer) with every registered secret and signature replaced.

    Applied to each answer as it arrives, so nothing stored on a result or an error, logged or
    written holds a secret a hostile server echoed back.
    """
    pattern = _secret_bytes_pattern
    if pattern is not None:
        data = pattern.sub(_REDACTED_BYTES, data)
    return _SIGNATURE_SHAPE_BYTES.sub(_REDACTED_BYTES, data)


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
        cleaned = redact(message)
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
