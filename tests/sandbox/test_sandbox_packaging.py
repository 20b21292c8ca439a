"""The sandbox as an installed package: its extra declares what it imports, and without the extra
it says how to install it instead of failing with a traceback.

"Without the extra" is simulated by making a module unimportable in a child interpreter
(`sys.modules[name] = None`, which makes `import name` raise ModuleNotFoundError), as a bare
`pip install tokencancel` would.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import tokencancel_sandbox

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(tokencancel_sandbox.__file__).resolve().parent
HINT = "pip install 'tokencancel[sandbox]'"

# Imported only where the importer guarantees it: pytest loads the pytest plugin.
_PROVIDED_BY_THE_IMPORTER = {"pytest_plugin.py": {"pytest"}}


def _normalise(requirement: str) -> str:
    name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules(source: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


def test_every_module_the_sandbox_imports_is_declared_in_its_extra() -> None:
    # Each third-party module any sandbox file imports comes from a distribution named in the
    # `sandbox` extra (or the core dependencies); jsonschema_path once was not.
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {
        _normalise(requirement)
        for requirement in [*project["dependencies"], *project["optional-dependencies"]["sandbox"]]
    }
    distributions = metadata.packages_distributions()
    undeclared: dict[str, list[str]] = {}
    for source in sorted(PACKAGE.glob("*.py")):
        for module in _imported_top_level_modules(source):
            if (
                module in sys.stdlib_module_names
                or module in {"tokencancel", "tokencancel_sandbox", "__future__"}
                or module in _PROVIDED_BY_THE_IMPORTER.get(source.name, set())
            ):
                continue
            providers = {_normalise(name) for name in distributions.get(module, [module])}
            if not providers & declared:
                undeclared.setdefault(source.name, []).append(module)
    assert not undeclared, f"imported but not in the sandbox extra: {undeclared}"
    assert {"openapi-core", "jsonschema-path", "trustme"} <= declared


def test_the_declaration_check_can_fail() -> None:
    # The import scan sees direct imports, e.g. the one the sandbox's spec module makes.
    assert "jsonschema_path" in _imported_top_level_modules(PACKAGE / "_spec.py")
    assert "trustme" in _imported_top_level_modules(PACKAGE / "_tls.py")


def _run_without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )


_AS_MODULE = (
    "import runpy; sys.argv = ['tokencancel_sandbox', *{args!r}]\n"
    "runpy.run_module('tokencancel_sandbox', run_name='__main__', alter_sys=True)"
)
_AS_SCRIPT = (
    "from tokencancel_sandbox.__main__ import main\n"  # what the console script runs
    "sys.exit(main([*{args!r}]))"
)


@pytest.mark.parametrize(
    ("module", "arguments"),
    [
        ("jsonschema_path", []),
        ("openapi_core", []),
        ("yaml", []),
        ("trustme", ["--tls"]),
    ],
)
@pytest.mark.parametrize("entry", [_AS_MODULE, _AS_SCRIPT], ids=["python-m", "console-script"])
def test_without_the_extra_the_cli_says_how_to_install_it(
    module: str, arguments: list[str], entry: str
) -> None:
    # Exit 2 and one line on stderr naming the missing module and the install command.
    result = _run_without(module, entry.format(args=["--port", "0", *arguments]))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert HINT in lines[0]
    assert module in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_without_the_extra_the_package_still_imports() -> None:
    # Settings, errors and OUTCOME_RULES_PATH need no extra; Sandbox raises an ImportError
    # subclass that names the install command.
    result = _run_without(
        "openapi_core",
        "import tokencancel_sandbox as t\n"
        "print(t.OUTCOME_RULES_PATH.is_file(), t.SandboxConfig().vocabulary)\n"
        "try:\n    t.Sandbox\nexcept ImportError as e:\n    print(type(e).__name__, e)\n",
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == "True known"
    assert second.startswith("SandboxExtraMissingError")
    assert HINT in second


def test_with_the_extra_the_check_passes_through() -> None:
    # The same entry point, nothing blocked: --help prints usage and exits 0 (so the runs above
    # fail because of the blocked module, not the harness).
    result = _run_without("not_a_real_module", _AS_SCRIPT.format(args=["--help"]))
    assert result.returncode == 0, result.stderr
    assert "--tls-hostname" in result.stdout


def test_the_console_script_and_the_pytest_plugin_are_installed() -> None:
    # `tokencancel-sandbox` is on the venv's PATH; the plugin is a pytest11 entry point.
    script = Path(sys.executable).with_name("tokencancel-sandbox")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: tokencancel-sandbox")
    plugins = {entry.value for entry in metadata.entry_points(group="pytest11")}
    assert "tokencancel_sandbox.pytest_plugin" in plugins


def test_the_rules_file_ships_inside_the_package() -> None:
    # OUTCOME_RULES_PATH is a file in the package directory, which the wheel includes whole.
    assert tokencancel_sandbox.OUTCOME_RULES_PATH.parent == PACKAGE
    assert tokencancel_sandbox.OUTCOME_RULES_PATH.is_file()
