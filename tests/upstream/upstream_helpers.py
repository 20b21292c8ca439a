"""Helpers for the check-upstream tests: the scripts on the path, pinned pages, edited copies."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # the scripts import each other by plain module name

import check_upstream  # noqa: E402

PINNED = {provider: ROOT / path for provider, path in check_upstream.PINNED.items()}
DEVIATIONS = ROOT / check_upstream.DEVIATIONS


def recorded_lines(provider: str) -> set[str]:
    """Every difference line the deviations file records for a provider."""
    return set(check_upstream.load_deviations(DEVIATIONS).get(provider, {}))


def run(capsys: Any, *args: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run check-upstream in this process; return (exit status, stdout, stderr)."""
    status = check_upstream.main(list(args), environ=environ or {})
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def flagged(out: str, marker: str) -> set[str]:
    """The difference lines printed with ` -- NEW` or ` -- stale...`."""
    found = set()
    for line in out.splitlines():
        text, sep, rest = line.strip().partition(" -- ")
        if sep and rest.startswith(marker):
            found.add(text)
    return found


def edit_xendit_json(page: str, edit: Any) -> str:
    """Apply `edit(document)` to the JSON block of Xendit's page, keeping the page's format."""
    match = re.search(r"(````json[^\n]*\n)(.*?)(\n````)", page, re.DOTALL)
    assert match is not None
    document = json.loads(match.group(2))
    edit(document)
    return page[: match.start(2)] + json.dumps(document, indent=2) + page[match.end(2) :]
