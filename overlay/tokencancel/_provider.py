"""The providers this package can cancel tokens at."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, TypeAlias

__all__ = ["Provider", "ProviderName", "provider_value"]


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


ProviderName: TypeAlias = Provider | Literal["kbank", "solidgate", "xendit"]
"""A built-in provider, by member or by name (a typo fails type checking)."""


def provider_value(name: str) -> str:
    """`name` as a `Provider` member when it is a built-in provider, else the name itself."""
    # A dict lookup, not `Provider(name)`: this runs several times per cancel, and the enum's
    # lookup by value (with its ValueError for registered providers) cost a few microseconds.
    return _BUILT_IN.get(name, name)


_BUILT_IN: dict[str, str] = {member.value: member for member in Provider}
