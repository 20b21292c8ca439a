"""The package's own environment variables, named once (each provider's are in its module).

Every other variable a provider reads is listed by its adapter (`ProviderAdapter.env_vars`),
so `--help`, the contract runner and the error messages take the names from one place.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CA_BUNDLE_VARIABLE", "LOG_VARIABLE", "OUTCOME_RULES_VARIABLE"]

OUTCOME_RULES_VARIABLE: Final = "TOKENCANCEL_OUTCOME_RULES"
"""A TOML file of operator outcome rules (`tokencancel.OutcomeRules`)."""

CA_BUNDLE_VARIABLE: Final = "TOKENCANCEL_CA_BUNDLE"
"""A PEM file of CA certificates to trust instead of the system's."""

LOG_VARIABLE: Final = "TOKENCANCEL_LOG"
"""`debug`, `info` or `warning`: the library's log on stderr, redacted (`tokencancel._log`)."""
