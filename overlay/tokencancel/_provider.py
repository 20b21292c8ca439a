"""The providers this package can cancel tokens at."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Provider", "provider_value"]


class Provider(StrEnum):
    """A payment provider with a cancel-token operation."""

    KBANK = "kbank"
    SOLIDGATE = "solidgate"
    XENDIT = "xendit"

    @property
    def display_name(self) -> str:
        """The provider's name as people write it."""
        return _DISPLAY_NAMES[self]


_DISPLAY_NAMES = {
    Provider.KBANK: "KBank",
    Provider.SOLIDGATE: "Solidgate",
    Provider.XENDIT: "Xendit",
}


def provider_value(name: str) -> str:
    """`name` as a `Provider` member when it is a built-in provider, else the name itself."""
    try:
        return Provider(name)
    except ValueError:  # a provider registered at run time
        return name
