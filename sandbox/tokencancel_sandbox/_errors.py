"""The sandbox's own errors (not provider answers)."""

from __future__ import annotations

__all__ = ["ControlRequestError", "SandboxConfigError", "SandboxError"]


class SandboxError(Exception):
    """Base of every error the sandbox raises to its Python caller."""


class SandboxConfigError(SandboxError, ValueError):
    """A sandbox setting is out of range or names something unknown."""


class ControlRequestError(SandboxError, ValueError):
    """A control-API request (e.g. creating a token) was refused; `status` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
