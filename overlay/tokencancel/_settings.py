"""Per-provider settings, from explicit arguments or the environment.

A base URL is the spec's server URL: the operation path is appended to it, so
`XENDIT_BASE_URL=http://127.0.0.1:9000` sends to
`http://127.0.0.1:9000/v3/payment_tokens/{id}/cancel`. Plain `http://` is accepted only for a
loopback host (a local sandbox); anything else must be `https://`, and TLS verification is never
switched off. Secrets are hidden from `repr()` and registered for redaction.
"""

from __future__ import annotations

import ipaddress
import os
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import attrs

from ._errors import ConfigurationError
from ._redact import register_secret

__all__ = [
    "KBANK_DEFAULT_BASE_URL",
    "SOLIDGATE_DEFAULT_BASE_URL",
    "XENDIT_DEFAULT_BASE_URL",
    "KBankSettings",
    "SolidgateSettings",
    "XenditSettings",
]

KBANK_DEFAULT_BASE_URL = "https://kbankapi.tech/v1"
SOLIDGATE_DEFAULT_BASE_URL = "https://gate.solidgate.com/api"
XENDIT_DEFAULT_BASE_URL = "https://api.xendit.co"

# Credentials travel in HTTP headers, which carry printable ASCII only.
_HEADER_SAFE = frozenset(string.ascii_letters + string.digits + string.punctuation)
_MIN_SECRET_LENGTH = 4


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
    """Return `value` without a trailing slash if it is a usable base URL, else raise."""
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} is not set")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not a valid URL: {value!r}") from exc
    if parts.scheme not in {"http", "https"} or not host:
        raise ConfigurationError(f"{name} must be an http(s) URL with a host, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{name} must not carry credentials in the URL")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must not have a query or fragment, got {value!r}")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigurationError(
            f"{name} uses plain http:// to a non-loopback host; use https:// ({value!r})"
        )
    return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_file(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ConfigurationError(f"{name} must be a file path")
    path = os.fspath(value)
    if not Path(path).is_file():
        raise ConfigurationError(f"{name} names no readable file: {path!r}")
    return str(path)


_Validator = Callable[[object, "attrs.Attribute[str]", str], None]


def _validated(name: str, *, secret: bool) -> _Validator:
    def validate(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
        check_credential(value, name, secret=secret)

    return validate


def _validated_url(name: str) -> _Validator:
    def validate(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
        check_base_url(value, name)

    return validate


def _strip_slash(value: str) -> str:
    return value.rstrip("/") if isinstance(value, str) else value


def _env(env: Mapping[str, str], name: str) -> str | None:
    """Read `name`, treating an empty value as unset."""
    value = env.get(name)
    return value or None


def _require(env: Mapping[str, str], name: str) -> str:
    value = _env(env, name)
    if value is None:
        raise ConfigurationError(f"{name} is not set")
    return value


@attrs.frozen
class KBankSettings:
    """Credentials and endpoint for KBank K PLUS.

    `client_cert` and `client_key` are paths to the PEM certificate and key KBank issues for
    two-way TLS; `client_cert` alone may hold both.
    """

    partner_id: str = attrs.field(validator=_validated("partner_id", secret=False))
    partner_secret: str = attrs.field(
        repr=False,
        validator=_validated("partner_secret", secret=True),
    )
    base_url: str = attrs.field(
        default=KBANK_DEFAULT_BASE_URL,
        converter=_strip_slash,
        validator=_validated_url("base_url"),
    )
    client_cert: str | None = attrs.field(default=None)
    client_key: str | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        _check_file(self.client_cert, "client_cert")
        _check_file(self.client_key, "client_key")
        if self.client_key is not None and self.client_cert is None:
            raise ConfigurationError("client_key is set without client_cert")
        register_secret(self.partner_secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        """Read KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, KBANK_BASE_URL, KBANK_CLIENT_CERT/KEY."""
        partner_id = check_credential(
            _require(env, "KBANK_PARTNER_ID"), "KBANK_PARTNER_ID", secret=False
        )
        partner_secret = check_credential(
            _require(env, "KBANK_PARTNER_SECRET"), "KBANK_PARTNER_SECRET", secret=True
        )
        base_url = check_base_url(
            _env(env, "KBANK_BASE_URL") or KBANK_DEFAULT_BASE_URL, "KBANK_BASE_URL"
        )
        client_cert = _check_file(_env(env, "KBANK_CLIENT_CERT"), "KBANK_CLIENT_CERT")
        client_key = _check_file(_env(env, "KBANK_CLIENT_KEY"), "KBANK_CLIENT_KEY")
        if client_key is not None and client_cert is None:
            raise ConfigurationError("KBANK_CLIENT_KEY is set without KBANK_CLIENT_CERT")
        return cls(
            partner_id=partner_id,
            partner_secret=partner_secret,
            base_url=base_url,
            client_cert=client_cert,
            client_key=client_key,
        )


@attrs.frozen
class SolidgateSettings:
    """Key pair and endpoint for Solidgate's alternative-payment-methods API."""

    public_key: str = attrs.field(
        repr=False,
        validator=_validated("public_key", secret=True),
    )
    secret_key: str = attrs.field(
        repr=False,
        validator=_validated("secret_key", secret=True),
    )
    base_url: str = attrs.field(
        default=SOLIDGATE_DEFAULT_BASE_URL,
        converter=_strip_slash,
        validator=_validated_url("base_url"),
    )

    def __attrs_post_init__(self) -> None:
        register_secret(self.public_key)
        register_secret(self.secret_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        """Read SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY and SOLIDGATE_BASE_URL."""
        public_key = check_credential(
            _require(env, "SOLIDGATE_PUBLIC_KEY"), "SOLIDGATE_PUBLIC_KEY", secret=True
        )
        secret_key = check_credential(
            _require(env, "SOLIDGATE_SECRET_KEY"), "SOLIDGATE_SECRET_KEY", secret=True
        )
        base_url = check_base_url(
            _env(env, "SOLIDGATE_BASE_URL") or SOLIDGATE_DEFAULT_BASE_URL, "SOLIDGATE_BASE_URL"
        )
        return cls(public_key=public_key, secret_key=secret_key, base_url=base_url)


@attrs.frozen
class XenditSettings:
    """Secret key and endpoint for Xendit's Payments API v3."""

    secret_key: str = attrs.field(
        repr=False,
        validator=_validated("secret_key", secret=True),
    )
    base_url: str = attrs.field(
        default=XENDIT_DEFAULT_BASE_URL,
        converter=_strip_slash,
        validator=_validated_url("base_url"),
    )

    def __attrs_post_init__(self) -> None:
        # Imported here: _auth imports this module's neighbours, not the other way round.
        from ._auth import xendit_authorization  # noqa: PLC0415

        register_secret(self.secret_key)
        authorization = xendit_authorization(self.secret_key)
        register_secret(authorization)
        register_secret(authorization.removeprefix("Basic "))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        """Read XENDIT_SECRET_KEY and XENDIT_BASE_URL."""
        secret_key = check_credential(
            _require(env, "XENDIT_SECRET_KEY"), "XENDIT_SECRET_KEY", secret=True
        )
        base_url = check_base_url(
            _env(env, "XENDIT_BASE_URL") or XENDIT_DEFAULT_BASE_URL, "XENDIT_BASE_URL"
        )
        return cls(secret_key=secret_key, base_url=base_url)
