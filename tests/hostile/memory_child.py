"""Run in a process of its own: cancel against each memory attack, report peak RSS and time.

    python -m tests.hostile.memory_child URL MODE [--cap BYTES] ATTACK...

For each attack, one cancel (the provider rotates through all three) against `URL/ATTACK`, sync
or async. After a warm-up cancel that loads every code path, the process's peak resident set
size (`ru_maxrss`) is the baseline; each attack's line gives the peak growth since then, the
error class it ended in, and its wall time. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from .clients import PROVIDERS, run_async, run_sync


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def main(argv: list[str]) -> None:
    """Run every attack named in `argv` and print the report."""
    url, mode, *rest = argv
    options: dict[str, Any] = {"deadline": 20.0}
    if rest[:1] == ["--cap"]:
        options["max_response_bytes"] = int(rest[1])
        rest = rest[2:]
    run = run_sync if mode == "sync" else run_async
    for provider in PROVIDERS:
        warm_up = run(f"{url}/ok", (provider,), **options)[0]
        assert warm_up.result is not None, warm_up
    baseline = _peak_kib()
    report: dict[str, Any] = {"baseline_kib": baseline, "attacks": {}}
    for index, attack in enumerate(rest):
        provider = PROVIDERS[index % len(PROVIDERS)]
        started = time.monotonic()
        ending = run(f"{url}/{attack}", (provider,), **options)[0]
        report["attacks"][attack] = {
            "provider": provider,
            "ended_in": type(ending.error).__name__ if ending.error else "CancelResult",
            "seconds": round(time.monotonic() - started, 3),
            "peak_growth_kib": _peak_kib() - baseline,
        }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main(sys.argv[1:])
