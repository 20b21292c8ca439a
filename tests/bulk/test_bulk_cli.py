"""`tokencancel bulk` end to end against the sandbox: outcomes, resume, input, credentials."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tokencancel_sandbox import Sandbox

from .conftest import read_output, run_bulk_cli

UNKNOWN_XENDIT_TOKEN = "pt-00000000-0000-4000-8000-00000000dead"


def test_mixed_outcomes_are_each_recorded_and_only_failures_are_redone(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Every token gets the outcome its fault calls for; a re-run retries only transient ones."""
    tokens = {
        "active": sandbox.create_token("xendit"),
        "inactive": sandbox.create_token("xendit", status="CANCELED"),
        "unknown": UNKNOWN_XENDIT_TOKEN,
        "503 once": sandbox.create_token("xendit", fault="503", fault_times=1),
        "429 once": sandbox.create_token("xendit", fault="429", fault_times=1),
        "500": sandbox.create_token("xendit", fault="500"),
        "502 html": sandbox.create_token("xendit", fault="502-html"),
        "truncated": sandbox.create_token("xendit", fault="truncated"),
        "too short": "pt-short",
    }
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join([*tokens.values(), "not a token id"]) + "\n")
    output = tmp_path / "out.jsonl"

    first = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    entries = read_output(output)
    by_token = {entry["token_id"]: entry for entry in entries}
    expected = {
        "active": ("cancelled", True, 1),
        "inactive": ("already_inactive", True, 1),
        "unknown": ("not_found", True, 1),
        "503 once": ("cancelled", True, 2),
        "429 once": ("cancelled", True, 2),
        "500": ("error", False, 1),
        "502 html": ("error", False, 1),
        "truncated": ("error", False, 1),
        "too short": ("invalid_input", True, 0),
    }
    for name, (outcome, done, attempts) in expected.items():
        entry = by_token[tokens[name]]
        assert (entry["outcome"], entry["done"], entry["attempts"]) == (outcome, done, attempts), (
            name
        )
    malformed = [entry for entry in entries if entry["token_id"] is None]
    assert [(entry["outcome"], entry["line"]) for entry in malformed] == [("invalid_input", 10)]
    assert first.exit_code == 3  # transient failures remain: re-run to retry them
    assert first.summary["recorded"] == 10

    second = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    redone = read_output(output)[len(entries) :]
    assert sorted(entry["token_id"] for entry in redone) == sorted(
        tokens[name] for name in ("500", "502 html", "truncated")
    )
    assert second.summary["skipped_done"] == 7
    assert second.exit_code == 3


def test_second_run_with_the_same_output_redoes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """A finished run's output makes a re-run send no request and write no line."""
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"{sandbox.create_token('xendit')}\n" for _ in range(30)))
    output = tmp_path / "out.jsonl"

    first = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")
    lines_after_first = output.read_text()
    second = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    assert first.exit_code == 0
    assert Counter(entry["outcome"] for entry in read_output(output)) == {"cancelled": 30}
    assert second.exit_code == 0
    assert output.read_text() == lines_after_first
    assert (second.summary["recorded"], second.summary["requests_sent"]) == (0, 0)
    assert second.summary["skipped_done"] == 30


def test_a_line_cut_short_by_a_crash_is_left_in_place_and_its_token_checked_again(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A partial last line (a crash mid-write) is kept, reported, and its token done again."""
    ids = tmp_path / "ids.txt"
    tokens = [sandbox.create_token("xendit") for _ in range(3)]
    ids.write_text("\n".join(tokens) + "\n")
    output = tmp_path / "out.jsonl"
    run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")
    complete = output.read_text().splitlines(keepends=True)
    # Cut the last line in half, as a power cut in the middle of a write would.
    cut = "".join(complete[:-1]) + complete[-1][:25]
    output.write_text(cut)
    cut_token = json.loads(complete[-1])["token_id"]

    rerun = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    text = output.read_text()
    assert text.startswith(cut + "\n")  # nothing before the cut was touched
    lines = text.splitlines()
    assert lines[2] == complete[-1][:25]  # the partial line, left as it was
    entries = [json.loads(line) for line in lines[:2] + lines[3:]]  # the rest parses
    assert [entry["token_id"] for entry in entries[2:]] == [cut_token]
    assert entries[-1]["outcome"] == "already_inactive"  # it had been cancelled before the cut
    assert "line 3" in rerun.stderr
    assert rerun.exit_code == 0


def test_malformed_jsonl_lines_are_reported_and_do_not_stop_the_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Broken lines become invalid_input with a reason; the tokens around them are cancelled."""
    good = [sandbox.create_token("xendit") for _ in range(2)]
    source = tmp_path / "tokens.jsonl"
    source.write_text(
        f'{{"token_id": "{good[0]}"}}\n'
        '{"token_id": \n'
        '["not", "an", "object"]\n'
        '{"token_id": ""}\n'
        f'{{"token_id": "{good[1]}"}}\n'
    )
    output = tmp_path / "out.jsonl"

    first = run_bulk_cli(sandbox.env(), "xendit", str(source), output, "--rate", "off")
    second = run_bulk_cli(sandbox.env(), "xendit", str(source), output, "--rate", "off")

    entries = read_output(output)
    invalid = sorted(
        (entry["line"], entry["message"])
        for entry in entries
        if entry["outcome"] == "invalid_input"
    )
    assert invalid == [
        (2, "not valid JSON"),
        (3, "not a JSON object"),
        (4, "token_id is missing"),
    ]
    assert {entry["token_id"] for entry in entries if entry["outcome"] == "cancelled"} == set(good)
    assert first.exit_code == 1  # all done, but some lines need a human look
    assert second.summary["recorded"] == 0  # malformed lines are recorded once, not per run
    assert len(entries) == 5


def test_kbank_csv_carries_reference1_and_a_row_without_it_is_invalid(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """KBank rows take reference1 from the CSV; a row lacking it is invalid_input, not sent."""
    first = sandbox.create_token("kbank", reference1="ORDER-1")
    second = sandbox.create_token("kbank", reference1="ORDER-2")
    source = tmp_path / "tokens.csv"
    source.write_text(f"token_id,reference1\n{first},ORDER-1\n{second},\n")
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(sandbox.env(), "kbank", str(source), output)

    by_line = {entry["line"]: entry for entry in read_output(output)}
    assert by_line[2]["token_id"] == first
    assert by_line[2]["outcome"] == "cancelled"
    assert by_line[2]["request_id"]  # KBank's partnerTxnUid, for support requests
    assert by_line[3]["outcome"] == "invalid_input"
    assert "reference1" in by_line[3]["message"]
    assert second in by_line[3]["input"]
    assert run.summary["requests_sent"] == 1 + 1  # the preflight's call, and the first row


def test_stdin_input(sandbox: Sandbox, tmp_path: Path) -> None:
    """`-` reads token ids from stdin."""
    token = sandbox.create_token("solidgate")
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(sandbox.env(), "solidgate", "-", output, stdin=f"{token}\n")

    assert [entry["outcome"] for entry in read_output(output)] == ["cancellation_pending"]
    assert run.exit_code == 0


def test_rejected_credentials_stop_the_run_before_any_cancel(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A wrong key is found by the preflight: exit 2, no token sent, and a fixed re-run does all."""
    tokens = [sandbox.create_token("xendit") for _ in range(40)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n")
    output = tmp_path / "out.jsonl"
    wrong = {**sandbox.env(), "XENDIT_SECRET_KEY": "xnd_development_wrong_key_0000000000"}

    refused = run_bulk_cli(wrong, "xendit", str(ids), output, "--concurrency", "2", "--rate", "off")

    assert refused.exit_code == 2
    assert read_output(output) == []
    assert refused.summary["requests_sent"] == 1  # the check's call only
    assert "wrong credentials" in refused.stderr
    assert {sandbox.token_status("xendit", token) for token in tokens} == {"ACTIVE"}
    assert "wrong_key" not in refused.stderr + output.read_text()

    fixed = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    assert fixed.exit_code == 0
    assert fixed.summary["counts"] == {"cancelled": 40}


def test_without_the_check_rejected_credentials_still_stop_the_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """With --skip-check, the first authentication refusal stops the run and marks nothing done."""
    tokens = [sandbox.create_token("xendit") for _ in range(40)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(tokens) + "\n")
    output = tmp_path / "out.jsonl"
    wrong = {**sandbox.env(), "XENDIT_SECRET_KEY": "xnd_development_wrong_key_0000000000"}

    refused = run_bulk_cli(
        wrong, "xendit", str(ids), output, "--concurrency", "2", "--rate", "off", "--skip-check"
    )

    assert refused.exit_code == 2
    entries = read_output(output)
    assert entries
    assert len(entries) < len(tokens)  # it stopped instead of trying every token
    assert {(entry["error_type"], entry["done"]) for entry in entries} == {
        ("AuthenticationError", False)
    }
    assert refused.summary["check"] is None
    assert "wrong_key" not in refused.stderr + output.read_text()


def test_missing_credentials_are_a_usage_error(tmp_path: Path) -> None:
    """Without the provider's variables the run does not start, and says which one is missing."""
    ids = tmp_path / "ids.txt"
    ids.write_text("pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1\n")

    run = run_bulk_cli({"XENDIT_SECRET_KEY": ""}, "xendit", str(ids), tmp_path / "out.jsonl")

    assert run.exit_code == 2
    assert "XENDIT_SECRET_KEY" in run.stderr
    assert not (tmp_path / "out.jsonl").exists()
