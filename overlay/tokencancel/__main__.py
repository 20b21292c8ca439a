"""`python -m tokencancel` and the `tokencancel` console script; the CLI lives in `_cli`."""

from __future__ import annotations

import sys

from ._cli import main as _cli_main

__all__ = ["main"]


def main() -> int:
    """Run the command line and return its exit code."""
    return _cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
