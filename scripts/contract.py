"""Fuzz each provider spec with schemathesis against the sandbox or a real provider sandbox.

    python scripts/contract.py                      # all three specs (what `make contract` runs)
    python scripts/contract.py --provider xendit    # one spec

For each provider this starts one `schemathesis run` with contract/schemathesis.toml and its
hooks (credentials, wire signing, body-aware checks), writes `reports/junit-<provider>.xml`, and
finally prints a summary table. It exits 0 only when every run found nothing.

Target: a provider's run goes to the real server named by the overlay's variables when its base
URL and its credentials are all set (KBANK_BASE_URL + KBANK_PARTNER_ID + KBANK_PARTNER_SECRET,
SOLIDGATE_BASE_URL + SOLIDGATE_PUBLIC_KEY + SOLIDGATE_SECRET_KEY, XENDIT_BASE_URL +
XENDIT_SECRET_KEY), rate-limited within the provider's published limits; otherwise to the
embedded sandbox, started here on a free loopback port over real HTTP and stopped at the end.

Environment:
    CONTRACT_SEED          seed of the run (default 0; any integer), for reproducible runs
    CONTRACT_MAX_EXAMPLES  fuzzing budget per operation (default 100); raise it for nightly runs
    CONTRACT_RATE_LIMIT    override the request rate for every target, e.g. `30/m`, or `off`
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tokencancel import ConfigurationError
from tokencancel._environment import OUTCOME_RULES_VARIABLE
from tokencancel.providers import REGISTRY, ProviderAdapter

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
CONFIG = ROOT / "contract" / "schemathesis.toml"
PROVIDERS = tuple(REGISTRY)

DEFAULT_SEED = 0
DEFAULT_MAX_EXAMPLES = 100

# Request rate against a real (non-loopback) server: gentle, since fuzzing is not bulk work.
REAL_RATE_PER_MINUTE = 30


def real_target_variables(adapter: ProviderAdapter[Any, Any]) -> tuple[str, ...]:
    """The variables that must all be set for a provider's run to go to a real server."""
    return tuple(var.name for var in adapter.env_vars if var.base_url or var.selects_provider)


def provider_variables(adapter: ProviderAdapter[Any, Any]) -> tuple[str, ...]:
    """Every variable the overlay reads for a provider; a sandbox run replaces them all."""
    return tuple(var.name for var in adapter.env_vars)


def real_rate_limit(adapter: ProviderAdapter[Any, Any], settings: Any) -> str:
    """At most REAL_RATE_PER_MINUTE, and never faster than the provider's own bulk default."""
    rate = adapter.default_rate(settings)
    per_minute = min(REAL_RATE_PER_MINUTE, int(rate.per_second * 60))
    return f"{max(per_minute, 1)}/m"


class UsageError(Exception):
    """A setting given on the command line or in the environment cannot be used."""


@dataclass(frozen=True)
class Target:
    """Where one provider's run sends its requests."""

    provider: str
    base_url: str
    is_sandbox: bool
    env: dict[str, str]  # the overlay's variables for this provider (credentials included)
    rate_limit: str | None
    client_cert: tuple[str, str | None] | None = None

    @property
    def label(self) -> str:
        """What the summary shows: `sandbox` or the real URL (never credentials)."""
        return "sandbox" if self.is_sandbox else self.base_url


@dataclass(frozen=True)
class Outcome:
    """What one provider's run did."""

    target: Target
    exit_code: int
    cases: int | None
    failures: int | None
    errors: int | None
    seconds: float

    @property
    def passed(self) -> bool:
        """True when schemathesis exited 0 and reported no failure and no error."""
        return self.exit_code == 0 and self.failures == 0 and self.errors == 0


def main(argv: list[str] | None = None) -> int:
    """Run the contract for the chosen providers; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--provider",
        action="append",
        choices=PROVIDERS,
        help="fuzz only this provider's spec (repeatable; default: all three)",
    )
    parser.add_argument(
        "--reports",
        type=Path,
        default=ROOT / "reports",
        help="folder for junit-<provider>.xml (default: reports/)",
    )
    args = parser.parse_args(argv)
    providers = tuple(dict.fromkeys(args.provider or PROVIDERS))
    try:
        seed = _int_setting("CONTRACT_SEED", DEFAULT_SEED, minimum=0)
        max_examples = _int_setting("CONTRACT_MAX_EXAMPLES", DEFAULT_MAX_EXAMPLES, minimum=1)
        rate_override = _rate_limit_override()
        real_targets = {
            provider: target
            for provider in providers
            if (target := _real_target(provider, os.environ, rate_override)) is not None
        }
    except UsageError as exc:
        print(f"contract: {exc}", file=sys.stderr)
        return 2

    args.reports.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    with ExitStack() as stack:
        sandbox_target: Callable[[str], Target] | None = None
        if len(real_targets) < len(providers):
            sandbox_target = _start_sandbox(stack, rate_override)
        for provider in providers:
            target = real_targets.get(provider)
            if target is None and sandbox_target is not None:
                target = sandbox_target(provider)
            if target is None:  # unreachable: the sandbox starts whenever a provider lacks a target
                raise RuntimeError(f"no target for {provider}")
            outcomes.append(_run(target, seed, max_examples, args.reports))
    _print_summary(outcomes, seed, max_examples)
    _write_markdown_summary(outcomes, seed, max_examples, args.reports / "contract-summary.md")
    return 0 if all(outcome.passed for outcome in outcomes) else 1


def _int_setting(name: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum}, got {value}")
    return value


def _rate_limit_override() -> str | None:
    """CONTRACT_RATE_LIMIT: "" when unset, "off" to disable, else `<count>/<s|m|h>`."""
    raw = os.environ.get("CONTRACT_RATE_LIMIT", "").strip()
    if not raw or raw == "off":
        return raw
    count, _, unit = raw.partition("/")
    if not count.isdigit() or int(count) < 1 or unit not in {"s", "m", "h"}:
        raise UsageError(f"CONTRACT_RATE_LIMIT must look like 30/m (or be `off`), got {raw!r}")
    return raw


def _effective_rate(
    adapter: ProviderAdapter[Any, Any], settings: Any, override: str | None
) -> str | None:
    if override == "off":
        return None
    if override:
        return override
    # A loopback server is somebody's local stand-in, not the provider: no limit to respect.
    return None if _is_loopback(settings.base_url) else real_rate_limit(adapter, settings)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def _real_target(provider: str, env: Mapping[str, str], rate: str | None) -> Target | None:
    """The provider's real server when all its variables are set; None for the sandbox."""
    adapter = REGISTRY[provider]
    names = real_target_variables(adapter)
    present = [name for name in names if env.get(name)]
    if len(present) < len(names):
        if present:
            missing = ", ".join(name for name in names if name not in present)
            print(f"contract: {provider}: {missing} not set, so its run uses the sandbox")
        return None
    try:
        settings = adapter.settings_from_env(env)
    except ConfigurationError as exc:
        raise UsageError(f"{provider}: {exc}") from None
    return Target(
        provider=provider,
        base_url=settings.base_url,
        is_sandbox=False,
        env={name: env[name] for name in provider_variables(adapter) if env.get(name)},
        rate_limit=_effective_rate(adapter, settings, rate),
        client_cert=adapter.client_certificate(settings),
    )


def _start_sandbox(stack: ExitStack, rate: str | None) -> Callable[[str], Target]:
    """Start the embedded sandbox on a free loopback port; return a Target factory for it."""
    from tokencancel_sandbox import Sandbox  # noqa: PLC0415 (only needed when a run uses it)

    sandbox = stack.enter_context(Sandbox.start(host="127.0.0.1", port=0))
    print(f"contract: sandbox listening on {sandbox.url}")
    sandbox_env = sandbox.env()

    def target(provider: str) -> Target:
        adapter = REGISTRY[provider]
        env = {
            name: sandbox_env[name] for name in provider_variables(adapter) if name in sandbox_env
        }
        # The sandbox's own codes and texts mean something only through its outcome rules.
        rules = {OUTCOME_RULES_VARIABLE: sandbox_env[OUTCOME_RULES_VARIABLE]}
        return Target(
            provider=provider,
            base_url=sandbox.base_url(provider),
            is_sandbox=True,
            env={**env, **rules},
            rate_limit=_effective_rate(adapter, adapter.settings_from_env(env), rate),
        )

    return target


def _run(target: Target, seed: int, max_examples: int, reports: Path) -> Outcome:
    """Run schemathesis for one provider, streaming its output; read its JSON report."""
    junit = reports / f"junit-{target.provider}.xml"
    json_report = reports / f"contract-{target.provider}.json"
    for stale in (junit, json_report):  # a report left by an earlier run must not pass for this one
        stale.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(CONFIG),
        "run", str(SPECS / f"{target.provider}.yaml"),
        "--url", target.base_url,
        "--seed", str(seed),
        "--max-examples", str(max_examples),
        "--generation-database", "none",
        "--report", "junit,json",
        "--report-junit-path", str(junit),
        "--report-json-path", str(json_report),
    ]  # fmt: skip
    if target.rate_limit:
        command += ["--rate-limit", target.rate_limit]
    if target.client_cert is not None:
        cert, key = target.client_cert
        command += ["--request-cert", cert] + (["--request-cert-key", key] if key else [])
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in provider_variables(REGISTRY[target.provider])
    }
    env.update(target.env)
    where = f"sandbox at {target.base_url}" if target.is_sandbox else target.base_url
    rate = f", at most {target.rate_limit}" if target.rate_limit else ""
    print(f"\n==> {target.provider}: {where}{rate}", flush=True)
    started = time.monotonic()
    exit_code = subprocess.call(command, cwd=ROOT, env=env)
    seconds = time.monotonic() - started
    cases, failures, errors = _read_counts(json_report)
    return Outcome(target, exit_code, cases, failures, errors, seconds)


def _read_counts(path: Path) -> tuple[int | None, int | None, int | None]:
    """(cases generated, failures, errors) from schemathesis' JSON report; None when absent."""
    try:
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        cases = int(report["test_cases"]["generated"])
        failures = sum(int(group["count"]) for group in report["failures"])
        errors = sum(int(group["count"]) for group in report["errors"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None, None
    return cases, failures, errors


def _summary_rows(outcomes: list[Outcome]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("provider", "target", "cases", "failures", "errors", "time", "result")
    ]
    rows += [
        (
            outcome.target.provider,
            outcome.target.label,
            _count(outcome.cases),
            _count(outcome.failures),
            _count(outcome.errors),
            f"{outcome.seconds:.1f}s",
            "passed" if outcome.passed else f"FAILED (exit {outcome.exit_code})",
        )
        for outcome in outcomes
    ]
    return rows


def _print_summary(outcomes: list[Outcome], seed: int, max_examples: int) -> None:
    rows = _summary_rows(outcomes)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    print(f"\nContract summary (seed {seed}, max examples {max_examples})")
    for line in _table_lines(rows, widths):
        print(line)
    passed = sum(outcome.passed for outcome in outcomes)
    print(f"contract: {passed} passed, {len(outcomes) - passed} failed")


def _write_markdown_summary(
    outcomes: list[Outcome], seed: int, max_examples: int, path: Path
) -> None:
    """The same table in Markdown, for a CI job summary (e.g. GitHub's $GITHUB_STEP_SUMMARY)."""
    header, *body = _summary_rows(outcomes)
    lines = [
        f"### Contract run (seed {seed}, max examples {max_examples})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in body),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _table_lines(rows: Sequence[tuple[str, ...]], widths: list[int]) -> Iterator[str]:
    for index, row in enumerate(rows):
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        if index == 0:
            yield "  ".join("-" * width for width in widths)


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
