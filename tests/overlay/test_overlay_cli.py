"""`tokencancel cancel` end to end against a loopback server: output, exit codes, hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tokencancel._cli
from tokencancel._cli import main
from tokencancel.providers.solidgate import solidgate_signature
from tokencancel.providers.xendit import xendit_authorization

from .loopback_server import (
    KBANK_PARTNER_SECRET,
    KBANK_TOKEN,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    SOLIDGATE_TOKEN,
    XENDIT_SECRET_KEY,
    XENDIT_TOKEN,
    CaptureServer,
    Reply,
    html_reply,
    json_reply,
)

SECRETS = (
    KBANK_PARTNER_SECRET,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    XENDIT_SECRET_KEY,
    xendit_authorization(XENDIT_SECRET_KEY).removeprefix("Basic "),
    solidgate_signature(
        SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, json.dumps({"token": SOLIDGATE_TOKEN}).encode()
    ),
)
KBANK_CANCELLED = {
    "partnerTxnUid": "X",
    "partnerId": "KP2XXX000033159",
    "statusCode": "00",
    "tokenList": [{"tokenId": KBANK_TOKEN, "reference1": "ORDER-0001", "status": "CANCELLED"}],
}


def run(argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]):
    code = main(argv, env)
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out
        assert secret not in err
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "reply", "outcome", "path"),
    [
        (
            ["cancel", "kbank", KBANK_TOKEN, "--reference1", "ORDER-0001"],
            json_reply(200, KBANK_CANCELLED),
            "cancelled",
            "/v1/kplus/payment/cancel-token",
        ),
        (
            ["cancel", "solidgate", SOLIDGATE_TOKEN],
            json_reply(200, {"status": "processing"}),
            "cancellation_pending",
            "/api/v1/recurring-token/cancel",
        ),
        (
            ["cancel", "xendit", XENDIT_TOKEN],
            json_reply(200, {"payment_token_id": XENDIT_TOKEN, "status": "CANCELED"}),
            "cancelled",
            f"/v3/payment_tokens/{XENDIT_TOKEN}/cancel",
        ),
    ],
    ids=["kbank", "solidgate", "xendit"],
)
def test_cancel_prints_the_normalised_result(server, env, capsys, argv, reply, outcome, path):  # noqa: PLR0917 -- pytest passes fixtures and parameters by name
    """Success: exit 0, one JSON object on stdout with the outcome and the provider's answer."""
    server.script(reply)
    code, out, err = run(argv, env, capsys)
    assert code == 0
    assert err == ""
    assert out.count("\n") == 1
    printed = json.loads(out)
    assert printed["outcome"] == outcome
    assert printed["provider"] == argv[1]
    assert printed["token_id"] == argv[2]
    assert printed["response"] == json.loads(reply.body)
    assert [request.path for request in server.requests] == [path]
    assert_wire_format(argv[1], server.requests[0])


def assert_wire_format(provider: str, request) -> None:
    """The request carries exactly what docs/providers.md describes for `provider`."""
    assert request.method == "POST"
    if provider == "kbank":
        body = request.json()
        # Body credentials only, as KBank's current page documents (KBANK_PARTNER_HEADERS=0).
        assert body["partnerId"] == "KP2XXX000033159"
        assert body["partnerSecret"] == KBANK_PARTNER_SECRET
        assert "partner-secret" not in request.headers
        assert set(body) == {
            "partnerTxnUid",
            "partnerId",
            "partnerSecret",
            "requestDt",
            "tokenId",
            "reference1",
        }
        assert isinstance(body["requestDt"], int)
        assert len(body["partnerTxnUid"]) <= 15
    elif provider == "solidgate":
        assert (
            request.body == json.dumps({"token": SOLIDGATE_TOKEN}, separators=(",", ":")).encode()
        )
        assert request.headers["merchant"] == SOLIDGATE_PUBLIC_KEY
        assert request.headers["signature"] == solidgate_signature(
            SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, request.body
        )
    else:
        assert request.body == b""
        assert request.headers["authorization"] == xendit_authorization(XENDIT_SECRET_KEY)
        assert request.headers["api-version"] == "2024-11-11"


def test_kbank_partner_txn_uid_is_printed_and_can_be_chosen(server, env, capsys):
    """--partner-txn-uid goes on the wire and comes back as request_id."""
    server.script(json_reply(200, KBANK_CANCELLED))
    argv = ["cancel", "kbank", KBANK_TOKEN, "--reference1", "R", "--partner-txn-uid", "ABC123"]
    code, out, _ = run(argv, env, capsys)
    assert code == 0
    assert json.loads(out)["request_id"] == "ABC123"
    assert server.requests[0].json()["partnerTxnUid"] == "ABC123"


@pytest.mark.parametrize(
    ("argv", "reply", "expected_code", "fragment"),
    [
        (
            ["cancel", "xendit", XENDIT_TOKEN],
            json_reply(404, {"error_code": "DATA_NOT_FOUND", "message": "ID not found"}),
            1,
            "DATA_NOT_FOUND",
        ),
        (
            ["cancel", "solidgate", SOLIDGATE_TOKEN],
            json_reply(200, {"error": {"code": "1.01", "messages": ["Authentication failed"]}}),
            2,
            "authentication failed",
        ),
        (
            ["cancel", "kbank", KBANK_TOKEN, "--reference1", "R"],
            json_reply(200, {"statusCode": "10", "errorCode": "KP9999", "errorDesc": "internal"}),
            3,
            "KP9999",
        ),
        (["cancel", "xendit", XENDIT_TOKEN], html_reply(502), 3, "HTTP 502"),
        (["cancel", "solidgate", SOLIDGATE_TOKEN], Reply(200, b""), 3, "empty body"),
        (
            ["cancel", "kbank", KBANK_TOKEN, "--reference1", "R"],
            Reply(200, b'{"statusC'),
            3,
            "not JSON",
        ),
        (["cancel", "xendit", XENDIT_TOKEN], json_reply(200, {"status": "WHO"}), 3, "'WHO'"),
        (
            ["cancel", "xendit", XENDIT_TOKEN, "--timeout", "0.2"],
            Reply(200, b"{}", delay=1.0),
            3,
            "timed out",
        ),
        (["cancel", "xendit", XENDIT_TOKEN], Reply(drop=True), 3, "no answer"),
    ],
    ids=["404", "auth", "kbank-error", "html", "empty", "truncated", "enum", "slow", "reset"],
)
def test_failures_are_one_line_with_the_documented_exit_code(  # noqa: PLR0917 -- pytest passes fixtures and parameters by name
    server, env, capsys, argv, reply, expected_code, fragment
):
    """Refusals exit 1, rejected credentials 2, unknown outcomes 3; stderr is one readable line."""
    server.script(reply, reply, reply)
    code, out, err = run(argv, env, capsys)
    assert code == expected_code
    assert out == ""
    error_lines = [line for line in err.splitlines() if "tokencancel: error:" in line]
    assert len(error_lines) == 1
    assert err.endswith(error_lines[0] + "\n")
    assert error_lines[0].startswith("tokencancel: error: ")
    assert fragment in error_lines[0]


@pytest.mark.parametrize(
    ("argv", "env_change", "fragment"),
    [
        (["cancel", "kbank", KBANK_TOKEN], {}, "--reference1"),
        (["cancel", "xendit", XENDIT_TOKEN, "--reference1", "R"], {}, "does not apply to xendit"),
        (["cancel", "paypal", "x"], {}, "invalid choice"),
        (["cancel", "xendit"], {}, "TOKEN_ID"),
        (["refund", "xendit", "x"], {}, "invalid choice"),
        ([], {}, "required"),
        (["cancel", "xendit", XENDIT_TOKEN, "--timeout", "-1"], {}, "more than 0"),
        (["cancel", "xendit", XENDIT_TOKEN], {"XENDIT_SECRET_KEY": ""}, "XENDIT_SECRET_KEY"),
        (
            ["cancel", "xendit", XENDIT_TOKEN],
            {"XENDIT_BASE_URL": "http://example.com"},
            "XENDIT_BASE_URL",
        ),
        (
            ["cancel", "kbank", "T", "--reference1", "R"],
            {"KBANK_PARTNER_ID": ""},
            "KBANK_PARTNER_ID",
        ),
        (["cancel", "solidgate", "T"], {"SOLIDGATE_SECRET_KEY": ""}, "SOLIDGATE_SECRET_KEY"),
    ],
)
def test_usage_and_configuration_errors_exit_2_and_send_nothing(  # noqa: PLR0917 -- pytest passes fixtures and parameters by name
    server, env, capsys, argv, env_change, fragment
):
    """Bad arguments or configuration: exit 2, one line naming the problem, no request."""
    code, out, err = run(argv, {**env, **env_change}, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("tokencancel: error: ")
    assert fragment in err
    assert server.requests == []


def test_a_token_id_out_of_spec_exits_1_and_sends_nothing(server, env, capsys):
    """A token id the spec forbids is input that cannot be sent: exit 1, as in bulk."""
    code, out, err = run(["cancel", "xendit", "pt-short"], env, capsys)
    assert code == 1
    assert out == ""
    assert "exactly 39 characters" in err
    assert server.requests == []


@pytest.mark.parametrize("argv", [["--help"], ["cancel", "--help"], ["--version"]])
def test_help_everywhere(capsys, argv):
    """--help documents the command and its exit codes; it exits 0."""
    code = main(argv, {})
    out, _ = capsys.readouterr()
    assert code == 0
    assert "tokencancel" in out
    if "--help" in argv:
        assert "exit codes" in out


def test_cancel_help_names_the_environment(capsys):
    """The cancel subcommand's help lists the variables it reads."""
    main(["cancel", "--help"], {})
    out, _ = capsys.readouterr()
    for variable in ("KBANK_PARTNER_SECRET", "SOLIDGATE_SECRET_KEY", "XENDIT_BASE_URL"):
        assert variable in out


def test_verbose_logs_debug_with_secrets_redacted(server, env, capsys):
    """-v shows httpx2 and httpcore2 debug lines on stderr, with every credential redacted."""
    echoed = (("Authorization", xendit_authorization(XENDIT_SECRET_KEY)),)
    server.script(json_reply(200, {"status": "CANCELED"}, *echoed))
    code, out, err = run(["cancel", "xendit", XENDIT_TOKEN, "-v"], env, capsys)
    assert code == 0
    assert "DEBUG httpcore2" in err
    assert "HTTP Request: POST" in err
    assert "[REDACTED]" in err
    assert json.loads(out)["outcome"] == "cancelled"


def test_verbose_is_accepted_before_the_subcommand(server, env, capsys):
    """`tokencancel -v cancel ...` works too."""
    server.script(json_reply(200, {"status": "CANCELED"}))
    code, _, err = run(["-v", "cancel", "xendit", XENDIT_TOKEN], env, capsys)
    assert code == 0
    assert "DEBUG" in err


def test_interrupt_exits_130_without_traceback(env, capsys, monkeypatch):
    """Ctrl-C during a cancel ends with exit 130 and one line."""

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tokencancel._cli.TokenCancelClient, "cancel", interrupted)
    code, _, err = run(["cancel", "xendit", XENDIT_TOKEN], env, capsys)
    assert code == 130
    assert err == "tokencancel: error: interrupted\n"


def test_a_bug_exits_4_with_one_line(env, capsys, monkeypatch):
    """An internal error is reported on one line with exit 4, not a traceback."""

    def broken(*_args, **_kwargs):
        raise RuntimeError(XENDIT_SECRET_KEY)

    monkeypatch.setattr(tokencancel._cli.TokenCancelClient, "cancel", broken)
    code, _, err = run(["cancel", "xendit", XENDIT_TOKEN], env, capsys)
    assert code == 4
    assert err.startswith("tokencancel: error: internal error (RuntimeError)")


def test_the_installed_console_script(server: CaptureServer, env: dict[str, str]):
    """The `tokencancel` script declared in pyproject runs the CLI in a fresh process."""
    server.script(json_reply(200, {"status": "CANCELED"}))
    script = Path(sys.executable).with_name("tokencancel")
    completed = subprocess.run(
        [str(script), "cancel", "xendit", XENDIT_TOKEN],
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["outcome"] == "cancelled"
    assert completed.stderr == ""
