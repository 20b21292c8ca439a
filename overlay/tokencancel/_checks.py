"""Checks shared by every provider's settings and arguments: values that can go on the wire.

A check returns the value (normalised where stated) or raises `ConfigurationError` (settings) or
`InvalidRequestError` (per-call arguments) naming the variable or argument, before anything is
sent. Nothing here knows a provider.
"""

from __future__ import annotations

import ipaddress
import math
import os
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import httpx2

from ._errors import ConfigurationError, InvalidRequestError

__all__ = [
    "check_base_url",
    "check_credential",
    "check_file",
    "check_host_name",
    "check_seconds",
    "check_wire_text",
    "env_value",
    "is_loopback_host",
    "required_env",
    "strip_slash",
    "validated_credential",
    "validated_url",
]

# Credentials travel in HTTP headers, which carry printable ASCII only.
_HEADER_SAFE = frozenset(string.ascii_letters + string.digits + string.punctuation)
_MIN_SECRET_LENGTH = 4
# Token ids and references go into URLs and JSON bodies: visible ASCII, no spaces or controls.
_WIRE_SAFE = frozenset(string.ascii_letters + string.digits + string.punctuation)
_MAX_WIRE_TEXT = 1024


def check_credential(value: object, name: str, *, secret: bool) -> str:
    """Return `value` if it can travel in a header, else raise ConfigurationError naming `name`."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} is not set")
    if not set(value) <= _HEADER_SAFE:
        raise ConfigurationError(
            f"{name} must be printable ASCII without spaces (it travels in an HTTP header)"
        )
    if secret and len(value) < _MIN_SECRET_LENGTH:
        raise ConfigurationError(f"{name} is too short to be a real key")
    return value


def check_base_url(value: object, name: str) -> str:
    """Return `value` without a trailing slash if it is a usable base URL, else raise.

    Refused: anything but http(s) with a host; control characters or spaces anywhere; user
    information, a query or a fragment; a host name that is not valid IDNA; plain http:// to a
    host that is not loopback.
    """
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} is not set")
    if any(not character.isprintable() or character.isspace() for character in value):
        raise ConfigurationError(f"{name} contains a control character or a space")
    if "@" in value.partition("://")[2].partition("/")[0]:
        # User information is refused below anyway; this keeps a password out of the messages.
        raise ConfigurationError(f"{name} must not carry credentials in the URL")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(f"{name} is not a valid URL: {value!r}") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise ConfigurationError(f"{name} must be an http(s) URL with a host, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{name} must not carry credentials in the URL")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must not have a query or fragment, got {value!r}")
    check_host_name(host, name)
    try:
        # What the HTTP client will make of it: its own URL parser and IDNA rules (the `idna`
        # package is stricter than the codec above), so no odd host reaches a send.
        httpx2.URL(value)
    except Exception:  # InvalidURL, idna.IDNAError, UnicodeError: all mean "not a usable URL"
        raise ConfigurationError(f"{name} is not a valid URL: {value!r}") from None
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigurationError(
            f"{name} uses plain http:// to a non-loopback host; use https:// ({value!r})"
        )
    return value.rstrip("/")


def check_host_name(host: str, name: str) -> None:
    """Refuse a host name that cannot be looked up: not an IP address and not valid IDNA."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return
    try:
        # The codec refuses empty or over-long labels and invalid code points; an A-label
        # ("xn--...") it passes through unchecked must decode too ("xn--" alone does not).
        for label in host.encode("idna").decode("ascii").split("."):
            if label.lower().startswith("xn--"):
                label.encode("ascii").decode("idna")
    except UnicodeError:
        raise ConfigurationError(f"{name} has a host name that is not valid: {host!r}") from None


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine (`localhost` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_file(value: object, name: str) -> str | None:
    """Return `value` as a path string if it names a readable file; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ConfigurationError(f"{name} must be a file path")
    path = os.fspath(value)
    try:
        # is_file() passes on some OS errors (a name too long, a permission denied on the way).
        is_file = isinstance(path, str) and Path(path).is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        raise ConfigurationError(f"{name} names no readable file: {_shown(path)}")
    return path


def _shown(value: object, limit: int = 200) -> str:
    """`value`'s repr for a message, cut short (an argument may be a megabyte of junk)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_seconds(value: object, name: str, *, allow_none: bool = False) -> float | None:
    """Return a finite, positive number of seconds, else raise ConfigurationError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0 or seconds > 86_400:  # noqa: PLR2004 -- one day
        raise ConfigurationError(f"{name} must be more than 0 and at most 86400 seconds")
    return seconds


def check_wire_text(
    value: object, name: str, *, provider: str, max_length: int = _MAX_WIRE_TEXT
) -> str:
    """Return `value` if it can go on the wire as an id, else raise InvalidRequestError.

    Visible ASCII only: no spaces, control characters (CR/LF would forge log lines), lone
    surrogates or other text a provider's id never holds.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"{name} must be a string, got {type(value).__name__}", provider=provider
        )
    if not value:
        raise InvalidRequestError(f"{name} must not be empty", provider=provider)
    if len(value) > max_length:
        raise InvalidRequestError(
            f"{name} must be at most {max_length} characters, got {len(value)}", provider=provider
        )
    if not set(value) <= _WIRE_SAFE:
        raise InvalidRequestError(
            f"{name} must be visible ASCII without spaces or control characters",
            provider=provider,
        )
    return value


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """Read `name`, treating an empty value as unset."""
    value = env.get(name)
    return value or None


def required_env(env: Mapping[str, str], name: str) -> str:
    """Read `name`, or raise ConfigurationError saying it is not set."""
    value = env_value(env, name)
    if value is None:
        raise ConfigurationError(f"{name} is not set")
    return value


def strip_slash(value: object) -> object:
    """Attrs converter: a base URL without its trailing slash (other values pass through)."""
    return value.rstrip("/") if isinstance(value, str) else value


_Validator = Callable[[object, "attrs.Attribute[str]", str], None]


def validated_credential(name: str, *, secret: bool) -> _Validator:
    """An attrs validator running `check_credential` for field `name`."""

    def validate(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
        check_credential(value, name, secret=secret)

    return validate


def validated_url(name: str) -> _Validator:
    """An attrs validator running `check_base_url` for field `name`."""

    def validate(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
        check_base_url(value, name)

    return validate
