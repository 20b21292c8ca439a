"""The bulk runner in-process: what happens when the input itself fails mid-run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from tokencancel import Provider, XenditSettings
from tokencancel.bulk import InputRecord, open_paced_client, run_bulk

_CANCELED = json.dumps({"payment_token_id": "x", "status": "CANCELED"}).encode()


def _answer(_request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, content=_CANCELED, headers={"Content-Type": "application/json"})


@pytest.mark.timeout(30)  # without the fix, workers waited forever for input that never came
def test_an_input_read_error_stops_the_run_cleanly(tmp_path: Path) -> None:
    """A read error ends the input: tokens read before it are done, then exit 5 with a reason."""

    def failing_input() -> Iterator[InputRecord]:
        for number in range(3):
            yield InputRecord(
                line=number + 1, token_id=f"pt-{number:08d}-0000-4000-8000-000000000000"
            )
        raise OSError("disk went away")

    async def scenario() -> int:
        settings = XenditSettings(secret_key="xnd_development_test", base_url="http://127.0.0.1:9")
        client, wire_log = open_paced_client(
            settings, rate=None, concurrency=2, inner=httpx2.MockTransport(_answer)
        )
        async with client:
            summary = await run_bulk(
                client,
                Provider.XENDIT,
                failing_input(),
                tmp_path / "out.jsonl",
                concurrency=2,
                wire_log=wire_log,
                rate=None,
                install_signal_handlers=False,
            )
        assert summary.file_error is not None
        assert "disk went away" in summary.file_error
        return summary.exit_code()

    assert asyncio.run(scenario()) == 5
    entries = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(entry["line"] for entry in entries) == [1, 2, 3]
    assert {entry["outcome"] for entry in entries} == {"cancelled"}
