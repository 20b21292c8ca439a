"""One bulk run over a file of Xendit token ids, answered by an in-memory transport; print RSS.

Run in a fresh process per input size, so each peak RSS (`ru_maxrss`) belongs to one run only.
The network is replaced by `httpx2.MockTransport` answering every cancel with Xendit's success,
so the figure is the client's own memory, not a server's.
Usage: python bench/_bulk_memory.py IDS_FILE OUTPUT_FILE
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

import httpx2
from tokencancel import Provider, XenditSettings
from tokencancel.bulk import open_paced_client, read_records, run_bulk

_ANSWER = json.dumps(
    {
        "payment_token_id": "pt-00000000-0000-4000-8000-000000000000",
        "business_id": "5f27a14a9bf05c73dd040bc8",
        "status": "CANCELED",
        "created": "2029-12-31T23:59:59Z",
        "updated": "2029-12-31T23:59:59Z",
    }
).encode()


def _answer(_request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, content=_ANSWER, headers={"Content-Type": "application/json"})


async def _run(ids: Path, output: Path) -> dict[str, object]:
    settings = XenditSettings(
        secret_key="xnd_development_bench",  # noqa: S106 - a fake key; nothing leaves the process
        base_url="http://127.0.0.1:9",
    )
    client, wire_log = open_paced_client(
        settings, rate=None, concurrency=16, inner=httpx2.MockTransport(_answer)
    )
    with ids.open(encoding="utf-8") as source:
        async with client:
            summary = await run_bulk(
                client,
                Provider.XENDIT,
                read_records(source),
                output,
                concurrency=16,
                wire_log=wire_log,
                rate=None,
                install_signal_handlers=False,
            )
    return summary.to_json_dict()


def main() -> None:
    """Run once and print `{"max_rss_kib": ..., "summary": ...}`."""
    ids, output = Path(sys.argv[1]), Path(sys.argv[2])
    started = time.perf_counter()
    summary = asyncio.run(_run(ids, output))
    elapsed = time.perf_counter() - started
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    sys.stdout.write(
        json.dumps({"max_rss_kib": max_rss_kib, "elapsed_seconds": elapsed, "summary": summary})
        + "\n"
    )


if __name__ == "__main__":
    main()
