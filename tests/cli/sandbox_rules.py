"""The outcome rules that teach the client the sandbox's own codes, as an operator would.

They are the sandbox's conventions, not the providers': KBank publishes no error codes, and
Solidgate's "already cancelled" wording is the sandbox's. An operator learns such codes from the
provider's real sandbox and writes them in a file named by `TOKENCANCEL_OUTCOME_RULES`.
"""

from __future__ import annotations

from pathlib import Path

SANDBOX_RULES = """
[[rule]]
provider = "kbank"
error_code = "TOKEN_ALREADY_CANCELLED"
outcome = "already_inactive"
source = "tokencancel sandbox convention"

[[rule]]
provider = "kbank"
error_code = "AUTHENTICATION_FAILED"
outcome = "authentication_failed"
source = "tokencancel sandbox convention"

[[rule]]
provider = "solidgate"
error_code = "2.01"
message = "(?i)already cancel"
outcome = "already_inactive"
source = "tokencancel sandbox convention"
"""


def write_rules(directory: Path) -> Path:
    """Write SANDBOX_RULES to a file in `directory` and return its path."""
    path = directory / "sandbox-rules.toml"
    path.write_text(SANDBOX_RULES, encoding="utf-8")
    return path
