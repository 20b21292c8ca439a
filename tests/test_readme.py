"""Every example in README.md and docs/overlay.md runs as written, against a running sandbox.

Each ```python block runs in a fresh interpreter whose environment is the sandbox's exports
(`Sandbox.env()`, what `eval "$(curl -s .../_sandbox/env)"` sets), in an empty folder, after a
reset of the sandbox (so the spec examples' tokens are active again). A block that is not meant
to run carries `<!-- not-run: reason -->` on the line before it; those are counted here, so
marking one is a visible decision. The README's try-it shell block runs too, in bash.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tokencancel_sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/overlay.md")
# Marked blocks, by document: a new mark must be added here as well, deliberately.
EXPECTED_NOT_RUN = {"README.md": 0, "docs/overlay.md": 0}
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(\S.*?)\s*-->$")
FENCE = re.compile(r"^```(\w*)\s*$")
# Variables a block could otherwise inherit from whoever runs the tests.
_CLIENT_VARIABLES = re.compile(r"^(KBANK|SOLIDGATE|XENDIT|TOKENCANCEL)_")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language, its text, and why it is not run."""

    document: str
    line: int
    language: str
    code: str
    not_run: str | None = None

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"


def code_blocks(text: str, document: str) -> list[Block]:
    """Every fenced block of a markdown text, with the not-run reason marked before it."""
    blocks = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marked = NOT_RUN.match(previous.strip())
        blocks.append(
            Block(
                document=document,
                line=index + 1,
                language=opening.group(1),
                code="\n".join(lines[index + 1 : end]) + "\n",
                not_run=marked.group(1) if marked else None,
            )
        )
        index = end + 1
    return blocks


def _python_blocks(document: str) -> list[Block]:
    text = (ROOT / document).read_text("utf-8")
    return [block for block in code_blocks(text, document) if block.language == "python"]


RUNNABLE = [block for doc in DOCUMENTS for block in _python_blocks(doc) if block.not_run is None]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(port=0) as running:
        yield running


def _environment(sandbox: Sandbox) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not _CLIENT_VARIABLES.match(k)}
    return {**inherited, **sandbox.env()}


def run_python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` as a script in a fresh interpreter."""
    script = cwd / "example.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_python_example_runs(block: Block, sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    done = run_python(block.code, _environment(sandbox), tmp_path)
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("document", DOCUMENTS)
def test_examples_not_run_are_marked_and_counted(document: str) -> None:
    # Every python block of each document either runs above or is marked with its reason.
    blocks = _python_blocks(document)
    not_run = [f"{block.id}: {block.not_run}" for block in blocks if block.not_run is not None]
    assert len(not_run) == EXPECTED_NOT_RUN[document], not_run
    assert any(block.not_run is None for block in blocks)


def test_the_overlay_doc_has_a_direct_example_per_provider() -> None:
    # "Using a generated client directly": one runnable block per generated package.
    direct = [block.code for block in _python_blocks("docs/overlay.md")]
    for package in ("tokencancel_kbank_client", "tokencancel_solidgate_client"):
        assert any(f"import {package}\n" in code for code in direct), package
    assert any("tokencancel.XenditAuth(settings)" in code for code in direct)
    assert any("tokencancel.SolidgateAuth(settings)" in code for code in direct)


def test_the_runner_can_fail(sandbox: Sandbox, tmp_path: Path) -> None:
    # The README's first example once used an undefined `log`: such a block fails here; a
    # marked block is not run but counted; a block's line is where its fence opens.
    text = (
        "intro\n\n```python\nprint('ok')\n```\n\n<!-- not-run: needs a real key -->\n"
        "```python\nraise SystemExit(1)\n```\n\n```python\nlog.warning('x')\n```\n"
    )
    blocks = code_blocks(text, "doc.md")
    assert [(b.line, b.not_run) for b in blocks] == [(3, None), (8, "needs a real key"), (12, None)]
    good, _, bad = blocks
    assert run_python(good.code, _environment(sandbox), tmp_path).returncode == 0
    failed = run_python(bad.code, _environment(sandbox), tmp_path)
    assert failed.returncode == 1
    assert "NameError: name 'log' is not defined" in failed.stderr


# -- the first screen ---------------------------------------------------------------------------


def _first_screen() -> str:
    """The README up to its section on what the project is: what a newcomer reads first."""
    text = (ROOT / "README.md").read_text("utf-8")
    return text[: text.index("## What this is")]


def test_the_first_screen_says_how_to_install_reach_the_command_and_the_sandbox() -> None:
    first = _first_screen()
    for needed in (
        "pip install tokencancel",
        "pip install 'tokencancel[sandbox]'",
        ".venv/bin/tokencancel cancel",
        ".venv/bin/tokencancel-sandbox",
        'eval "$(curl -s http://127.0.0.1:8787/_sandbox/env)"',
        "make test",
    ):
        assert needed in first, needed


def test_the_try_it_shell_block_works(tmp_path: Path) -> None:
    # The README's second shell, as written, against a sandbox: the port and the venv's bin
    # folder are the only substitutions (the README's 8787 may be taken; `.venv/bin` is where
    # `make install` puts the commands, here the running interpreter's own folder).
    assert shutil.which("curl"), "the README's command uses curl"
    shell = next(
        block.code
        for block in code_blocks(_first_screen(), "README.md")
        if block.language == "sh" and "_sandbox/env" in block.code
    )
    with Sandbox.start(port=0) as sandbox:
        script = shell.replace("127.0.0.1:8787", f"127.0.0.1:{sandbox.port}").replace(
            ".venv/bin/", f"{Path(sys.executable).parent}/"
        )
        env = {k: v for k, v in os.environ.items() if not _CLIENT_VARIABLES.match(k)}
        done = subprocess.run(
            [shutil.which("bash") or "/bin/bash", "-euc", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outcomes = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert len(outcomes) == script.count("tokencancel cancel") >= 2
        assert all('"outcome": "cancelled"' in line for line in outcomes), done.stdout
