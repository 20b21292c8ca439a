"""Honest metadata: one version, the licence the metadata names, Pythons that are tested,
floors that are declared for every runtime dependency, nothing declared that is not used, and a
built wheel and sdist that carry all of it (built here without network, with the pinned
hatchling, as `python -m build` would).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
import tokencancel

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PROJECT = PYPROJECT["project"]
# Imported inside a try, only to say what to install when a feature needs it.
OPTIONAL_IMPORTS = {"socksio"}  # httpx2's SOCKS proxy support (tokencancel/_wire.py)
# Modules imported only behind an extra, by the extra that declares them.
EXTRA_IMPORTS = {"aiohttp": "aiohttp"}
SHIPPED = (
    "tokencancel",
    "tokencancel_sandbox",
    "tokencancel_kbank_client",
    "tokencancel_solidgate_client",
    "tokencancel_xendit_client",
)


@functools.cache
def _noxfile() -> ModuleType:
    """noxfile.py, loaded once (each load registers its sessions with nox)."""
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalise(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])


# -- one version ------------------------------------------------------------------------------


def test_one_version_string() -> None:
    # pyproject's version is what the installed metadata, the package and the command say.
    tokencancel_script = Path(sys.executable).with_name("tokencancel")
    printed = subprocess.run(
        [str(tokencancel_script), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert PROJECT["version"] == metadata.version("tokencancel")
    assert tokencancel.__version__ == PROJECT["version"]
    assert printed == f"tokencancel {PROJECT['version']}"
    assert "version" not in PROJECT.get("dynamic", [])


# -- licence ----------------------------------------------------------------------------------


def test_the_licence_is_the_mit_text_the_metadata_names() -> None:
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the tokencancel authors\n")
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    # PEP 639: with a licence expression, no licence classifier may be given as well.
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


# -- supported Pythons ------------------------------------------------------------------------


def test_the_classifiers_name_exactly_the_pythons_the_matrix_tests() -> None:
    declared = sorted(
        c.rsplit(" :: ", 1)[1]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    pythons = list(_noxfile().PYTHONS)
    assert declared == pythons
    assert PROJECT["requires-python"] == f">={pythons[0]}"
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + pythons[0].replace(".", "")


def test_the_matrix_has_every_session_for_every_python() -> None:
    listed = subprocess.run(
        [
            str(Path(sys.executable).with_name("nox")),
            "--list",
            "--noxfile",
            str(ROOT / "noxfile.py"),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    sessions = set(re.findall(r"^\* (\S+)", listed, re.MULTILINE))
    expected = {f"{kind}-{v}" for kind in ("tests", "lowest", "wheel") for v in _noxfile().PYTHONS}
    assert sessions == expected


# -- dependencies -----------------------------------------------------------------------------


def test_every_runtime_dependency_has_a_floor_the_lowest_session_installs() -> None:
    floors = _noxfile().declared_floors()
    assert floors["attrs"] == "23.2.0"
    assert floors["httpx2"] == "2.16.0"
    assert set(floors) == {
        _requirement_name(r)
        for r in [
            *PROJECT["dependencies"],
            *PROJECT["optional-dependencies"]["sandbox"],
            *PROJECT["optional-dependencies"]["aiohttp"],
        ]
    }


def test_a_requirement_without_a_floor_is_refused(tmp_path: Path) -> None:
    # The floor reader fails on `name` or `name<3`: an unbounded dependency has no tested floor.
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["attrs>=23.2", "httpx2<3"]\n'
        "[project.optional-dependencies]\nsandbox = []\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="httpx2<3"):
        _noxfile().declared_floors(pyproject)
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["attrs>=23.2"]\n'
        '[project.optional-dependencies]\nsandbox = ["trustme>=1.1"]\n',
        encoding="utf-8",
    )
    assert _noxfile().declared_floors(pyproject) == {"attrs": "23.2.0", "trustme": "1.1.0"}


def _third_party_imports(folder: Path) -> set[str]:
    found: set[str] = set()
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.partition(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in SHIPPED}


def test_the_core_dependencies_are_exactly_what_the_clients_import() -> None:
    # python-dateutil was once declared and never imported; an import without a declaration
    # would fail on a clean install.
    imported = _third_party_imports(ROOT / "overlay") | _third_party_imports(ROOT / "generated")
    imported -= {"__future__", *OPTIONAL_IMPORTS}
    for module, extra in EXTRA_IMPORTS.items():
        assert module in imported  # the extra is still needed
        assert module in {_requirement_name(r) for r in PROJECT["optional-dependencies"][extra]}
    imported -= set(EXTRA_IMPORTS)
    distributions = metadata.packages_distributions()
    importing = {_normalise(d) for module in imported for d in distributions.get(module, [module])}
    declared = {_requirement_name(r) for r in PROJECT["dependencies"]}
    assert declared == importing


# -- the built artefacts ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return out


def test_the_wheel_carries_the_metadata(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    assert wheel.name == f"tokencancel-{PROJECT['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"tokencancel-{PROJECT['version']}.dist-info"
        fields = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert fields["Version"] == PROJECT["version"]
    assert fields["Requires-Python"] == PROJECT["requires-python"]
    assert fields["License-Expression"] == "MIT"
    assert fields.get_all("License-File") == ["LICENSE"]
    assert f"{info}/licenses/LICENSE" in names
    assert set(fields.get_all("Classifier") or []) == set(PROJECT["classifiers"])
    requires = fields.get_all("Requires-Dist") or []
    for requirement in PROJECT["dependencies"]:
        assert any(_requirement_name(r) == _requirement_name(requirement) for r in requires)
    assert re.search(r"pyyaml>=6\.0\.2; extra == .sandbox.", " ".join(requires))
    assert "tokencancel = tokencancel.__main__:main" in entry_points
    assert "tokencancel-sandbox = tokencancel_sandbox.__main__:main" in entry_points
    assert "tokencancel_sandbox = tokencancel_sandbox.pytest_plugin" in entry_points
    # Every shipped package with its py.typed; the sandbox's specs and rules; nothing else.
    tops = {name.split("/")[0] for name in names}
    assert tops == {*SHIPPED, info}
    for package in SHIPPED:
        assert f"{package}/py.typed" in names
    for spec in ("kbank", "solidgate", "xendit"):
        assert f"tokencancel_sandbox/specs/{spec}.yaml" in names
    assert "tokencancel_sandbox/outcome-rules.toml" in names


def test_the_sdist_builds_the_wheel_and_carries_the_licence(dist: Path) -> None:
    # `python -m build` builds the wheel from the sdist, so the sdist holds what it needs.
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("LICENSE", "README.md", "pyproject.toml", "specs/xendit.yaml"):
        assert needed in names, needed
