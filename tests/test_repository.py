"""The repository speaks of itself alone: every file it names exists, nothing outside is cited."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = (
    "specs",
    "generated",
    "overlay",
    "sandbox",
    "tests",
    "scripts",
    "bench",
    "docs",
    "contract",
)
# A repository-relative path as prose and comments write it: a top-level folder, then segments.
PATH = re.compile(r"(?<![\w./-])((?:" + "|".join(TOP_LEVEL) + r")/[\w./{},*<>-]*[\w}*>])")
# Tests whose paths are dangling on purpose: this one's examples, and the synthetic package
# trees the api-diff tests write into scratch folders.
SYNTHETIC = {b"tests/test_repository.py", b"tests/apidiff/test_python_api_rules.py"}
BRACES = re.compile(r"\{([^{}]*)\}")
# Paths that are patterns or places, not files: globs, <placeholders>, f-string {fields}.
NOT_A_FILE = re.compile(r"[*<>]|\{[^{},]*\}|\{[^}]*$")


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607 -- git from PATH, as every developer runs it
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    files = []
    for name in listed:
        if not name or name.startswith(b"generated/") or name.endswith(b".json"):
            continue
        if name in SYNTHETIC:  # their paths name files they write into scratch trees
            continue
        path = ROOT / name.decode()
        if path.suffix in {".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ""} and path.is_file():
            files.append(path)
    return files


def _expansions(text: str) -> list[str]:
    """`a/{x,y}.py` -> `a/x.py`, `a/y.py` (brace lists, as the docs write several files)."""
    match = BRACES.search(text)
    if match is None:
        return [text]
    head, tail = text[: match.start()], text[match.end() :]
    return [
        part for option in match.group(1).split(",") for part in _expansions(head + option + tail)
    ]


def _named_paths(path: Path) -> set[str]:
    found = set()
    for match in PATH.findall(path.read_text(encoding="utf-8", errors="replace")):
        candidate = match.rstrip(".,")
        if NOT_A_FILE.search(candidate):
            continue
        found.update(_expansions(candidate))
    return found


def test_every_file_the_repository_names_exists() -> None:
    """A path in a doc, comment or config that points at nothing is a dangling reference."""
    missing = {
        f"{source.relative_to(ROOT)}: {named}"
        for source in _tracked_text_files()
        for named in _named_paths(source)
        if not (ROOT / named).exists()
    }
    assert not missing, "\n".join(sorted(missing))


@pytest.mark.parametrize("forbidden", ["../shared", "PROVIDERS.md", "provider-docs/"])
def test_nothing_points_outside_the_repository(forbidden: str) -> None:
    """The project cites what it contains or what is public, never a sibling folder."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in _tracked_text_files()
        if path.name != "test_repository.py" and forbidden in path.read_text(errors="replace")
    ]
    assert offenders == []


def test_the_dangling_reference_check_can_fail(tmp_path: Path) -> None:
    """The scan finds a path in prose, expands braces, and skips globs and placeholders."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "See docs/nowhere.md and specs/{kbank,acme}.yaml, not tests/*.py nor "
        "overlay/tokencancel/providers/<name>.py.",
        encoding="utf-8",
    )
    named = _named_paths(doc)
    assert named == {"docs/nowhere.md", "specs/kbank.yaml", "specs/acme.yaml"}
    assert [name for name in sorted(named) if not (ROOT / name).exists()] == [
        "docs/nowhere.md",
        "specs/acme.yaml",
    ]
