"""The supported-Python matrix: `make matrix` runs every session, `nox -l` lists them.

Sessions (each Python in `PYTHONS`, which pyproject's classifiers must list, a test checks):

- `tests-3.X`: the test suite on that interpreter, with the pinned dev tools (constraints.txt).
  Arguments after `--` choose the tests: `nox -s tests-3.12 -- tests/overlay`.
- `lowest-3.X`: every runtime dependency (the `sandbox` extra's too) at the lowest version
  pyproject.toml declares, resolved by uv's `--resolution lowest-direct`; the session fails if
  a resolved version is not the declared floor (a floor nothing can install is not a floor),
  runs the client tests, then shows that the release below the attrs floor fails them.
- `wheel-3.X`: build the sdist and, from it, the wheel (`python -m build`); install the wheel
  with the `sandbox` extra into a fresh virtualenv outside the checkout and run
  scripts/wheel_smoke.py there (import, `tokencancel --version`, the sandbox, a CLI cancel at
  each provider, a user's pytest file using the `tokencancel_sandbox` fixture).

Tags select a kind across Pythons: `nox -t tests`, `nox -t lowest`, `nox -t wheel`.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHONS = ("3.11", "3.12", "3.13")
# Tools the sessions install beside the project, pinned here because they are not in the dev
# environment (constraints.txt pins what is).
UV = "uv==0.13.9"
BUILD = "build==1.6.1"
# What the lowest-dependency run tests: the client (overlay, providers, types, the CLI) and the
# sandbox, whose extra has floors of its own. The fuzz modules are left out: they test the
# sandbox's parsing at length, not what a dependency version changes, and take minutes.
LOWEST_TESTS = (
    "tests/overlay",
    "tests/providers",
    "tests/typing",
    "tests/cli",
    "tests/sandbox",
    "--ignore=tests/sandbox/test_sandbox_fuzz.py",
    "--ignore=tests/sandbox/test_sandbox_hostile_fuzz.py",
)
# The release below the attrs floor and a test it fails: attrs 23.1.0 cannot cache a property
# on a slotted class (`Answer.decoded`), which broke the first cancel.
BELOW_ATTRS_FLOOR = "attrs==23.1.0"
BELOW_FLOOR_TEST = "tests/overlay/test_overlay_answers.py"

nox.options.sessions = [
    *(f"tests-{version}" for version in PYTHONS),
    *(f"lowest-{version}" for version in PYTHONS),
    *(f"wheel-{version}" for version in PYTHONS),
]
# A Python that is not there fails its sessions: a skipped interpreter is a silent gap.
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True


@functools.cache
def interpreter(version: str) -> str:
    """The `python3.X` to run, found on PATH or, behind pyenv's shims, in pyenv's versions.

    pyenv puts a `python3.12` shim on PATH that fails unless 3.12 is its selected version, so
    a name that is on PATH but does not run is looked up in `pyenv root` instead.
    """
    name = f"python{version}"
    found = shutil.which(name)
    if found and _runs(found):
        return name
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run(  # noqa: S603 -- pyenv, found on PATH, asked for its folder
            [pyenv, "root"], capture_output=True, text=True, check=False
        ).stdout.strip()
        candidates = sorted(Path(root, "versions").glob(f"{version}.*/bin/{name}"), reverse=True)
        for candidate in candidates:
            if _runs(str(candidate)):
                return str(candidate)
    return name  # not found: nox reports it missing, and the session fails


def _runs(executable: str) -> bool:
    """Whether `executable` starts as a Python (a pyenv shim for another version does not)."""
    try:
        done = subprocess.run(  # noqa: S603 -- an interpreter found on PATH or in pyenv's folder
            [executable, "-c", "import sys"], capture_output=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _per_python(
    kind: str,
) -> Callable[[Callable[[nox.Session, str], None]], None]:
    """Register `kind-3.X` for every supported Python, tagged `kind` and `3.X`."""

    def register(body: Callable[[nox.Session, str], None]) -> None:
        for version in PYTHONS:

            def session(session: nox.Session, version: str = version) -> None:
                body(session, version)

            session.__doc__ = f"{body.__doc__} (Python {version})"
            nox.session(
                name=f"{kind}-{version}",
                python=interpreter(version),
                tags=[kind, version],
            )(session)

    return register


def _pins(*names: str) -> list[str]:
    """The constraints.txt pins of `names`: the same tool versions as the dev environment."""
    wanted = {_normalise(name) for name in names}
    pins = [
        line.strip()
        for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines()
        if _normalise(line.partition("==")[0]) in wanted
    ]
    if len(pins) != len(wanted):
        raise ValueError(f"not all of {names} are pinned in constraints.txt")
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


@_per_python("tests")
def tests(session: nox.Session, version: str) -> None:
    """The test suite with the pinned dev tools."""
    del version
    session.install("-c", "constraints.txt", "-e", ".[dev]")
    if not (ROOT / "node_modules" / ".installed").exists():
        # The spec linter's test runs the pinned Redocly CLI (package-lock.json).
        session.run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
    session.run("pytest", *session.posargs)


@_per_python("lowest")
def lowest(session: nox.Session, version: str) -> None:
    """Runtime dependencies at their declared floors, and the client tests."""
    session.install(UV)
    work = Path(session.create_tmp())
    requirements = work / "lowest.txt"
    session.run(
        "uv", "pip", "compile", "pyproject.toml", "--extra", "sandbox", "--extra", "aiohttp",
        "--resolution", "lowest-direct", "--python-version", version,
        "--no-header", "--no-annotate", "--quiet", "-o", str(requirements),
    )  # fmt: skip
    resolved = _read_pins(requirements)
    floors = declared_floors()
    off_floor = {
        name: resolved.get(name) for name, floor in floors.items() if resolved.get(name) != floor
    }
    if off_floor:
        session.error(
            f"resolved above the declared floor (raise the floor in pyproject.toml): {off_floor}; "
            f"declared {floors}"
        )
    session.log(f"floors: {', '.join(f'{n}=={v}' for n, v in sorted(floors.items()))}")
    # The test tools at the dev environment's versions, constrained by the floors, so that none
    # of them can lift a dependency above its floor (pip fails instead).
    session.install(
        "-r", str(requirements), "-c", str(requirements),
        *_pins("pytest", "hypothesis", "pytest-timeout"),
    )  # fmt: skip
    session.install("--no-deps", "-e", ".")
    installed = _installed_versions(session, floors)
    if installed != floors:
        session.error(f"installed {installed}, expected the floors {floors}")
    session.run("pytest", *LOWEST_TESTS, *session.posargs)
    # Below the floor the same tests must fail, or the floor is higher than it needs to be.
    session.install(BELOW_ATTRS_FLOOR)
    session.run("pytest", "-q", "-x", BELOW_FLOOR_TEST, success_codes=[1], silent=True)
    session.log(f"{BELOW_ATTRS_FLOOR} fails {BELOW_FLOOR_TEST}, as expected: the floor is needed")


def declared_floors(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Each runtime requirement (core and the `sandbox` and `aiohttp` extras) and its floor."""
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    extras = project["optional-dependencies"]
    floors: dict[str, str] = {}
    for requirement in [*project["dependencies"], *extras["sandbox"], *extras.get("aiohttp", [])]:
        match = re.fullmatch(
            r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)(?:\s*,.*)?", requirement
        )
        if match is None:
            raise ValueError(f"{requirement!r}: every runtime requirement needs a >= floor")
        floors[_normalise(match.group(1))] = _full_release(match.group(2))
    return floors


def _full_release(version: str) -> str:
    """`23.2` -> `23.2.0`: the release a floor names, spelled as the package publishes it."""
    parts = version.split(".")
    return ".".join(parts + ["0"] * (3 - len(parts))) if len(parts) < 3 else version  # noqa: PLR2004


def _read_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text("utf-8").splitlines():
        name, separator, version = line.partition("==")
        if separator:
            pins[_normalise(name)] = version.strip()
    return pins


def _installed_versions(session: nox.Session, names: dict[str, str]) -> dict[str, str]:
    code = (
        "import json, sys; from importlib import metadata; "
        "print(json.dumps({n: metadata.version(n) for n in sys.argv[1:]}))"
    )
    output = session.run("python", "-c", code, *names, silent=True)
    if not isinstance(output, str):
        session.error("no output from the version check")
    versions: dict[str, str] = json.loads(output.strip().splitlines()[-1])
    return {_normalise(name): version for name, version in versions.items()}


@_per_python("wheel")
def wheel(session: nox.Session, version: str) -> None:
    """Build, install the wheel outside the checkout, and use it as a user would."""
    session.install(BUILD)
    with tempfile.TemporaryDirectory(prefix=f"tokencancel-wheel-{version}-") as scratch:
        dist = Path(scratch, "dist")
        session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT), silent=True)
        session.run(
            "python", str(ROOT / "scripts" / "wheel_smoke.py"),
            "--python", interpreter(version), "--dist", str(dist),
            "--workdir", str(Path(scratch, "user")),
            "--pytest", *_pins("pytest"),
        )  # fmt: skip
