"""Helpers for the api-diff tests: the scripts on the path, scratch trees and git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # the scripts import each other by plain module name

import api_diff  # noqa: E402
import apispec  # noqa: E402

# A fixed identity and no user configuration, so commits in scratch repositories are repeatable.
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "api-diff test",
    "GIT_AUTHOR_EMAIL": "api-diff@example.invalid",
    "GIT_COMMITTER_NAME": "api-diff test",
    "GIT_COMMITTER_EMAIL": "api-diff@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


GIT = shutil.which("git") or "git"


def git(repo: Path, *args: str) -> str:
    """Run git in a scratch repository and return its output."""
    return subprocess.run(
        [GIT, "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env=GIT_ENV,
    ).stdout


def project_repo(into: Path) -> Path:
    """A git repository holding a copy of what api-diff and generation read, on branch main."""
    repo = into / "project"
    for name in ("specs", "scripts", "generated", "overlay"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", repo / "pyproject.toml")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message=base")
    return repo


def run_script(repo: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of the repository copy's scripts, as its Makefile target would."""
    return subprocess.run(
        [sys.executable, str(repo / "scripts" / script), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env=GIT_ENV,
    )


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write dedented files under `root` (a stand-in for a tree with overlay/ and specs/)."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


__all__ = ["ROOT", "api_diff", "apispec", "git", "project_repo", "run_script", "write_tree"]
