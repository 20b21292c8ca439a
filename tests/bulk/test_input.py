"""The bulk input reader: formats, detection, and malformed lines that must not stop a run."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from tokencancel.bulk import InputRecord, InputRefused, read_records


def records(text: str, input_format: str = "auto") -> list[InputRecord]:
    return list(read_records(text.splitlines(keepends=True), input_format))  # type: ignore[arg-type]


def test_plain_ids_one_per_line_skip_blanks_and_comments() -> None:
    """Plain input yields each id with its line number; blank and # lines are not tokens."""
    got = records("pt-a\n\n# a comment\n  pt-b  \r\n")
    assert [(r.line, r.token_id, r.error) for r in got] == [(1, "pt-a", None), (4, "pt-b", None)]


def test_csv_with_header_carries_reference1() -> None:
    """A CSV header naming token_id and reference1 maps each row's columns, in any order."""
    got = records('reference1,token_id\nORDER-1,KP2-1\n"ORDER-2",KP2-2\n')
    assert [(r.line, r.token_id, r.reference1) for r in got] == [
        (2, "KP2-1", "ORDER-1"),
        (3, "KP2-2", "ORDER-2"),
    ]


def test_jsonl_objects_are_detected_and_read() -> None:
    """A first line starting with `{` selects JSONL; token_id and reference1 come from fields."""
    got = records('{"token_id": "KP2-1", "reference1": "R1"}\n{"token_id": "KP2-2"}\n')
    assert [(r.token_id, r.reference1) for r in got] == [("KP2-1", "R1"), ("KP2-2", None)]


@pytest.mark.parametrize(
    ("text", "input_format", "reason"),
    [
        ('{"token_id": "a"}\n{not json\n', "auto", "not valid JSON"),
        ('{"token_id": "a"}\n[1, 2]\n', "auto", "not a JSON object"),
        ('{"token_id": "a"}\n{"token_id": 7}\n', "auto", "token_id must be a string"),
        ('{"token_id": "a"}\n{"reference1": "x"}\n', "auto", "token_id is missing"),
        ("token_id,reference1\nonlyone\n", "auto", "expected 2 CSV fields, found 1"),
        ("token_id,reference1\na,b,c\n", "auto", "expected 2 CSV fields, found 3"),
        ("token_id\nhas space\n", "csv", "token_id must be visible ASCII characters"),
        ("ok\nbad\u00e9id\n", "plain", "token_id must be visible ASCII characters"),
        ("ok\n" + "x" * 300 + "\n", "plain", "token_id is longer than 256 characters"),
    ],
)
def test_a_malformed_line_becomes_a_record_with_a_reason(
    text: str, input_format: str, reason: str
) -> None:
    """Each malformed line yields an error record at its line number, keeping the raw text."""
    got = records(text, input_format)
    bad = got[-1]
    assert bad.line == 2
    assert bad.token_id is None
    assert bad.error is not None
    assert bad.error.startswith(reason)
    assert bad.raw == text.splitlines()[1][:200]


def test_malformed_lines_do_not_stop_reading() -> None:
    """Lines after a malformed one are still read."""
    got = records('{"token_id": "a"}\n{oops\n{"token_id": "b"}\n')
    assert [(r.token_id, r.error is None) for r in got] == [("a", True), (None, False), ("b", True)]


def test_csv_without_token_id_column_refuses_the_input() -> None:
    """A CSV header without token_id refuses the whole input instead of misreading every row."""
    with pytest.raises(InputRefused, match="must name a token_id column"):
        records("id,reference1\nx,y\n", "csv")


def test_reading_is_lazy() -> None:
    """The reader pulls lines only as records are asked for, so input is streamed, not loaded."""
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        for number in itertools.count():
            pulled += 1
            yield f"pt-{number}\n"

    first_three = list(itertools.islice(read_records(endless()), 3))
    assert [r.token_id for r in first_three] == ["pt-0", "pt-1", "pt-2"]
    assert pulled == 3


def test_invalid_records_have_distinct_resume_keys() -> None:
    """Two malformed lines are remembered separately, and never as a token id."""
    got = records("{x\n{y\n", "jsonl")
    keys = {r.resume_key for r in got}
    assert len(keys) == 2
    assert all("\x00" in key for key in keys)
