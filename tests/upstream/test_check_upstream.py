"""make check-upstream: the published pages against our specs, and every way the check fails."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .upstream_helpers import (
    PINNED,
    ROOT,
    edit_xendit_json,
    flagged,
    recorded_lines,
    run,
)

PROVIDERS = ("kbank", "solidgate", "xendit")


def test_the_pinned_pages_differ_from_our_specs_by_exactly_the_recorded_deviations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Today's published pages pass: every difference is recorded, none NEW, none stale."""
    status, out, err = run(capsys)
    assert (status, err) == (0, "")
    for provider in PROVIDERS:
        recorded = recorded_lines(provider)
        assert recorded, provider
        accepted = {
            line.strip().partition(" -- ")[0]
            for line in out.split(f"{provider}: ", 1)[1].split("\n\n", 1)[0].splitlines()
            if " -- accepted: " in line
        }
        assert accepted == recorded
        assert (
            f"{provider}: OK: {len(recorded)} differences, {len(recorded)} accepted, 0 new, 0 stale"
            in out
        )
    assert flagged(out, "NEW") == set()
    assert flagged(out, "stale") == set()
    assert out.rstrip().endswith(
        "check-upstream: every difference from the published pages is a recorded deviation"
    )


def test_the_deliberate_deviations_are_recorded_as_the_check_words_them() -> None:
    """What our specs do on purpose (tolerance, corrections, answers met outside the docs)."""
    assert {
        'enum: response 200 body failure_code: "CAPTURE_AMOUNT_EXCEEDED " only upstream',
        "tolerance: response 200 body status: closed enum upstream, open ours",
        "status: 401: only ours",
        "status: 403: only ours",
        "status: 429: only ours",
    } <= recorded_lines("xendit")
    assert {
        "type: request body requestDt: upstream integer, ours integer|string",
        "type: response 200 body tokenList[].status: upstream array, ours array|string",
    } <= recorded_lines("kbank")


def _add_status_value_remove_property(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    schemas["Payments_API_PaymentTokenStatus"]["enum"].append("SUSPENDED")
    del schemas["Payments_API_PaymentTokenSchema"]["properties"]["business_id"]


def test_xendit_page_with_a_status_value_added_and_a_property_removed_fails_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new token status upstream and a property Xendit no longer documents are both NEW."""
    page = tmp_path / "cancel-payment-token.md"
    original = PINNED["xendit"].read_text(encoding="utf-8")
    page.write_text(edit_xendit_json(original, _add_status_value_remove_property), "utf-8")
    assert '"maxLength": "39"' in page.read_text(encoding="utf-8")  # still as Xendit writes it

    status, out, _ = run(capsys, "--only", "xendit", "--xendit", str(page))
    assert status == 1
    assert flagged(out, "NEW") == {
        'enum: response 200 body status: "SUSPENDED" only upstream',
        "property: response 200 body business_id: only ours",
    }
    assert flagged(out, "stale") == set()
    recorded = len(recorded_lines("xendit"))
    assert (
        f"xendit: CHANGED: {recorded + 2} differences, {recorded} accepted, 2 new, 0 stale" in out
    )


def test_a_new_http_status_and_a_changed_string_typed_limit_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A status Xendit adds, and a limit it publishes as a string ("64"), compare as values."""

    def edit(document: dict[str, Any]) -> None:
        responses = document["paths"]["/v3/payment_tokens/{payment_token_id}/cancel"]["post"][
            "responses"
        ]
        responses["409"] = copy.deepcopy(responses["404"])
        document["components"]["schemas"]["Payments_API_CustomerId"]["maxLength"] = "64"

    page = tmp_path / "page.md"
    page.write_text(edit_xendit_json(PINNED["xendit"].read_text("utf-8"), edit), "utf-8")
    status, out, _ = run(capsys, "--only", "xendit", "--xendit", str(page))
    assert status == 1
    assert flagged(out, "NEW") == {
        "status: 409: only upstream",
        "constraint: response 200 body customer_id: maxLength upstream 64, ours 41",
    }


def test_a_recorded_difference_that_no_longer_occurs_is_stale_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When Xendit documents 401 itself, the recorded '401 only ours' line is stale."""

    def edit(document: dict[str, Any]) -> None:
        responses = document["paths"]["/v3/payment_tokens/{payment_token_id}/cancel"]["post"][
            "responses"
        ]
        # Described as our spec describes it, so that only the recorded line changes.
        responses["401"] = {
            "description": "Unauthorized",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "error_code": {
                                "anyOf": [
                                    {"type": "string", "enum": ["INVALID_API_KEY"]},
                                    {"type": "string"},
                                ]
                            },
                            "message": {"type": "string"},
                            "errors": {
                                "type": "array",
                                "items": {"anyOf": [{"type": "string"}, {"type": "object"}]},
                            },
                        },
                    }
                }
            },
        }

    page = tmp_path / "page.md"
    page.write_text(edit_xendit_json(PINNED["xendit"].read_text("utf-8"), edit), "utf-8")
    status, out, _ = run(capsys, "--only", "xendit", "--xendit", str(page))
    assert status == 1
    assert flagged(out, "NEW") == set()
    assert flagged(out, "stale") == {"status: 401: only ours"}
    assert (
        "status: 401: only ours -- stale: recorded in specs/upstream-deviations.yaml "
        "but no longer occurs" in out
    )


def _solidgate_bundle() -> dict[str, Any]:
    """The pinned bundle with a second operation, as Solidgate's holds its whole API."""
    bundle = json.loads(PINNED["solidgate"].read_text(encoding="utf-8"))
    bundle["paths"]["/v1/charge"] = {
        "post": {
            "operationId": "card-charge",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"amount": {"type": "integer"}}}
                    }
                }
            },
            "responses": {"200": {"description": "Charged"}},
        }
    }
    return bundle


def test_solidgate_bundle_with_a_status_added_a_field_removed_and_a_limit_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operation is picked out of the bundle and each of the three edits is NEW."""
    bundle = _solidgate_bundle()
    operation = bundle["paths"]["/v1/recurring-token/cancel"]["post"]
    operation["responses"]["400"] = {"description": "Bad request"}
    operation["requestBody"]["content"]["application/json"]["schema"]["properties"]["token"][
        "maxLength"
    ] = 36
    gateway = bundle["components"]["schemas"]["APMRevokeTokenError"]["properties"]["error"]
    del gateway["oneOf"][1]["properties"]["recommended_message_for_user"]
    path = tmp_path / "index.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")

    status, out, _ = run(capsys, "--only", "solidgate", "--solidgate", str(path))
    assert status == 1
    assert flagged(out, "NEW") == {
        "status: 400: only upstream",
        "constraint: request body token: maxLength only upstream (36)",
        "property: response 200 body error.recommended_message_for_user: only ours",
    }
    assert flagged(out, "stale") == set()


def test_a_bundle_without_the_operation_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """If Solidgate moves or drops the operation, the check says which one is gone."""
    bundle = _solidgate_bundle()
    del bundle["paths"]["/v1/recurring-token/cancel"]
    path = tmp_path / "index.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    status, out, _ = run(capsys, "--only", "solidgate", "--solidgate", str(path))
    assert status == 1
    assert "operation: POST /v1/recurring-token/cancel: not in the upstream document -- NEW" in out


def test_kbank_table_with_a_field_removed_one_added_and_a_type_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """KBank's markdown tables are compared by field name, type and mandatory flag."""
    page = PINNED["kbank"].read_text(encoding="utf-8")
    rows = page.splitlines()
    reference1 = next(i for i, row in enumerate(rows) if row.startswith("| reference1 "))
    rows[reference1] = "| channel | string | Where the request comes from | APP | Y |"
    edited = "\n".join(rows) + "\n"
    edited = re.sub(r"\| requestDt(\s+)\| long ", r"| requestDt\1| string", edited)
    path = tmp_path / "CancelToken.en.md"
    path.write_text(edited, encoding="utf-8")

    status, out, _ = run(capsys, "--only", "kbank", "--kbank", str(path))
    assert status == 1
    assert flagged(out, "NEW") == {
        "property: request body channel: only upstream",
        "property: request body reference1: only ours",
        "type: request body requestDt: upstream string, ours integer|string",
    }


def test_kbank_mandatory_flag_dropped_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A request field KBank stops marking mandatory differs from our required one."""
    page = PINNED["kbank"].read_text(encoding="utf-8")
    row = re.search(r"^\| tokenId .*\|\s+Y\s+\|$", page, re.MULTILINE)
    assert row is not None
    edited = page.replace(row.group(0), row.group(0)[: row.group(0).rindex("Y")] + "N     |")
    path = tmp_path / "CancelToken.en.md"
    path.write_text(edited, encoding="utf-8")
    status, out, _ = run(capsys, "--only", "kbank", "--kbank", str(path))
    assert status == 1
    assert flagged(out, "NEW") == {
        "required: request body tokenId: optional upstream, required ours"
    }


def test_the_environment_setting_chooses_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """UPSTREAM_XENDIT points the check at another page without any argument."""
    page = tmp_path / "page.md"
    page.write_text(
        edit_xendit_json(PINNED["xendit"].read_text("utf-8"), _add_status_value_remove_property),
        "utf-8",
    )
    status, out, _ = run(capsys, "--only", "xendit", environ={"UPSTREAM_XENDIT": str(page)})
    assert status == 1
    assert out.startswith(f"xendit: {page} against specs/xendit.yaml")


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("# Cancel\n\nNo OpenAPI here.\n", "expected one fenced JSON block, found 0"),
        ("```json\n{}\n```\n\n```json\n{}\n```\n", "expected one fenced JSON block, found 2"),
        ("```json\n{not json\n```\n", "the JSON block does not parse"),
        ('```json\n{"swagger": "2.0"}\n```\n', "not an OpenAPI 3 document"),
    ],
)
def test_an_unreadable_xendit_page_is_a_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], page: str, message: str
) -> None:
    """A page that is not what Xendit publishes stops the check with exit 2 and one line."""
    path = tmp_path / "page.md"
    path.write_text(page, encoding="utf-8")
    status, _, err = run(capsys, "--only", "xendit", "--xendit", str(path))
    assert status == 2
    assert err.count("\n") == 1
    assert message in err


def test_a_kbank_page_without_field_tables_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """KBank's page must hold its request and response tables."""
    path = tmp_path / "CancelToken.md"
    path.write_text("# Cancel Token\n\n**Description**\n\nGone.\n", encoding="utf-8")
    status, _, err = run(capsys, "--only", "kbank", "--kbank", str(path))
    assert status == 2
    assert "expected a 'Request Parameters' and a 'Response Message' field table" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("xendit:\n  - differences: ['status: 401: only ours']\n", "needs exactly 'reason'"),
        ("paypal: []\n", "unknown provider 'paypal'"),
        (
            "xendit:\n  - reason: r\n    differences: [a, a]\n",
            "'a' is recorded twice",
        ),
    ],
)
def test_a_malformed_deviations_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    """The deviations file is checked before anything is compared."""
    path = tmp_path / "deviations.yaml"
    path.write_text(content, encoding="utf-8")
    status, _, err = run(capsys, "--deviations", str(path))
    assert status == 2
    assert message in err


def test_the_command_exits_2_with_one_line_and_no_traceback_on_a_missing_page() -> None:
    """Run as `make check-upstream` runs it: a missing file is one line on stderr, exit 2."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_upstream.py"), "--xendit", "/nonexistent"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr == "check-upstream: /nonexistent: no such file\n"
    assert "Traceback" not in result.stdout + result.stderr


def test_a_kbank_endpoint_moved_to_another_path_is_a_new_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """If the page's endpoint no longer ends with our path, the operation is reported gone."""
    page = PINNED["kbank"].read_text(encoding="utf-8")
    moved = page.replace(
        "12002/kplus/payment/cancel-token\n```", "12002/kplus/v2/payment/cancel-token\n```"
    )
    assert moved != page
    path = tmp_path / "CancelToken.en.md"
    path.write_text(moved, encoding="utf-8")
    status, out, _ = run(capsys, "--only", "kbank", "--kbank", str(path))
    assert status == 1
    assert flagged(out, "NEW") == {
        "operation: POST /kplus/payment/cancel-token: not in the upstream document"
    }
