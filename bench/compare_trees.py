"""Per-call CPU and latency of the typed client in several source trees, side by side in one run.

    git worktree add /tmp/before 803496a
    .venv/bin/python bench/compare_trees.py /tmp/before .

Each tree's `overlay/` and `generated/` run in a long-lived process of their own (this venv's
packages, that tree's code), driven over a pipe in rotating order, so the trees meet the same
machine noise: CPU per call with `httpx2.MockTransport` answering, and latency per call over
loopback against one canned server (`_canned_server.py`). CPU is printed as the median and the
best of the rounds: on a shared machine the best is the steadier estimate of a tree's own
cost, since other processes only ever add to it. It is how the `JoiningClient` removal
was measured (docs/bulk-and-bench.md, "Overhead cut"). Older trees are driven through the
public calls only (`from_env`, `cancel_<provider>`), with whichever transport argument they take.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _raw
from bench.run import CannedServer

WORKER = """
import inspect, json, sys, time
tree, env, answers = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
sys.path[:0] = [tree + "/overlay", tree + "/generated"]
import httpx2, tokencancel
from tokencancel import TokenCancelClient
assert tokencancel.__file__.startswith(tree), tokencancel.__file__
tokens = json.loads(sys.argv[4])
def client_for(provider, answer):
    own = {k: v for k, v in env.items() if k.startswith(provider.upper())}
    if answer is None:
        return TokenCancelClient.from_env(own)
    mock = httpx2.MockTransport(lambda _: httpx2.Response(
        200, content=answer, headers={"Content-Type": "application/json"}))
    if "transport" in inspect.signature(TokenCancelClient.from_env).parameters:
        return TokenCancelClient.from_env(own, transport=mock)
    return TokenCancelClient.from_env(own, transport_factory=lambda _: mock)
def call(client, provider):
    token, reference1 = tokens[provider]
    if reference1 is not None:
        return getattr(client, "cancel_" + provider)(token, reference1=reference1)
    return getattr(client, "cancel_" + provider)(token)
clients = {}
for line in sys.stdin:
    kind, provider, count = line.split()
    key = (kind, provider)
    if key not in clients:
        answer = bytes.fromhex(answers[provider]) if kind == "cpu" else None
        clients[key] = client_for(provider, answer)
        for _ in range(100):
            call(clients[key], provider)
    client = clients[key]
    if kind == "cpu":
        started = time.process_time_ns()
        for _ in range(int(count)):
            call(client, provider)
        print(json.dumps((time.process_time_ns() - started) / int(count) / 1000), flush=True)
    else:
        samples = []
        for _ in range(int(count)):
            started = time.perf_counter_ns()
            call(client, provider)
            samples.append((time.perf_counter_ns() - started) / 1000)
        print(json.dumps(samples), flush=True)
"""


class Worker:
    """One tree's client in its own process."""

    def __init__(self, tree: Path, env: dict[str, str]) -> None:
        answers = {
            name: baseline.canned_answer(*baseline.sample_token).hex()
            for name, baseline in _raw.BASELINES.items()
        }
        tokens = {name: baseline.sample_token for name, baseline in _raw.BASELINES.items()}
        self._process = subprocess.Popen(  # noqa: S603 -- our own interpreter and script
            [
                sys.executable,
                "-c",
                WORKER,
                str(tree.resolve()),
                json.dumps(env),
                json.dumps(answers),
                json.dumps(tokens),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> Any:
        """Run one measurement and return its figures."""
        stdin: IO[str] | None = self._process.stdin
        stdout: IO[str] | None = self._process.stdout
        assert stdin is not None  # noqa: S101
        assert stdout is not None  # noqa: S101
        stdin.write(command + "\n")
        stdin.flush()
        return json.loads(stdout.readline())

    def close(self) -> None:
        """End the process."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)


def main() -> None:
    """Measure every tree named on the command line, rotating which goes first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    trees: list[Path] = args.trees
    with CannedServer() as canned:
        workers = [Worker(tree, canned.env) for tree in trees]
        try:
            for provider in _raw.BASELINES:
                cpu: list[list[float]] = [[] for _ in trees]
                latency: list[list[float]] = [[] for _ in trees]
                for round_number in range(args.rounds):
                    order = [(round_number + offset) % len(trees) for offset in range(len(trees))]
                    for index in order:
                        cpu[index].append(workers[index].ask(f"cpu {provider} 1000"))
                    for index in order:
                        latency[index] += workers[index].ask(f"latency {provider} 200")
                for index, tree in enumerate(trees):
                    ordered = sorted(latency[index])
                    median_cpu = statistics.median(cpu[index])
                    print(
                        f"{provider:<10} {tree!s:<28} CPU/call {median_cpu:6.1f}"
                        f" (best {min(cpu[index]):6.1f})"
                        f" us  latency median {statistics.median(ordered):6.1f} us"
                        f"  p90 {ordered[int(0.9 * len(ordered))]:6.1f} us"
                    )
        finally:
            for worker in workers:
                worker.close()


if __name__ == "__main__":
    main()
