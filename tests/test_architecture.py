"""The overlay keeps its shape: small files, no import cycle, provider knowledge in providers/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tokencancel.providers import REGISTRY

OVERLAY = Path(__file__).resolve().parents[1] / "overlay" / "tokencancel"
MAX_LINES = 500
# Where provider knowledge must not appear: it lives in providers/<name>.py.
PROVIDER_AGNOSTIC = [
    "_cli.py",
    "_exit.py",
    "_transport.py",
    "_wire.py",
    "_body.py",
    "_messages.py",
    "_rules.py",
    "_core.py",
    "bulk",
]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in OVERLAY.rglob("*.py"):
        parts = path.relative_to(OVERLAY.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(name: str, path: Path) -> set[str]:
    """The tokencancel modules `name` imports (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (
                f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            )
            if node.level == 0 and not target.startswith("tokencancel"):
                continue
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("tokencancel"))
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph`, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return [*stack[stack.index(child) :], child]
            if state.get(child) is None:
                found = visit(child)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path) & set(modules) - {name} for name, path in modules.items()}


def test_no_overlay_file_is_longer_than_about_500_lines() -> None:
    """Each file holds one idea; a file past the limit is two ideas that want their own homes."""
    long = {
        str(path.relative_to(OVERLAY)): count
        for path in OVERLAY.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_overlay_import_graph_has_no_cycle() -> None:
    """Modules import downwards only, so any of them can be read (and imported) on its own."""
    assert _cycle(_graph()) is None


def test_the_cycle_check_can_fail() -> None:
    """The search finds a cycle when there is one."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _provider_mentions(path: Path) -> list[str]:
    """Provider names used as string constants or `Provider.<NAME>` in `path`."""
    names = set(REGISTRY) | {name.upper() for name in REGISTRY}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and node.value in names:
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Attribute) and node.attr in names:
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("where", PROVIDER_AGNOSTIC)
def test_provider_knowledge_stays_in_the_provider_modules(where: str) -> None:
    """The CLI, bulk, transport, rules and exit codes name no provider: they use the registry."""
    target = OVERLAY / where
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert [mention for path in files for mention in _provider_mentions(path)] == []


def test_the_facade_branches_on_no_provider() -> None:
    """The facade's per-provider methods are one-line delegations; no if/match picks a provider."""
    tree = ast.parse((OVERLAY / "_facade.py").read_text(encoding="utf-8"))
    names = set(REGISTRY) | {name.upper() for name in REGISTRY}
    branches = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.If | ast.Match | ast.IfExp)
        and any(
            (isinstance(inner, ast.Constant) and inner.value in names)
            or (isinstance(inner, ast.Attribute) and inner.attr in names)
            for inner in ast.walk(node.test if not isinstance(node, ast.Match) else node.subject)
        )
    ]
    assert branches == []


def test_the_branch_scan_can_fail(tmp_path: Path) -> None:
    """A module comparing against a provider name is caught."""
    sample = tmp_path / "sample.py"
    sample.write_text('if provider == "xendit":\n    pass\n', encoding="utf-8")
    assert _provider_mentions(sample) == ["sample.py:1: 'xendit'"]


def test_tests_are_a_package() -> None:
    """Every test folder is a package, so helpers are imported by name, never by sys.path."""
    tests = Path(__file__).resolve().parent
    folders = [path for path in tests.iterdir() if path.is_dir() and path.name != "__pycache__"]
    assert [folder.name for folder in folders if not (folder / "__init__.py").exists()] == []
