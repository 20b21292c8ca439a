"""httpx2 is the one HTTP library at run time: the wheel asks for it and not for httpx, nothing
packaged imports httpx, and a process that cancels through both transports never loads it.

httpx stays in the dev environment only because tools need it (schemathesis, the generator);
these tests are what keeps it out of what users install.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
HAND_WRITTEN_AND_GENERATED = ("overlay", "generated", "sandbox", "tests", "bench", "contract")
FORBIDDEN = {"httpx", "httpcore"}  # httpx's own transport package comes only with httpx


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install tokencancel` would get, built from this tree."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("tokencancel-*.whl")
    return built


def requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(name).decode())
    return [Requirement(line) for line in message.get_all("Requires-Dist") or []]


def wanted(requirement: Requirement, extras: Iterable[str]) -> bool:
    """Whether `requirement` applies to an install with `extras` on this Python."""
    if requirement.marker is None:
        return True
    return any(
        requirement.marker.evaluate({**default_environment(), "extra": extra})
        for extra in ("", *extras)
    )


def closure(roots: Iterable[Requirement]) -> set[str]:
    """Every distribution an install of `roots` pulls in, resolved against the pinned venv."""
    seen: set[str] = set()
    pending = [(root, tuple(root.extras)) for root in roots]
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for child in metadata.requires(name) or []:
            parsed = Requirement(child)
            if wanted(parsed, extras):
                pending.append((parsed, tuple(parsed.extras)))
    return seen


def test_the_wheel_requires_httpx2_and_not_httpx(wheel: Path):
    """Requires-Dist: httpx2 (with httpcore2 and attrs) for everyone, aiohttp for the extra, httpx
    for no one."""
    listed = requirements(wheel)
    base = {canonicalize_name(r.name) for r in listed if r.marker is None}
    assert base == {"attrs", "httpx2", "httpcore2"}
    (httpx2,) = [r for r in listed if r.name == "httpx2"]
    assert httpx2.specifier.contains("2.16.2")
    assert not httpx2.specifier.contains("3.0")
    aiohttp_extra = {
        canonicalize_name(r.name)
        for r in listed
        if r.marker is not None and r.marker.evaluate({**default_environment(), "extra": "aiohttp"})
    }
    assert aiohttp_extra == {"aiohttp"}


@pytest.mark.parametrize("extras", [(), ("aiohttp",)], ids=["base", "aiohttp-extra"])
def test_installing_the_wheel_pulls_no_httpx(wheel: Path, extras: tuple[str, ...]):
    """The whole dependency tree of an install (with the pinned versions) has no httpx in it."""
    roots = [r for r in requirements(wheel) if wanted(r, extras)]
    pulled = closure(roots)
    assert "httpx2" in pulled
    assert "httpcore2" in pulled
    if extras:
        assert "aiohttp" in pulled
    assert pulled.isdisjoint(FORBIDDEN), sorted(pulled & FORBIDDEN)


def httpx_imports(source: str, filename: str) -> Iterator[str]:
    """Each `import httpx...` / `from httpx... import` in `source`."""
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name.split(".")[0] in FORBIDDEN:
                yield f"{filename}:{node.lineno}: {name}"


def test_nothing_packaged_imports_httpx(wheel: Path):
    """Every module in the wheel (generated clients, overlay, sandbox) imports httpx2, not httpx."""
    found: list[str] = []
    modules = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith(".py"):
                modules += 1
                found += httpx_imports(archive.read(name).decode(), name)
    assert modules > 50  # the scan saw the packages, not an empty wheel
    assert found == []


def test_no_source_in_the_repository_imports_httpx():
    """Tests, benchmarks and the contract runtime use httpx2 too (tools may use httpx inside)."""
    found: list[str] = []
    for folder in HAND_WRITTEN_AND_GENERATED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += httpx_imports(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []


def test_the_detector_finds_an_httpx_import():
    """The scan above can fail: it flags each form of importing httpx, and not httpx2."""
    source = "import httpx\nimport httpx2\nfrom httpx import Client\nimport httpcore._async\n"
    assert [hit.split(": ")[1] for hit in httpx_imports(source, "x.py")] == [
        "httpx",
        "httpx",
        "httpcore._async",
    ]


CANCEL_THROUGH_BOTH = """
import asyncio, sys
import tokencancel, tokencancel_sandbox, tokencancel.aiohttp_transport, tokencancel.bulk.run
import tokencancel_kbank_client, tokencancel_solidgate_client, tokencancel_xendit_client
from tokencancel import AsyncTokenCancelClient, TokenCancelClient, aiohttp_transport
from tokencancel_sandbox import Sandbox

with Sandbox.start() as sandbox:
    env = sandbox.env()
    tokens = [sandbox.create_token("xendit") for _ in range(3)]
    with TokenCancelClient.from_env(env) as client:
        client.cancel_xendit(tokens[0])

    async def both():
        for token, factory in zip(tokens[1:], (None, aiohttp_transport.factory)):
            options = {} if factory is None else {"transport_factory": factory}
            async with AsyncTokenCancelClient.from_env(env, **options) as client:
                await client.cancel_xendit(token)

    asyncio.run(both())
    states = {sandbox.token_status("xendit", token) for token in tokens}
print(sorted(states), sorted(name for name in sys.modules if name.split(".")[0] in {NAMES}))
"""


def test_a_process_cancelling_through_every_transport_never_loads_httpx():
    """Sync, async and aiohttp cancels against the sandbox: httpx is never even imported."""
    script = CANCEL_THROUGH_BOTH.replace("{NAMES}", repr(FORBIDDEN))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "['CANCELED'] []"
