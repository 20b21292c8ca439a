"""Measure what the hostile tests assert, and print the figures docs/overlay.md quotes.

    python -m tests.hostile.measure [--runs N] [--deadline SECONDS] [--memory]

Deadlines: each attack of `test_deadlines`, against each provider in turn (one at a time, not
concurrently as in the tests), sync and async, `--runs` times; prints the worst and the median
time past the deadline. `--memory`: the peak-RSS table of `test_memory`, sync and async.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from . import test_deadlines
from .clients import PROVIDERS, RUNNERS
from .hostile_server import RawServer


def deadlines(runs: int) -> None:
    """Print the overshoot past the deadline of every attack, mode and provider."""
    deadline = test_deadlines.DEADLINE
    sys.stdout.write(f"deadline {deadline} s, {runs} runs x {len(PROVIDERS)} providers\n")
    sys.stdout.write("| attack | sync worst | sync median | async worst | async median |\n")
    sys.stdout.write("|---|---|---|---|---|\n")
    for attack in test_deadlines.ATTACKS:
        cells = []
        for run in RUNNERS.values():
            overshoots = []
            for _ in range(runs):
                for provider in PROVIDERS:
                    with RawServer(attack) as server:
                        (ending,) = run(server.url, (provider,), deadline=deadline)
                    assert ending.error is not None, ending
                    overshoots.append(ending.seconds - deadline)
            cells += [
                f"{max(overshoots) * 1000:+.0f} ms",
                f"{statistics.median(overshoots) * 1000:+.0f} ms",
            ]
        sys.stdout.write(f"| {attack.__name__} | {' | '.join(cells)} |\n")


def memory() -> None:
    """Print each memory attack's peak RSS growth and time, sync and async."""
    from .test_memory import measure  # noqa: PLC0415 -- builds the bombs on import

    reports = {mode: measure(mode) for mode in ("sync", "async")}
    sys.stdout.write("| attack | ended in | peak RSS growth sync / async | time sync / async |\n")
    sys.stdout.write("|---|---|---|---|\n")
    for name, line in reports["sync"].items():
        other = reports["async"][name]
        growth = f"{line['peak_growth_kib'] / 1024:.1f} / {other['peak_growth_kib'] / 1024:.1f} MiB"  # type: ignore[operator]
        seconds = f"{line['seconds']} / {other['seconds']} s"
        sys.stdout.write(f"| {name} | {line['ended_in']} | {growth} | {seconds} |\n")


def main() -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(prog="python -m tests.hostile.measure")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=test_deadlines.DEADLINE)
    parser.add_argument("--memory", action="store_true")
    options = parser.parse_args()
    test_deadlines.DEADLINE = options.deadline  # the attacks time their stalls from it
    deadlines(options.runs)
    if options.memory:
        memory()


if __name__ == "__main__":
    main()
