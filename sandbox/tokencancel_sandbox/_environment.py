"""The client's environment for a sandbox, as variables and as shell `export` lines."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CA_BUNDLE_VARIABLE", "OUTCOME_RULES_VARIABLE", "shell_exports"]

#: Where the client finds the outcome-rules file that explains the sandbox's own codes.
OUTCOME_RULES_VARIABLE = "TOKENCANCEL_OUTCOME_RULES"
#: Where the client finds the CA certificate to trust in the TLS mode.
CA_BUNDLE_VARIABLE = "TOKENCANCEL_CA_BUNDLE"

_QUOTE = "'"
_ESCAPED_QUOTE = "'" + "\\" + "''"  # close the quoting, an escaped quote, reopen


def shell_exports(environment: Mapping[str, str]) -> str:
    """Return `export NAME='value'` lines for a POSIX shell's `eval`, one per variable.

    Values are single-quoted, so nothing in them is expanded; a single quote inside a value
    closes the quoting, is written escaped, and reopens it.
    """
    return "".join(
        f"export {name}='{value.replace(_QUOTE, _ESCAPED_QUOTE)}'\n"
        for name, value in environment.items()
    )
