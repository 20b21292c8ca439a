"""`tokencancel bulk`: its arguments and its wiring; the run itself is in `run`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Final

from .._errors import ConfigurationError
from .._exit import EXIT_CODES_HELP, ExitCode
from .._rate import Rate
from .._transport import AsyncTransportFactory, default_async_transport
from ..providers import REGISTRY, adapter_for
from .input import open_input, read_records
from .run import open_paced_client, run_bulk
from .summary import BulkSummary, count_lines

__all__ = ["add_bulk_arguments", "run_bulk_command"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _rate_argument(text: str) -> Rate | None:
    try:
        return Rate.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_BULK_DESCRIPTION: Final = """\
Cancel many tokens of one provider, paced just under its rate limit.

Input (a file, or - for stdin), detected from the first line or set with --format:
  plain  one token id per line
  csv    a header naming token_id (and reference1, which KBank needs), then one row per line
  jsonl  one object per line: {"token_id": "...", "reference1": "..."}
Blank lines and lines starting with # (plain, csv) are skipped. A malformed line is recorded
as invalid_input and the run goes on.

Output: one JSON line per token appended to --output (token_id, provider, outcome, done,
error_type, error_code, message, http_status, attempts, line, timestamp). Re-running with the
same --output skips every token already done (cancelled, cancellation_pending,
already_inactive, not_found, refused, invalid_input) and retries the rest. Tokens of one input
are not de-duplicated within a run: a repeated id is cancelled again (already_inactive).

Ctrl-C stops taking tokens and lets requests already sent finish; a second Ctrl-C abandons
them. Either way the output stays valid and the same command resumes.

Credentials come from the environment, as for `tokencancel cancel`."""


def _bulk_epilog() -> str:
    rates = "\n".join(
        f"  {name:<10} {_first_line(adapter.default_rate.__doc__)}"
        for name, adapter in REGISTRY.items()
    )
    return (
        "rate limits (--rate; the provider's limit, paced at 98% of it, retries included):\n"
        f"{rates}\n\n{EXIT_CODES_HELP}"
    )


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text else ""


def add_bulk_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bulk` subcommand's arguments to `parser`."""
    parser.description = _BULK_DESCRIPTION
    parser.epilog = _bulk_epilog()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("provider", choices=list(REGISTRY))
    parser.add_argument("input", help="input file, or - for stdin")
    parser.add_argument(
        "--output", "-o", required=True, type=Path, help="JSONL results file (appended, resumable)"
    )
    parser.add_argument(
        "--format",
        dest="input_format",
        choices=["auto", "plain", "csv", "jsonl"],
        default="auto",
        help="input format (default: detected from the first line)",
    )
    parser.add_argument(
        "--rate",
        type=_rate_argument,
        default=argparse.SUPPRESS,
        help="the provider's limit, e.g. 600/min, 10/s, 50/5s, or off (default: see below)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        help="requests in flight at most (default: 16)",
    )
    parser.add_argument(
        "--transport",
        choices=["httpx2", "aiohttp"],
        default="httpx2",
        help="HTTP transport (default: httpx2; aiohttp needs pip install 'tokencancel[aiohttp]')",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    parser.add_argument(
        "--summary-json", type=Path, default=None, help="also write the summary to this JSON file"
    )


def run_bulk_command(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """Run the `bulk` subcommand from parsed arguments; return the exit code."""
    # Each token's retries and failures are in the output file; on stderr they would only bury
    # the progress bar and the summary. `-v` brings them back.
    package_logger = logging.getLogger("tokencancel")
    previous_level = package_logger.level
    if not getattr(args, "verbose", False):
        package_logger.setLevel(logging.ERROR)
    try:
        return _run_bulk_command(args, os.environ if env is None else env)
    finally:
        package_logger.setLevel(previous_level)


def _run_bulk_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    adapter = adapter_for(args.provider)
    try:
        settings = adapter.settings_from_env(env)
    except ConfigurationError as error:
        sys.stderr.write(f"tokencancel bulk: {error}\n")
        return ExitCode.USAGE
    rate: Rate | None = getattr(args, "rate", adapter.default_rate(settings))
    try:
        network = _network_transport(getattr(args, "transport", "httpx2"))
    except ConfigurationError as error:
        sys.stderr.write(f"tokencancel bulk: {error}\n")
        return ExitCode.USAGE
    try:
        source = open_input(args.input)
    except OSError as error:
        sys.stderr.write(f"tokencancel bulk: cannot read {args.input}: {error.strerror}\n")
        return ExitCode.USAGE
    show_progress = not args.no_progress and sys.stderr.isatty()
    try:
        with source:
            summary = asyncio.run(
                _bulk_main(
                    adapter.name,
                    adapter.field_names,
                    settings,
                    rate,
                    args,
                    source,
                    network=network,
                    show_progress=show_progress,
                )
            )
    except OSError as error:
        sys.stderr.write(f"tokencancel bulk: {args.output}: {error.strerror or error}\n")
        return ExitCode.USAGE
    sys.stderr.write(summary.render() + "\n")
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps(summary.to_json_dict(), indent=2) + "\n")
    return summary.exit_code()


async def _bulk_main(  # noqa: PLR0917 -- one private call site
    provider: str,
    field_names: tuple[str, ...],
    settings: Any,
    rate: Rate | None,
    args: argparse.Namespace,
    source: IO[str],
    *,
    network: AsyncTransportFactory,
    show_progress: bool,
) -> BulkSummary:
    client, wire_log = open_paced_client(
        settings, rate=rate, concurrency=args.concurrency, network=network
    )
    async with client:
        return await run_bulk(
            client,
            provider,
            read_records(source, args.input_format, field_names),
            args.output,
            concurrency=args.concurrency,
            wire_log=wire_log,
            rate=rate,
            progress_stream=sys.stderr if show_progress else None,
            total_lines=count_lines(args.input) if show_progress else None,
        )


def _network_transport(name: str) -> AsyncTransportFactory:
    """The network transport `--transport` names; ConfigurationError if it is not installed."""
    if name == "aiohttp":
        from .. import aiohttp_transport  # noqa: PLC0415 -- only when chosen

        aiohttp_transport.ensure_installed()
        return aiohttp_transport.factory
    return default_async_transport
