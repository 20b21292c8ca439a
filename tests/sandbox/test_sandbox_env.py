"""Shell-friendly: the client's environment from env(), GET /_sandbox/env and the CLI's stdout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx2
from tokencancel_sandbox import (
    OUTCOME_RULES_PATH,
    KBankCredentials,
    Sandbox,
    SandboxConfig,
)

from .sandbox_helpers import SandboxProcess

CLIENT_VARIABLES = {
    "KBANK_PARTNER_ID",
    "KBANK_PARTNER_SECRET",
    "KBANK_BASE_URL",
    "SOLIDGATE_PUBLIC_KEY",
    "SOLIDGATE_SECRET_KEY",
    "SOLIDGATE_BASE_URL",
    "XENDIT_SECRET_KEY",
    "XENDIT_BASE_URL",
    "TOKENCANCEL_OUTCOME_RULES",
}
SH = shutil.which("sh") or "/bin/sh"


def _shell_env(exports: str, names: set[str]) -> dict[str, str]:
    """What a POSIX shell has for `names` after `eval "$exports"`."""
    script = 'eval "$EXPORTS"\n' + "".join(
        f"printf '%s\\0%s\\0' {name} \"${name}\"\n" for name in sorted(names)
    )
    result = subprocess.run(
        [SH, "-c", script],
        env={"EXPORTS": exports, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
        timeout=30,
    )
    fields = result.stdout.decode().split("\0")[:-1]
    return dict(zip(fields[::2], fields[1::2], strict=True))


def test_env_names_every_variable_the_client_needs(sandbox: Sandbox) -> None:
    # Credentials and base URLs of all three providers, and the outcome-rules file.
    env = sandbox.env()
    assert set(env) == CLIENT_VARIABLES
    assert env["TOKENCANCEL_OUTCOME_RULES"] == str(OUTCOME_RULES_PATH)
    assert Path(env["TOKENCANCEL_OUTCOME_RULES"]).is_file()
    assert env["XENDIT_BASE_URL"] == sandbox.base_url("xendit")


def test_get_env_answers_export_lines_a_shell_can_eval(
    sandbox: Sandbox, http: httpx2.Client
) -> None:
    # eval "$(curl -s .../_sandbox/env)" sets exactly env() in a POSIX shell.
    response = http.get(f"{sandbox.url}/_sandbox/env")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == sandbox.exports()
    assert all(line.startswith("export ") for line in response.text.splitlines())
    assert _shell_env(response.text, CLIENT_VARIABLES) == sandbox.env()


def test_exports_quote_values_a_shell_would_otherwise_expand(http: httpx2.Client) -> None:
    # A secret with a quote, a dollar, a backtick and a space survives eval unchanged.
    secret = "it's $HOME `id` & me"
    config = SandboxConfig(kbank=KBankCredentials("KP2SBX000000001", secret))
    with Sandbox.start(port=0, config=config) as sandbox:
        exports = http.get(f"{sandbox.url}/_sandbox/env").text
    assert _shell_env(exports, {"KBANK_PARTNER_SECRET"}) == {"KBANK_PARTNER_SECRET": secret}


def test_env_only_answers_get(sandbox: Sandbox, http: httpx2.Client) -> None:
    # The endpoint is read-only: POST is a 405 from the control API.
    assert http.post(f"{sandbox.url}/_sandbox/env").status_code == 405


def test_the_cli_prints_comments_then_the_exports(tmp_path: Path) -> None:
    # The CLI's stdout is shell script: a comment naming the URL, then the env as exports.
    process = SandboxProcess(log_path=tmp_path / "sandbox.log")
    try:
        assert process.process.stdout is not None
        lines = [process.banner]
        while not (line := process.process.stdout.readline()).startswith(
            "export TOKENCANCEL_OUTCOME"
        ):
            assert line, "the CLI stopped before printing every export"
            lines.append(line)
        lines.append(line)
        served = httpx2.get(f"{process.url}/_sandbox/env").text
    finally:
        process.close()
    printed = "".join(lines)
    assert all(line.startswith(("# ", "export ")) for line in lines)
    assert "".join(line for line in lines if line.startswith("export ")) == served
    assert _shell_env(printed, {"XENDIT_BASE_URL"}) == {"XENDIT_BASE_URL": f"{process.url}/xendit"}


def test_urls_of_a_wildcard_bind_name_a_reachable_host() -> None:
    # Bound to every interface, URLs say 127.0.0.1 (or the TLS host name), never 0.0.0.0. (The
    # bound address is set by hand: tests listen on loopback only.)
    with Sandbox.start(port=0) as sandbox:
        sandbox.host = "0.0.0.0"  # noqa: S104 -- the address being named, not bound
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
    with Sandbox.start(port=0, tls=True, tls_hostnames=["sandbox"]) as sandbox:
        sandbox.host = "0.0.0.0"  # noqa: S104
        assert sandbox.url == f"https://sandbox:{sandbox.port}"
        assert sandbox.env()["KBANK_BASE_URL"] == f"https://sandbox:{sandbox.port}/kbank/v1"
