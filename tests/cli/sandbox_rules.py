"""The sandbox's own outcome rules, for tests that point the client at a sandbox.

The sandbox's codes and texts are its conventions, not the providers'; the client learns them
only from its outcome-rules file (`tokencancel_sandbox.OUTCOME_RULES_PATH`, also in its `env()`).
"""

from __future__ import annotations

from pathlib import Path

from tokencancel_sandbox import OUTCOME_RULES_PATH


def sandbox_rules() -> Path:
    """The sandbox's rules file, as it ships with the sandbox."""
    return Path(OUTCOME_RULES_PATH)
