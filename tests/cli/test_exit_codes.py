"""One exit-code table: the code's, every subcommand's --help, and the docs say the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tokencancel._cli import main
from tokencancel._exit import EXIT_CODES_HELP, ExitCode

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _codes_in_help() -> set[int]:
    return {int(match) for match in re.findall(r"^  (\d+) ", EXIT_CODES_HELP, re.MULTILINE)}


def test_the_help_table_lists_every_exit_code_once() -> None:
    """EXIT_CODES_HELP names each ExitCode, and nothing else."""
    assert _codes_in_help() == {int(code) for code in ExitCode}


def test_the_docs_write_the_table_out_once_with_the_same_codes() -> None:
    """docs/overlay.md holds the one written-out table; no other doc repeats one."""
    overlay = (DOCS / "overlay.md").read_text()
    section = overlay[overlay.index("## Command line") : overlay.index("## Secret hygiene")]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}
    for doc in DOCS.glob("*.md"):
        text = doc.read_text() if doc.name != "overlay.md" else overlay.replace(section, "")
        assert not re.search(r"^\| ?[Ee]xit ?\|", text, re.MULTILINE), doc.name


@pytest.mark.parametrize("command", ["cancel", "check", "bulk"])
def test_every_subcommand_prints_the_same_table(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tokencancel COMMAND --help` ends with the one table."""
    assert main([command, "--help"], env={}) == 0
    assert EXIT_CODES_HELP in capsys.readouterr().out
