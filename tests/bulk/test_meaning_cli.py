"""Input that cannot mean what it says is refused, and exit codes mean the same on a re-run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tokencancel_sandbox import Sandbox

from .conftest import read_output, run_bulk_cli, write_ids

UNKNOWN_XENDIT_TOKEN = "pt-00000000-0000-4000-8000-00000000dead"


@pytest.mark.parametrize("provider", ["xendit", "solidgate"])
def test_a_reference1_column_for_a_provider_without_one_is_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path, provider: str
) -> None:
    """A CSV reference1 column would silently mean nothing for Xendit or Solidgate: exit 2."""
    tokens = [sandbox.create_token(provider) for _ in range(3)]
    source = tmp_path / "tokens.csv"
    source.write_text("token_id,reference1\n" + "".join(f"{t},ORDER-1\n" for t in tokens))
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(sandbox.env(), provider, str(source), output, "--rate", "off")

    assert run.exit_code == 2
    assert "names reference1" in run.last_line
    assert "nothing was sent" in run.last_line
    assert not output.exists()
    assert {sandbox.token_status(provider, token) for token in tokens} == {
        "ACTIVE" if provider == "xendit" else "active"
    }


def test_a_jsonl_reference1_for_xendit_makes_that_line_invalid_and_the_rest_go_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """In JSONL each line says what it says: the one with reference1 is invalid_input, not sent."""
    plain, with_reference = sandbox.create_token("xendit"), sandbox.create_token("xendit")
    source = tmp_path / "tokens.jsonl"
    source.write_text(
        json.dumps({"token_id": plain})
        + "\n"
        + json.dumps({"token_id": with_reference, "reference1": "ORDER-1"})
        + "\n"
    )
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(sandbox.env(), "xendit", str(source), output, "--rate", "off")

    by_line = {entry["line"]: entry for entry in read_output(output)}
    assert by_line[1]["outcome"] == "cancelled"
    assert by_line[2]["outcome"] == "invalid_input"
    assert "reference1" in by_line[2]["message"]
    assert sandbox.token_status("xendit", with_reference) == "ACTIVE"
    assert run.exit_code == 1


def test_duplicate_ids_are_sent_once(sandbox: Sandbox, tmp_path: Path) -> None:
    """An input repeating each of 3 ids 50 times sends 3 cancels, and records 147 repeats."""
    tokens = [sandbox.create_token("xendit") for _ in range(3)]
    ids = write_ids(tmp_path / "ids.txt", tokens * 50)
    output = tmp_path / "out.jsonl"

    run = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    entries = read_output(output)
    assert run.summary["requests_sent"] == len(tokens) + 1  # and the preflight's one
    assert [entry["outcome"] for entry in entries].count("cancelled") == 3
    duplicates = [entry for entry in entries if entry["outcome"] == "duplicate"]
    assert len(duplicates) == 147
    assert {entry["duplicate_of"] for entry in duplicates} == {1, 2, 3}
    assert run.exit_code == 0


def test_a_rerun_over_a_finished_output_exits_as_the_first_run_did(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A run that exited 1 (a token not found) exits 1 again when re-run, sending nothing."""
    tokens = [sandbox.create_token("xendit") for _ in range(4)]
    ids = write_ids(tmp_path / "ids.txt", [*tokens, UNKNOWN_XENDIT_TOKEN])
    output = tmp_path / "out.jsonl"

    first = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")
    second = run_bulk_cli(sandbox.env(), "xendit", str(ids), output, "--rate", "off")

    assert first.exit_code == 1
    assert second.exit_code == 1
    assert second.summary["requests_sent"] == 0
    assert second.summary["totals"] == first.summary["totals"] == {"cancelled": 4, "not_found": 1}
    assert "not_found 1" in second.stderr


@pytest.mark.parametrize("value", ["0", "257", "10000000", "-3", "many"])
def test_concurrency_out_of_bounds_is_a_usage_error(tmp_path: Path, value: str) -> None:
    """--concurrency is 1 to 256: anything else is refused at once with a one-line reason."""
    ids = write_ids(tmp_path / "ids.txt", [UNKNOWN_XENDIT_TOKEN])
    started = time.monotonic()

    run = run_bulk_cli(
        {"XENDIT_SECRET_KEY": "xnd_development_unused_000000000000"},
        "xendit",
        str(ids),
        tmp_path / "out.jsonl",
        "--concurrency",
        value,
    )

    assert run.exit_code == 2
    assert "--concurrency" in run.last_line
    assert len(run.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 30  # refused, not attempted
    assert not (tmp_path / "out.jsonl").exists()
