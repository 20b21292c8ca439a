"""Use a built wheel as a user would, in a fresh virtualenv outside the checkout.

    python scripts/wheel_smoke.py --python python3.12 --dist DIR --workdir DIR [--pytest SPEC]

DIR holds the wheel (and the sdist it was built from) that `python -m build` wrote. In WORKDIR
(which must not be inside this repository) the script:

1. downloads the wheel's dependencies with its `sandbox` extra, and pytest, into a wheelhouse
   (the only step that reaches a package registry), then creates a virtualenv with `--python`
   and installs from the wheelhouse alone (`--no-index`): nothing comes from the checkout;
2. imports every package the wheel ships, from the virtualenv's site-packages, and checks that
   `tokencancel --version` names the wheel's version and that the wheel carries its licence;
3. starts `tokencancel-sandbox --port 0`, keeps the export lines it prints (checking they are
   what `GET /_sandbox/env` serves), and at each provider creates a token and cancels it with
   `tokencancel cancel` in a shell that sourced those lines, as the README says to;
4. runs a user's pytest file that cancels through the `tokencancel_sandbox` fixture.

Every step prints one line; the first failure stops the run with exit 1. Run by `nox -t wheel`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGES = (
    "tokencancel",
    "tokencancel_sandbox",
    "tokencancel_kbank_client",
    "tokencancel_solidgate_client",
    "tokencancel_xendit_client",
)
KBANK_REFERENCE1 = "ORDER-0001"
# Outcomes of a first cancel: Solidgate's is pending until the sandbox settles it.
FIRST_CANCEL_OUTCOMES = {"cancelled", "cancellation_pending"}
STEP_TIMEOUT = 600  # seconds; a wheelhouse download on a slow registry mirror is the slowest

USER_TEST = '''\
"""A user's test suite: the sandbox is a test dependency, through its pytest fixtures."""

import pytest
from tokencancel import CancelOutcome, NotFoundError, TokenCancelClient


@pytest.mark.parametrize("provider", ["kbank", "solidgate", "xendit"])
def test_cancel(tokencancel_sandbox, tokencancel_sandbox_env, provider):
    fields = {"reference1": "ORDER-0001"} if provider == "kbank" else {}
    token_id = tokencancel_sandbox.create_token(provider, **fields)
    with TokenCancelClient.from_env() as client:
        result = client.cancel(provider, token_id, **fields)
    assert result.outcome in {CancelOutcome.CANCELLED, CancelOutcome.CANCELLATION_PENDING}
    assert tokencancel_sandbox.token_status(provider, token_id).upper() != "ACTIVE"


def test_unknown_token(tokencancel_sandbox_env):
    with TokenCancelClient.from_env() as client, pytest.raises(NotFoundError):
        client.cancel_xendit("pt-00000000-0000-0000-0000-000000000000")
'''


class SmokeError(Exception):
    """A step failed; the message says which and why."""


def _step(message: str) -> None:
    print(f"wheel smoke: {message}", flush=True)


def _run(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], what: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise SmokeError(
            f"{what} failed (exit {done.returncode}): {shlex.join(argv)}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return done


def _clean_environment() -> dict[str, str]:
    """This process's environment minus what would reach the checkout or another venv."""
    dropped = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("NOX")}
    # The variables the sandbox exports come from its own lines, not from whoever ran this.
    for name in list(env):
        if name.startswith(("KBANK_", "SOLIDGATE_", "XENDIT_", "TOKENCANCEL_")):
            del env[name]
    return env


def _find_wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob("tokencancel-*.whl"))
    if len(wheels) != 1:
        raise SmokeError(f"expected one tokencancel wheel in {dist}, found {wheels}")
    if not list(dist.glob("tokencancel-*.tar.gz")):
        raise SmokeError(f"no sdist in {dist}: build both (python -m build)")
    return wheels[0]


def install(python: str, wheel: Path, workdir: Path, pytest_spec: str, env: dict[str, str]) -> Path:
    """Create the virtualenv and install the wheel, its sandbox extra and pytest; return bin/."""
    wheelhouse = workdir / "wheelhouse"
    venv = workdir / "venv"
    _run([python, "-m", "venv", str(venv)], cwd=workdir, env=env, what="creating the venv")
    bin_dir = venv / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip", "--disable-pip-version-check"]
    requirement = f"{wheel}[sandbox]"
    _run(
        [*pip, "wheel", "--quiet", "--wheel-dir", str(wheelhouse), requirement, pytest_spec],
        cwd=workdir,
        env=env,
        what="filling the wheelhouse",
    )
    _run(
        [*pip, "install", "--quiet", "--no-index", "--find-links", str(wheelhouse),
         "tokencancel[sandbox]", pytest_spec],
        cwd=workdir,
        env=env,
        what="installing from the wheelhouse alone",
    )  # fmt: skip
    _step(f"installed {wheel.name} [sandbox] and {pytest_spec} from a wheelhouse, no index")
    return bin_dir


def check_imports(bin_dir: Path, wheel: Path, workdir: Path, env: dict[str, str]) -> None:
    """Every shipped package imports from site-packages; version and licence are the wheel's."""
    version = wheel.name.split("-")[1]
    code = textwrap.dedent(
        """
        import importlib, json, sys
        from importlib import metadata
        names = sys.argv[1:]
        files = {n: importlib.import_module(n).__file__ for n in names}
        import tokencancel
        dist = metadata.distribution("tokencancel")
        print(json.dumps({
            "files": files,
            "version": tokencancel.__version__,
            "license": dist.metadata.get("License-Expression"),
            "license_files": [str(f) for f in dist.files if f.name == "LICENSE"],
        }))
        """
    )
    done = _run(
        [str(bin_dir / "python"), "-c", code, *PACKAGES], cwd=workdir, env=env, what="importing"
    )
    facts: dict[str, Any] = json.loads(done.stdout)
    site = bin_dir.parent.resolve()
    for name, file in facts["files"].items():
        path = Path(file).resolve()
        if not path.is_relative_to(site) or path.is_relative_to(REPOSITORY):
            raise SmokeError(f"{name} imported from {path}, not from the venv at {site}")
    if facts["version"] != version:
        raise SmokeError(f"tokencancel.__version__ is {facts['version']}, the wheel {version}")
    if facts["license"] != "MIT" or not facts["license_files"]:
        raise SmokeError(f"licence metadata {facts['license']!r}, files {facts['license_files']}")
    printed = _run(
        [str(bin_dir / "tokencancel"), "--version"], cwd=workdir, env=env, what="--version"
    ).stdout.strip()
    if printed != f"tokencancel {version}":
        raise SmokeError(f"tokencancel --version printed {printed!r}, expected {version}")
    _step(f"imported {', '.join(PACKAGES)} from the venv; {printed}; licence MIT shipped")


class RunningSandbox:
    """`tokencancel-sandbox --port 0` as a child process, and the export lines it printed."""

    def __init__(self, bin_dir: Path, workdir: Path, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [str(bin_dir / "tokencancel-sandbox"), "--port", "0"],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            self.url, self.served_env, self.printed = self._read_announcement()
        except BaseException:
            self.close()
            raise

    def _read_announcement(self) -> tuple[str, str, str]:
        """Where it listens, what `GET /_sandbox/env` serves, and the lines it printed."""
        stdout = self._process.stdout
        if stdout is None:
            raise SmokeError("the sandbox's standard output is not a pipe")
        first = stdout.readline()
        marker = "listening on "
        if marker not in first:
            raise SmokeError(f"the sandbox printed {first!r} instead of where it listens")
        self.url = first.split(marker, 1)[1].split()[0]
        served = self._get("/_sandbox/env").decode()
        expected = sum(line.startswith("export ") for line in served.splitlines())
        printed = [first]
        while sum(line.startswith("export ") for line in printed) < expected:
            line = stdout.readline()
            if not line:
                raise SmokeError("the sandbox's output ended before its export lines")
            printed.append(line)
        return self.url, served, "".join(printed)

    def _get(self, path: str) -> bytes:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + path, timeout=10) as answer:  # noqa: S310 -- the sandbox's own http://127.0.0.1 URL
                    body: bytes = answer.read()
                    return body
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def post(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        """POST JSON to the sandbox's control API and return its JSON answer."""
        request = urllib.request.Request(  # noqa: S310 -- the sandbox's own http://127.0.0.1 URL
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 -- as above
            result: dict[str, Any] = json.loads(answer.read())
            return result

    def token_status(self, provider: str, token_id: str) -> str:
        """The token's status as the sandbox keeps it."""
        described = json.loads(self._get(f"/_sandbox/{provider}/tokens/{token_id}"))
        return str(described["status"])

    def close(self) -> None:
        """Stop the sandbox (SIGTERM, as Ctrl-C would) and wait for it."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


def cancel_through_the_cli(
    sandbox: RunningSandbox, bin_dir: Path, workdir: Path, env: dict[str, str]
) -> None:
    """At each provider: create a token, source the printed exports, `tokencancel cancel` it."""
    exports = workdir / "sandbox.env"
    exports.write_text(sandbox.printed, encoding="utf-8")
    printed_exports = [line for line in sandbox.printed.splitlines() if line.startswith("export")]
    if printed_exports != sandbox.served_env.splitlines():
        raise SmokeError("the printed export lines differ from GET /_sandbox/env")
    # The user's shell: the venv's bin on PATH (as after activating it), nothing else set.
    shell_env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    for provider in ("kbank", "solidgate", "xendit"):
        fields = {"reference1": KBANK_REFERENCE1} if provider == "kbank" else {}
        token_id = str(sandbox.post(f"/_sandbox/{provider}/tokens", fields)["token_id"])
        extra = f" --reference1 {KBANK_REFERENCE1}" if fields else ""
        script = f". ./sandbox.env && tokencancel cancel {provider} {shlex.quote(token_id)}{extra}"
        done = _run(
            ["bash", "-c", script], cwd=workdir, env=shell_env, what=f"{provider} cancel (CLI)"
        )
        result = json.loads(done.stdout)
        if result.get("outcome") not in FIRST_CANCEL_OUTCOMES or result.get("token_id") != token_id:
            raise SmokeError(f"{provider}: unexpected result {result}")
        status = sandbox.token_status(provider, token_id)
        if status.upper() == "ACTIVE":
            raise SmokeError(f"{provider}: the sandbox still has {token_id} active")
        _step(f"{provider}: tokencancel cancel -> {result['outcome']} (sandbox: {status})")


def run_user_tests(bin_dir: Path, workdir: Path, env: dict[str, str]) -> None:
    """A user's pytest file using the `tokencancel_sandbox` fixture passes."""
    project = workdir / "user-project"
    project.mkdir()
    (project / "test_cancel.py").write_text(USER_TEST, encoding="utf-8")
    done = _run(
        [str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        what="the user's pytest file",
    )
    closing = done.stdout.strip().splitlines()[-1]
    if "4 passed" not in closing:
        raise SmokeError(f"the user's tests: {closing}")
    _step(f"a user's pytest file with the tokencancel_sandbox fixture: {closing.strip('= ')}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every step; return 0 when all pass, 1 at the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the interpreter of the fresh venv")
    parser.add_argument("--dist", type=Path, required=True, help="where the wheel and sdist are")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temp dir)")
    parser.add_argument("--pytest", default="pytest", help="pytest requirement for the user")
    arguments = parser.parse_args(argv)
    workdir: Path = arguments.workdir or Path(tempfile.mkdtemp(prefix="tokencancel-smoke-"))
    workdir = workdir.resolve()
    if workdir.is_relative_to(REPOSITORY):
        parser.error(f"--workdir {workdir} is inside the checkout; the point is to be outside")
    workdir.mkdir(parents=True, exist_ok=True)
    env = _clean_environment()
    try:
        wheel = _find_wheel(arguments.dist.resolve())
        bin_dir = install(arguments.python, wheel, workdir, arguments.pytest, env)
        check_imports(bin_dir, wheel, workdir, env)
        sandbox = RunningSandbox(bin_dir, workdir, env)
        try:
            _step(f"tokencancel-sandbox --port 0 listening on {sandbox.url}")
            cancel_through_the_cli(sandbox, bin_dir, workdir, env)
        finally:
            sandbox.close()
        run_user_tests(bin_dir, workdir, env)
    except (SmokeError, subprocess.TimeoutExpired, OSError) as error:
        print(f"wheel smoke: FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    _step(f"passed ({wheel.name}, {arguments.python})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
