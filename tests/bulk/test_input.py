"""The bulk input reader: formats, detection, and malformed lines that must not stop a run."""

from __future__ import annotations

import io
import itertools
import tracemalloc
from collections.abc import Iterator

import pytest
from tokencancel.bulk import FieldRules, InputRecord, InputRefused, read_records


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


XENDIT_FIELDS = FieldRules(used=(), required=frozenset(), provider="Xendit")
KBANK_FIELDS = FieldRules(
    used=("reference1",), required=frozenset({"reference1"}), provider="KBank"
)
GOOD = b'{"token_id": "pt-good"}\n'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"token_id": "x", "n": ' + b"9" * 5000 + b"}", "not valid JSON"),
        # Deeper than the json parser's nesting limit on 3.11 to 3.13 (a RecursionError; 3.13
        # parses 8,000 levels, so a shallower line would be a valid JSON array there).
        (b"[" * 16_000, "not valid JSON"),
        (b'{"token_id": "a\x00b"}', "not valid JSON"),  # a raw NUL inside a JSON string
        (b'{"token_id": "a\\u0000b"}', "token_id must be visible ASCII"),
        (b'{"token_id": "\xff\xfe"}', "the line is not valid UTF-8"),
        (b'{"token_id": "' + b"x" * 100_000 + b'"}', "the line is longer than 16384 bytes"),
        (b'{"token_id": 1e999999}', "token_id must be a string"),
        (b'{"token_id": ["pt-a"]}', "token_id must be a string"),
    ],
)
def test_any_line_content_is_an_invalid_record_and_reading_goes_on(
    line: bytes, reason: str
) -> None:
    """Whatever a JSONL line holds, it becomes invalid_input and the next line is still read."""
    got = list(read_records(io.BytesIO(GOOD + line + b"\n" + GOOD), "auto", XENDIT_FIELDS))
    assert [record.line for record in got] == [1, 2, 3]
    assert (got[0].token_id, got[2].token_id) == ("pt-good", "pt-good")
    bad = got[1]
    assert bad.token_id is None
    assert bad.error is not None
    assert bad.error.startswith(reason)
    assert len(bad.raw or "") <= 200
    assert len(bad.digest) == 16


class _EndlessLine(io.RawIOBase):
    """A raw stream holding one line of `size` bytes, then a good line; counts read sizes."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.tail = b"\npt-good\n"
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.largest_read = max(self.largest_read, len(buffer))
        if self.left:
            count = min(self.left, len(buffer))
            buffer[:count] = b"x" * count
            self.left -= count
            return count
        count = min(len(self.tail), len(buffer))
        buffer[:count] = self.tail[:count]
        self.tail = self.tail[count:]
        return count


def test_a_50_mb_line_is_skipped_in_bounded_memory() -> None:
    """A line far past the bound is read in fixed pieces and dropped, never held whole."""
    raw = _EndlessLine(50 << 20)
    tracemalloc.start()
    try:
        got = list(read_records(io.BufferedReader(raw, 1 << 16), "plain", XENDIT_FIELDS))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(record.line, record.error is None) for record in got] == [(1, False), (2, True)]
    assert got[0].error == f"the line is longer than 16384 bytes ({(50 << 20) + 1} bytes)"
    assert got[0].raw == "x" * 200
    assert peak < 8 << 20  # a few MiB of buffers, against a 50 MiB line


@pytest.mark.parametrize(
    ("text", "rules", "refusal"),
    [
        ("token_id,reference1\npt-a,ORDER-1\n", XENDIT_FIELDS, "names reference1, which Xendit"),
        ("token_id,comment\npt-a,hello\n", XENDIT_FIELDS, "names comment, which Xendit"),
        ("token_id,token_id\npt-a,pt-b\n", XENDIT_FIELDS, "repeats token_id"),
        ("token_id\nKP2-1\n", KBANK_FIELDS, "KBank needs a reference1 column"),
        ("KP2-1\nKP2-2\n", KBANK_FIELDS, "KBank needs reference1 for every token"),
        ("\xff\n" * 1001, XENDIT_FIELDS, "none of the first 1000 lines can be read"),
    ],
)
def test_an_input_shape_that_cannot_mean_what_it_says_is_refused(
    text: str, rules: FieldRules, refusal: str
) -> None:
    """A column the provider does not use, or lacks, refuses the input before any record."""
    data = text.encode("latin-1") if "\xff" in text else text.encode()
    records_read = read_records(io.BytesIO(data), "auto", rules)
    with pytest.raises(InputRefused, match=refusal):
        next(records_read)


def test_a_jsonl_key_the_provider_does_not_use_makes_that_line_invalid() -> None:
    """JSONL fields are per line: a reference1 for Xendit is invalid_input, not ignored."""
    text = b'{"token_id": "pt-a"}\n{"token_id": "pt-b", "reference1": "ORDER-1"}\n'
    got = list(read_records(io.BytesIO(text), "auto", XENDIT_FIELDS))
    assert [(record.token_id, record.error) for record in got] == [
        ("pt-a", None),
        (None, '"reference1": not used by Xendit (only token_id)'),
    ]


def test_a_utf8_bom_and_crlf_line_ends_are_read_as_plain_text() -> None:
    """A spreadsheet's byte-order mark and CRLF do not become part of the first id."""
    got = list(read_records(io.BytesIO(b"\xef\xbb\xbfpt-a\r\npt-b\r\n"), "auto", XENDIT_FIELDS))
    assert [record.token_id for record in got] == ["pt-a", "pt-b"]
