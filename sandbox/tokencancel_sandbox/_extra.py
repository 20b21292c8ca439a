"""The sandbox's optional dependencies: what to tell a user who installed tokencancel without them.

Standard library only: the CLI and the pytest plugin import this before they know whether the
`sandbox` extra is installed.
"""

from __future__ import annotations

__all__ = ["INSTALL_HINT", "SandboxExtraMissingError", "is_missing_extra", "missing_extra_message"]

INSTALL_HINT = "pip install 'tokencancel[sandbox]'"

# Our own packages: a missing one is a broken installation, not a missing extra.
_OWN_PACKAGES = frozenset({"tokencancel", "tokencancel_sandbox"})


class SandboxExtraMissingError(ModuleNotFoundError):
    """The sandbox was used without its optional dependencies (the `sandbox` extra)."""


def is_missing_extra(error: ModuleNotFoundError) -> bool:
    """Whether `error` is a third-party module missing, i.e. the `sandbox` extra is absent."""
    top_level = (error.name or "").partition(".")[0]
    return bool(top_level) and top_level not in _OWN_PACKAGES


def missing_extra_message(error: ModuleNotFoundError) -> str:
    """One line saying what is missing and how to install it."""
    module = (error.name or "").partition(".")[0]
    return (
        f"the tokencancel sandbox needs its optional dependencies (no module named "
        f"{module!r}): {INSTALL_HINT}"
    )
