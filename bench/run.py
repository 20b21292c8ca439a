"""`make bench`: tokencancel against hand-built raw calls on the fastest peers, in one run.

Measures, and prints as two tables (also written to bench/results.json):

1. per-call latency over loopback against the sandbox, per provider, typed client vs raw httpx2
   making the same call with the same signing (calls interleaved one by one);
2. client-side CPU per call with the network replaced by `httpx2.MockTransport`;
3. async throughput at concurrency 1, 16 and 64, rate limits off, of tokencancel on httpx2's
   transport and on the aiohttp one, beside raw httpx2, raw httpx2 on the aiohttp transport and
   raw aiohttp, each of ours as a ratio to the raw figure on the same HTTP stack;
4. `tokencancel bulk` against a rate-limited sandbox: achieved rate / allowed rate, 429 answers;
5. peak memory (ru_maxrss) of bulk over 10k and 100k tokens, each in a fresh process;
6. wall time of `make generate` and `make check-generated`.

The sandbox runs in its own process, so it does not share the clients' interpreter lock.
`--quick` shrinks every sample for a smoke run; its figures are not the ones to publish.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tokencancel import (
    AsyncTokenCancelClient,
    ProviderName,
    TokenCancelClient,
    aiohttp_transport,
)
from tokencancel._transport import TransportSettings
from tokencancel.providers import REGISTRY

from bench import _raw
from bench._raw import Token

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PROVIDERS = tuple(REGISTRY)


@dataclass(frozen=True)
class Sizes:
    """How much to measure: the full run, or a smoke run with `--quick`."""

    latency_calls: int
    cpu_batch: int
    cpu_rounds: int
    throughput_calls: dict[int, int]
    throughput_slots: int
    sandbox_throughput_calls: int
    rate_limit: tuple[int, float]
    rate_tokens: int
    memory_sizes: tuple[int, ...]


FULL = Sizes(
    latency_calls=400,
    cpu_batch=1000,
    cpu_rounds=7,
    throughput_calls={1: 100, 16: 320, 64: 640},
    throughput_slots=9,
    sandbox_throughput_calls=200,
    rate_limit=(50, 5.0),
    rate_tokens=250,
    memory_sizes=(10_000, 100_000),
)
QUICK = Sizes(
    latency_calls=40,
    cpu_batch=200,
    cpu_rounds=3,
    throughput_calls={1: 50, 16: 160, 64: 320},
    throughput_slots=2,
    sandbox_throughput_calls=100,
    rate_limit=(20, 2.0),
    rate_tokens=40,
    memory_sizes=(1_000, 10_000),
)


# --------------------------------------------------------------------------------------------
# The sandbox in a child process


class SandboxProcess:
    """A sandbox child process, its environment variables, and token creation through its API."""

    def __init__(self, *rate_limits: str, switch_interval: float | None = None) -> None:
        command = [PYTHON, str(ROOT / "bench" / "_sandbox_child.py")]
        if switch_interval is not None:
            command += ["--switch-interval", str(switch_interval)]
        for limit in rate_limits:
            command += ["--rate-limit", limit]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None  # noqa: S101
        announcement = json.loads(self._process.stdout.readline())
        self.url: str = announcement["url"]
        self.env: dict[str, str] = announcement["env"]
        self._control = httpx2.Client(base_url=self.url, timeout=10)
        self.rate_log: dict[str, Any] = {}

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._control.close()
        assert self._process.stdin is not None  # noqa: S101
        assert self._process.stdout is not None  # noqa: S101
        self._process.stdin.close()
        try:
            self.rate_log = json.loads(self._process.stdout.readline() or "{}")
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def create_tokens(self, provider: str, count: int) -> list[Token]:
        """Create `count` active tokens; return (token id, reference1) pairs."""
        return asyncio.run(self._create_tokens(provider, count))

    async def _create_tokens(self, provider: str, count: int) -> list[Token]:
        created: list[Token] = []
        per_token_reference = "reference1" in REGISTRY[provider].field_names
        numbers = iter(range(count))
        async with httpx2.AsyncClient(base_url=self.url, timeout=10) as control:

            async def worker() -> None:
                for number in numbers:
                    reference1 = f"BENCH{number:07d}" if per_token_reference else None
                    body = {"reference1": reference1} if reference1 else {}
                    answer = await control.post(f"/_sandbox/{provider}/tokens", json=body)
                    answer.raise_for_status()
                    created.append((answer.json()["token_id"], reference1))

            await asyncio.gather(*(worker() for _ in range(16)))
        return created


def settings_for(provider: str, env: Mapping[str, str]) -> Any:
    """The overlay's settings for `provider` from a server's environment variables."""
    return REGISTRY[provider].settings_from_env(env)


def sync_client(
    settings: Any, *, transport: httpx2.BaseTransport | None = None
) -> TokenCancelClient:
    """The typed client configured for the one provider `settings` belong to."""
    if transport is None:
        return TokenCancelClient(settings=[settings])
    mock = transport
    return TokenCancelClient(settings=[settings], transport_factory=lambda _: mock)


_SUCCESS = {"cancelled", "cancellation_pending"}


def _named(provider: str) -> ProviderName:
    """A registry name as the cancel methods' argument type (every benchmarked one is built in)."""
    return cast("ProviderName", provider)


def _check_result(outcome: object) -> None:
    if str(outcome) not in _SUCCESS:
        raise RuntimeError(f"the typed client did not cancel: {outcome}")


# --------------------------------------------------------------------------------------------
# 1. Per-call latency


def bench_latency(sandbox: SandboxProcess, provider: str, calls: int) -> dict[str, Any]:
    """Interleave typed and raw calls one by one; compare median and p90 latencies."""
    warmup = 20
    settings = settings_for(provider, sandbox.env)
    typed_tokens = sandbox.create_tokens(provider, calls + warmup)
    raw_tokens = sandbox.create_tokens(provider, calls + warmup)
    build, check = _raw.BASELINES[provider].raw(sandbox.env)
    typed_ns: list[int] = []
    raw_ns: list[int] = []
    with (
        sync_client(settings) as client,
        httpx2.Client(timeout=10) as raw,
    ):

        def typed_call(token: Token) -> int:
            started = time.perf_counter_ns()
            result = client.cancel(_named(provider), token[0], reference1=token[1])
            elapsed = time.perf_counter_ns() - started
            _check_result(result.outcome)
            return elapsed

        def raw_call(token: Token) -> int:
            started = time.perf_counter_ns()
            url, headers, content = build(*token)
            response = raw.post(url, headers=headers, content=content)
            check(response.status_code, response.content)
            return time.perf_counter_ns() - started

        for index, (typed_token, raw_token) in enumerate(
            zip(typed_tokens, raw_tokens, strict=True)
        ):
            # Alternate who goes first, so neither always meets a warmer server.
            if index % 2:
                pair = (typed_call(typed_token), raw_call(raw_token))
            else:
                raw_elapsed = raw_call(raw_token)
                pair = (typed_call(typed_token), raw_elapsed)
            if index >= warmup:
                typed_ns.append(pair[0])
                raw_ns.append(pair[1])
    return _compare(typed_ns, raw_ns, unit=1e-3, label="us")


def _percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))])


def _compare(typed: list[int], raw: list[int], *, unit: float, label: str) -> dict[str, Any]:
    typed_median = statistics.median(typed) * unit
    raw_median = statistics.median(raw) * unit
    return {
        "unit": label,
        "samples": len(typed),
        "tokencancel_median": round(typed_median, 1),
        "raw_median": round(raw_median, 1),
        "tokencancel_p90": round(_percentile(typed, 0.9) * unit, 1),
        "raw_p90": round(_percentile(raw, 0.9) * unit, 1),
        "ratio": round(typed_median / raw_median, 3),
    }


# --------------------------------------------------------------------------------------------
# 2. CPU per call, network removed


_MOCK_ENV = {
    "XENDIT_SECRET_KEY": "xnd_development_bench_000000000001",
    "XENDIT_BASE_URL": "http://127.0.0.1:9/xendit",
    "SOLIDGATE_PUBLIC_KEY": "api_pk_bench_0001",
    "SOLIDGATE_SECRET_KEY": "api_sk_bench_0001",
    "SOLIDGATE_BASE_URL": "http://127.0.0.1:9/solidgate/api",
    "KBANK_PARTNER_ID": "KP2SBX000000001",
    "KBANK_PARTNER_SECRET": "kbank_bench_secret_0001",
    "KBANK_BASE_URL": "http://127.0.0.1:9/kbank/v1",
}


def bench_cpu(provider: str, batch: int, rounds: int) -> dict[str, Any]:
    """Alternate batches of typed and raw calls over MockTransport; compare CPU time per call."""
    baseline = _raw.BASELINES[provider]
    token_id, reference1 = baseline.sample_token
    answer = baseline.canned_answer(token_id, reference1)

    def handler(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=answer, headers={"Content-Type": "application/json"})

    settings = settings_for(provider, _MOCK_ENV)
    build, check = baseline.raw(_MOCK_ENV)
    typed_ns: list[int] = []
    raw_ns: list[int] = []

    def raw_call(raw: httpx2.Client) -> None:
        url, headers, content = build(token_id, reference1)
        response = raw.post(url, headers=headers, content=content)
        check(response.status_code, response.content)

    with (
        sync_client(settings, transport=httpx2.MockTransport(handler)) as client,
        httpx2.Client(transport=httpx2.MockTransport(handler)) as raw,
    ):
        for _ in range(50):  # warm-up: imports, caches, first-call paths
            client.cancel(_named(provider), token_id, reference1=reference1)
            raw_call(raw)
        for _ in range(rounds):
            started = time.process_time_ns()
            for _ in range(batch):
                client.cancel(_named(provider), token_id, reference1=reference1)
            typed_ns.append((time.process_time_ns() - started) // batch)
            started = time.process_time_ns()
            for _ in range(batch):
                raw_call(raw)
            raw_ns.append((time.process_time_ns() - started) // batch)
    return _compare(typed_ns, raw_ns, unit=1e-3, label="us CPU")


# --------------------------------------------------------------------------------------------
# 3. Async throughput, rate limits off: tokencancel on both transports, and the raw peers

Call = Callable[[Token], Awaitable[None]]

CLIENTS = (
    "tokencancel",
    "tokencancel_aiohttp",
    "raw_httpx2",
    "raw_httpx2_aiohttp",
    "raw_aiohttp",
)
"""Each async client measured; the raw ones make the same call hand-built (`bench/_raw.py`)."""
PEER = {"tokencancel": "raw_httpx2", "tokencancel_aiohttp": "raw_httpx2_aiohttp"}
"""Which raw figure each of ours is a ratio to: the same HTTP stack without tokencancel."""
PEER_LABEL = {"tokencancel": "raw httpx2", "tokencancel_aiohttp": "raw httpx2+aiohttp"}


async def _drive(call: Call, tokens: list[Token], concurrency: int) -> float:
    pending: Iterator[Token] = iter(tokens)

    async def worker() -> None:
        for token in pending:
            await call(token)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(tokens) / (time.perf_counter() - started)


@contextlib.asynccontextmanager
async def _callers(
    provider: str, env: Mapping[str, str], concurrency: int, names: tuple[str, ...]
) -> AsyncIterator[dict[str, Call]]:
    """One open client of each kind in `names`, all with a pool of `concurrency` connections."""
    settings = settings_for(provider, env)
    build, check = _raw.BASELINES[provider].raw(env)
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    calls: dict[str, Call] = {}
    async with contextlib.AsyncExitStack() as stack:

        def typed(client: AsyncTokenCancelClient) -> Call:
            async def call(token: Token) -> None:
                result = await client.cancel(_named(provider), token[0], reference1=token[1])
                _check_result(result.outcome)

            return call

        def raw_httpx2(client: httpx2.AsyncClient) -> Call:
            async def call(token: Token) -> None:
                url, headers, content = build(*token)
                response = await client.post(url, headers=headers, content=content)
                check(response.status_code, response.content)

            return call

        async def raw_aiohttp_call(token: Token) -> None:
            url, headers, content = build(*token)
            async with session.post(url, headers=headers, data=content) as response:
                check(response.status, await response.read())

        if "tokencancel" in names:
            client = AsyncTokenCancelClient(settings=[settings], limits=limits)
            calls["tokencancel"] = typed(await stack.enter_async_context(client))
        if "tokencancel_aiohttp" in names:
            client = AsyncTokenCancelClient(
                settings=[settings], limits=limits, transport_factory=aiohttp_transport.factory
            )
            calls["tokencancel_aiohttp"] = typed(await stack.enter_async_context(client))
        if "raw_httpx2" in names:
            raw = httpx2.AsyncClient(timeout=10, limits=limits)
            calls["raw_httpx2"] = raw_httpx2(await stack.enter_async_context(raw))
        if "raw_httpx2_aiohttp" in names:
            # The same aiohttp transport, under a plain httpx2 client: httpx2 + aiohttp, no us.
            settings_for_raw = TransportSettings(ssl.create_default_context(), limits, None)
            raw = httpx2.AsyncClient(
                timeout=10, transport=aiohttp_transport.factory(settings_for_raw)
            )
            calls["raw_httpx2_aiohttp"] = raw_httpx2(await stack.enter_async_context(raw))
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=10),
        )
        await stack.enter_async_context(session)
        if "raw_aiohttp" in names:
            calls["raw_aiohttp"] = raw_aiohttp_call
        yield calls


async def _measure(
    provider: str,
    env: Mapping[str, str],
    tokens: dict[tuple[int, int, str], list[Token]],
    *,
    levels: tuple[int, ...],
    slots: int,
    names: tuple[str, ...],
) -> dict[tuple[int, int, str], float]:
    """Requests per second of every client at every level, slot by slot (slot -1: warm-up)."""
    rates: dict[tuple[int, int, str], float] = {}
    async with contextlib.AsyncExitStack() as stack:
        callers = {
            level: await stack.enter_async_context(_callers(provider, env, level, names))
            for level in levels
        }
        for slot in range(-1, slots):
            # Rotate who goes first, so no client always follows the same one.
            level_order = levels[slot % len(levels) :] + levels[: slot % len(levels)]
            name_order = names[slot % len(names) :] + names[: slot % len(names)]
            for level in level_order:
                for name in name_order:
                    batch = tokens[slot, level, name]
                    rates[slot, level, name] = await _drive(callers[level][name], batch, level)
    return rates


def bench_throughput(
    provider: str,
    env: Mapping[str, str],
    make_tokens: Callable[[int], list[Token]],
    *,
    calls: dict[int, int],
    slots: int,
    names: tuple[str, ...] = CLIENTS,
) -> dict[str, Any]:
    """Requests per second of each client in `names` at each concurrency in `calls`.

    Every client at every level runs one short batch per slot, one after the other, so the
    load of this machine at any moment falls on all of them alike; a figure is the median of
    its slots, and each ratio the median of the slots' own ratios (ours and the raw peer on
    the same stack measured back to back).
    """
    levels = tuple(calls)
    # Made before the clock starts (the sandbox's are created through its control API).
    tokens = {
        (slot, level, name): make_tokens(calls[level])
        for slot in range(-1, slots)
        for level in levels
        for name in names
    }
    rates = asyncio.run(_measure(provider, env, tokens, levels=levels, slots=slots, names=names))
    figures: dict[str, Any] = {}
    for level in levels:
        entry: dict[str, Any] = {"calls_per_slot": calls[level], "slots": slots}
        for name in names:
            entry[f"{name}_rps"] = round(
                statistics.median(rates[slot, level, name] for slot in range(slots)), 1
            )
        for ours, peer in PEER.items():
            if ours in names and peer in names:
                entry[f"{ours}_ratio"] = round(
                    statistics.median(
                        rates[slot, level, ours] / rates[slot, level, peer] for slot in range(slots)
                    ),
                    3,
                )
        figures[str(level)] = entry
    return figures


class CannedServer:
    """`_canned_server.py` in a child process, and settings pointing every provider at it."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [PYTHON, str(ROOT / "bench" / "_canned_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None  # noqa: S101
        url = f"http://127.0.0.1:{int(self._process.stdout.readline())}"
        self.env = {
            **_MOCK_ENV,
            "XENDIT_BASE_URL": f"{url}/xendit",
            "SOLIDGATE_BASE_URL": f"{url}/solidgate/api",
            "KBANK_BASE_URL": f"{url}/kbank/v1",
        }

    def __enter__(self) -> CannedServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._process.stdin is not None  # noqa: S101
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def synthetic_tokens(provider: str) -> Callable[[int], list[Token]]:
    """Well-formed token ids (and references) for a server that checks nothing."""
    make_one = _raw.BASELINES[provider].synthetic
    counter = iter(range(1 << 62))

    def make(count: int) -> list[Token]:
        return [make_one(next(counter)) for _ in range(count)]

    return make


# --------------------------------------------------------------------------------------------
# 4. Bulk at a rate limit


def bench_bulk_rate(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    """Run `tokencancel bulk` in a subprocess against a sandbox holding a Xendit rate limit."""
    requests, seconds = sizes.rate_limit
    with SandboxProcess(f"xendit={requests}/{seconds}") as sandbox:
        tokens = sandbox.create_tokens("xendit", sizes.rate_tokens)
        ids = workdir / "rate-ids.txt"
        ids.write_text("".join(f"{token}\n" for token, _ in tokens))
        output = workdir / "rate-out.jsonl"
        summary_file = workdir / "rate-summary.json"
        env = {**os.environ, **sandbox.env}
        command = [
            PYTHON, "-m", "tokencancel", "bulk", "xendit", str(ids),
            "--output", str(output), "--rate", f"{requests}/{seconds:g}s",
            "--summary-json", str(summary_file), "--no-progress",
        ]  # fmt: skip
        subprocess.run(command, env=env, check=False, capture_output=True)  # noqa: S603
    summary = json.loads(summary_file.read_text())
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    retried = sum(1 for line in lines if line["attempts"] > 1)
    accepted: list[float] = sandbox.rate_log.get("accepted", [])
    busiest_window = max(
        (
            bisect.bisect_right(accepted, start + seconds) - index
            for index, start in enumerate(accepted)
        ),
        default=0,
    )
    allowed = requests / seconds
    achieved = summary["request_rate_per_second"]
    return {
        "limit": f"{requests} per {seconds:g} s",
        "tokens": sizes.rate_tokens,
        "requests_sent": summary["requests_sent"],
        "elapsed_seconds": summary["elapsed_seconds"],
        "allowed_rps": allowed,
        "achieved_rps": achieved,
        "achieved_over_allowed": round(achieved / allowed, 3),
        "answers_429": sandbox.rate_log.get("refused"),
        "retried_tokens": retried,
        "server_busiest_window": busiest_window,
        "counts": summary["counts"],
    }


# --------------------------------------------------------------------------------------------
# 5. Bulk memory


def bench_memory(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    """Peak RSS of a bulk run per input size, each in a fresh process over MockTransport."""
    figures: dict[str, Any] = {}
    for size in sizes.memory_sizes:
        ids = workdir / f"memory-{size}.txt"
        with ids.open("w", encoding="utf-8") as out:
            for number in range(size):
                out.write(f"pt-{number:08d}-0000-4000-8000-000000000000\n")
        output = workdir / f"memory-{size}.jsonl"
        result = subprocess.run(  # noqa: S603
            [PYTHON, str(ROOT / "bench" / "_bulk_memory.py"), str(ids), str(output)],
            check=True,
            capture_output=True,
            text=True,
        )
        report = json.loads(result.stdout)
        figures[str(size)] = {
            "max_rss_mib": round(report["max_rss_kib"] / 1024, 1),
            "elapsed_seconds": round(report["elapsed_seconds"], 1),
            "recorded": report["summary"]["recorded"],
        }
    small, large = (figures[str(size)] for size in sizes.memory_sizes)
    figures["growth_mib"] = round(large["max_rss_mib"] - small["max_rss_mib"], 1)
    return figures


# --------------------------------------------------------------------------------------------
# 6. Generation


def bench_generate() -> dict[str, Any]:
    """Wall time of `scripts/generate.py` and `scripts/generate.py --check`."""
    timings: dict[str, Any] = {}
    for name, extra in (("make generate", []), ("make check-generated", ["--check"])):
        started = time.perf_counter()
        result = subprocess.run(  # noqa: S603
            [PYTHON, str(ROOT / "scripts" / "generate.py"), *extra],
            cwd=ROOT,
            check=False,
            capture_output=True,
        )
        timings[name] = {
            "seconds": round(time.perf_counter() - started, 2),
            "exit_code": result.returncode,
        }
    return timings


# --------------------------------------------------------------------------------------------
# Machine, table, main


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "httpx2": httpx2.__version__,
        "aiohttp": aiohttp.__version__,
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


# The targets of issue #13, checked here (never by a timed test).
LATENCY_TARGET = 1.10  # tokencancel / raw httpx2, median per call, at most
CPU_TARGET = 1.20  # tokencancel / raw httpx2, CPU per call, at most
THROUGHPUT_TARGET = 0.90  # tokencancel / the raw peer on the same stack, at concurrency 64
THROUGHPUT_TARGET_AT = 64


def _verdict(value: float, target: float, *, higher_is_better: bool) -> str:
    met = value >= target if higher_is_better else value <= target
    return "ok" if met else "MISSED"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def render(results: dict[str, Any]) -> str:
    """The results as plain-text tables: per call and bulk, then async throughput."""
    return render_main(results) + "\n\n" + render_throughput(results["throughput"])


def render_main(results: dict[str, Any]) -> str:
    """Latency, CPU, sandbox throughput, bulk, memory and generation."""
    rows: list[tuple[str, ...]] = [
        ("measure", "provider", "tokencancel", "raw httpx2", "ratio", "target")
    ]
    for provider, figures in results["latency"].items():
        rows.append(
            (
                "latency/call, median (p90) us",
                provider,
                f"{figures['tokencancel_median']:.0f} ({figures['tokencancel_p90']:.0f})",
                f"{figures['raw_median']:.0f} ({figures['raw_p90']:.0f})",
                f"{figures['ratio']:.3f}",
                f"<= {LATENCY_TARGET:.2f} "
                + _verdict(figures["ratio"], LATENCY_TARGET, higher_is_better=False),
            )
        )
    for provider, figures in results["cpu"].items():
        rows.append(
            (
                "CPU/call, MockTransport, us",
                provider,
                f"{figures['tokencancel_median']:.0f}",
                f"{figures['raw_median']:.0f}",
                f"{figures['ratio']:.3f}",
                f"<= {CPU_TARGET:.2f} "
                + _verdict(figures["ratio"], CPU_TARGET, higher_is_better=False),
            )
        )
    for key, figures in results["throughput_sandbox"].items():
        provider, concurrency = key.split("@")
        rows.append(
            (
                f"async req/s, sandbox, conc {concurrency}",
                provider,
                f"{figures['tokencancel_rps']:.0f}",
                f"{figures['raw_httpx2_rps']:.0f}",
                f"{figures['tokencancel_ratio']:.3f}",
                "(sandbox-bound)",
            )
        )
    rate = results["bulk_rate"]
    rows.append(
        (
            f"bulk at {rate['limit']}: req/s",
            "xendit",
            f"{rate['achieved_rps']:.2f} of {rate['allowed_rps']:.2f}",
            "-",
            f"{rate['achieved_over_allowed']:.3f}",
            f">= 0.95 {_verdict(rate['achieved_over_allowed'], 0.95, higher_is_better=True)}",
        )
    )
    rows.append(
        (
            "bulk at the limit: 429 answers (server)",
            "xendit",
            str(rate["answers_429"]),
            "-",
            "-",
            f"0 {'ok' if rate['answers_429'] == 0 else 'MISSED'}",
        )
    )
    rows.append(
        (
            f"bulk: most requests in any {rate['limit'].split(' per ')[1]} (server)",
            "xendit",
            str(rate["server_busiest_window"]),
            "-",
            "-",
            f"<= {rate['limit'].split(' per ')[0]}",
        )
    )
    memory = results["memory"]
    for size, figures in memory.items():
        if size == "growth_mib":
            continue
        rows.append(
            (
                f"bulk peak RSS, {int(size):,} tokens, MiB",
                "xendit",
                f"{figures['max_rss_mib']:.1f}",
                "-",
                "-",
                f"({figures['elapsed_seconds']:.0f} s)",
            )
        )
    rows.append(
        ("bulk peak RSS growth, MiB", "xendit", f"{memory['growth_mib']:+.1f}", "-", "-", "few MB")
    )
    for name, figures in results["generate"].items():
        rows.append(
            (
                f"{name}, wall s",
                "all",
                f"{figures['seconds']:.1f}",
                "-",
                "-",
                "exit 0" if figures["exit_code"] == 0 else f"exit {figures['exit_code']}",
            )
        )
    return _table(rows)


def render_throughput(throughput: dict[str, Any]) -> str:
    """Async req/s against the canned server, ours beside the raw peers; then the verdicts."""
    rows: list[tuple[str, ...]] = [
        (
            "async req/s, canned server",
            "conc",
            "tokencancel",
            "raw httpx2",
            "ratio",
            "tokencancel+aiohttp",
            "raw httpx2+aiohttp",
            "ratio",
            "raw aiohttp",
        )
    ]
    verdicts: list[tuple[str, ...]] = [
        ("target", "provider", "tokencancel on", "req/s at conc 1 / 16 / 64", "figure", "verdict")
    ]
    by_provider: dict[str, dict[int, dict[str, Any]]] = {}
    for key, figures in throughput.items():
        provider, level = key.split("@")
        by_provider.setdefault(provider, {})[int(level)] = figures
    for provider, levels in by_provider.items():
        for concurrency, figures in sorted(levels.items()):
            rows.append(
                (
                    provider,
                    str(concurrency),
                    f"{figures['tokencancel_rps']:.0f}",
                    f"{figures['raw_httpx2_rps']:.0f}",
                    f"{figures['tokencancel_ratio']:.3f}",
                    f"{figures['tokencancel_aiohttp_rps']:.0f}",
                    f"{figures['raw_httpx2_aiohttp_rps']:.0f}",
                    f"{figures['tokencancel_aiohttp_ratio']:.3f}",
                    f"{figures['raw_aiohttp_rps']:.0f}",
                )
            )
        for ours, label in (("tokencancel", "httpx2"), ("tokencancel_aiohttp", "aiohttp")):
            rates = [levels[level][f"{ours}_rps"] for level in sorted(levels)]
            rising = all(later >= earlier for earlier, later in itertools.pairwise(rates))
            shown = " / ".join(f"{rate:.0f}" for rate in rates)
            verdicts.append(
                ("req/s never falls as conc rises", provider, label, shown, "-", _ok(rising))
            )
        for ours, label in (("tokencancel", "httpx2"), ("tokencancel_aiohttp", "aiohttp")):
            top = levels.get(THROUGHPUT_TARGET_AT)
            if top is None:
                continue
            ratio = top[f"{ours}_ratio"]
            verdicts.append(
                (
                    f"conc {THROUGHPUT_TARGET_AT} >= {THROUGHPUT_TARGET:.2f} x {PEER_LABEL[ours]}",
                    provider,
                    label,
                    "",
                    f"{ratio:.3f}",
                    _verdict(ratio, THROUGHPUT_TARGET, higher_is_better=True),
                )
            )
    return _table(rows) + "\n\n" + _table(verdicts)


def _ok(met: bool) -> str:
    return "ok" if met else "MISSED"


def main() -> None:
    """Run every measurement, print the tables, write bench/results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples, for a smoke run")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--skip-generate", action="store_true", help="do not time generation")
    parser.add_argument(
        "--only-throughput", action="store_true", help="only the canned-server throughput table"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}

    def step(name: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f}s] {name}", file=sys.stderr, flush=True)

    step("throughput against a canned server")
    with CannedServer() as canned:
        results["throughput"] = {}
        for provider in PROVIDERS:
            by_level = bench_throughput(
                provider,
                canned.env,
                synthetic_tokens(provider),
                calls=sizes.throughput_calls,
                slots=sizes.throughput_slots,
            )
            for level, figures in by_level.items():
                results["throughput"][f"{provider}@{level}"] = figures
    if args.only_throughput:
        print(render_throughput(results["throughput"]))
        return
    with SandboxProcess() as sandbox:
        step("latency")
        results["latency"] = {p: bench_latency(sandbox, p, sizes.latency_calls) for p in PROVIDERS}
        step("throughput against the sandbox")
        by_level = bench_throughput(
            "xendit",
            sandbox.env,
            lambda count: sandbox.create_tokens("xendit", count),
            calls=dict.fromkeys(sizes.throughput_calls, sizes.sandbox_throughput_calls),
            slots=1,
            names=("tokencancel", "raw_httpx2"),
        )
        results["throughput_sandbox"] = {
            f"xendit@{level}": figures for level, figures in by_level.items()
        }
    step("cpu")
    results["cpu"] = {p: bench_cpu(p, sizes.cpu_batch, sizes.cpu_rounds) for p in PROVIDERS}
    with tempfile.TemporaryDirectory(prefix="tokencancel-bench-") as scratch:
        step("bulk at a rate limit")
        results["bulk_rate"] = bench_bulk_rate(sizes, Path(scratch))
        step("bulk memory")
        results["memory"] = bench_memory(sizes, Path(scratch))
    if args.skip_generate:
        results["generate"] = {}
    else:
        step("generate")
        results["generate"] = bench_generate()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    table = render(results)
    args.output.write_text(json.dumps({**results, "table": table}, indent=2) + "\n")
    print(table)
    print(
        f"\n{results['machine']['cpus']} CPUs ({results['machine']['cpu_model']}), "
        f"Python {results['machine']['python']}, httpx2 {results['machine']['httpx2']}, "
        f"aiohttp {results['machine']['aiohttp']}; "
        f"{results['total_seconds']:.0f} s in all; written to {args.output}"
    )


if __name__ == "__main__":
    main()
