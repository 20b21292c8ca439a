"""`tokencancel bulk`: its arguments and its wiring; the run itself is in `run`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

from .._exit import EXIT_CODES_HELP, ExitCode
from .._facade import options_from_env
from .._rate import Rate
from .._rules import OutcomeRules
from .._transport import AsyncTransportFactory, default_async_transport
from ..providers import REGISTRY, CheckReport, ProviderAdapter, adapter_for
from .input import FieldRules, InputRecord, InputRefused, open_input, read_records
from .output import BulkFileError, FileIdentity, OutputLog, check_target, identity_of
from .run import open_paced_client, run_bulk
from .summary import BulkSummary, count_lines, say

__all__ = ["MAX_CONCURRENCY", "add_bulk_arguments", "run_bulk_command"]


MAX_CONCURRENCY: Final = 256
"""The most requests in flight a run allows: past this, providers' limits bind long before."""


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_CONCURRENCY}")
    return value


def _rate_argument(text: str) -> Rate | None:
    try:
        return Rate.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_BULK_DESCRIPTION: Final = """\
Cancel many tokens of one provider, paced just under its rate limit.

Input (a file, or - for stdin), detected from the first line or set with --format:
  plain  one token id per line (not for KBank, which needs reference1)
  csv    a header naming token_id (and reference1, which KBank needs), then one row per line
  jsonl  one object per line: {"token_id": "...", "reference1": "..."}
A column or key the provider does not use (reference1 for Xendit or Solidgate) is refused:
in a CSV header before anything is sent, in a JSONL line as invalid_input. Blank lines and
lines starting with # (plain, csv) are skipped. Any other malformed line (bad JSON, bad UTF-8,
over 16 KiB...) is recorded as invalid_input and the run goes on. A token id repeating an
earlier line's is sent once and its repeat recorded as duplicate.

Output: one JSON line per input token appended to --output (a regular file, never the input;
locked for the run, so a second run on it refuses to start). Re-running with the same --output
skips every token already done (cancelled, cancellation_pending, already_inactive, not_found,
refused, invalid_input, duplicate), retries the rest, and exits as if the whole input had been
done in one run. Lines of the output that are not results are reported and left in place.

Before the first cancel, the configuration is proven with the `tokencancel check` call (one
cancel of a token id that cannot exist); a failed check stops the run (--skip-check skips it).

Ctrl-C, SIGTERM or SIGHUP stop taking tokens and let requests already sent finish and be
recorded; a second one abandons them. A file that cannot be read, written or flushed stops the
run at once (exit 5). Either way the output stays valid and the same command resumes.

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
        type=_concurrency,
        default=16,
        help=f"requests in flight at most, 1 to {MAX_CONCURRENCY} (default: 16)",
    )
    parser.add_argument(
        "--transport",
        choices=["httpx2", "aiohttp"],
        default="httpx2",
        help="HTTP transport (default: httpx2; aiohttp needs pip install 'tokencancel[aiohttp]')",
    )
    parser.add_argument(
        "--skip-check",
        action="store_true",
        help="do not prove the configuration before the first cancel (see tokencancel check)",
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
    settings = adapter.settings_from_env(env)  # ConfigurationError: exit 2, naming the variable
    options = options_from_env(env)
    options["transport_factory"] = _network_transport(getattr(args, "transport", "httpx2"))
    rate: Rate | None = getattr(args, "rate", adapter.default_rate(settings))
    try:
        with contextlib.ExitStack() as files:
            source = files.enter_context(_open_input(args.input))
            forbidden = {identity_of(os.fstat(source.fileno())): f"the input {args.input}"}
            # The input's shape first (its header), then the output: a refusal of either comes
            # before anything is sent, and a refused input leaves no output file behind.
            records = _primed(read_records(source, args.input_format, _field_rules(adapter)))
            _check_summary_path(args, forbidden)
            output = OutputLog(args.output, adapter.name, forbidden=forbidden)
            files.callback(output.abandon)  # closed properly by the run; this is for errors
            forbidden[identity_of(os.fstat(output.fileno()))] = f"--output {args.output}"
            _check_summary_path(args, forbidden)
            show_progress = not args.no_progress and _is_terminal(sys.stderr)
            summary = asyncio.run(
                _bulk_main(
                    adapter,
                    settings,
                    rate,
                    options,
                    args,
                    records,
                    output,
                    show_progress=show_progress,
                )
            )
    except BulkFileError as error:
        say(sys.stderr, f"tokencancel: error: {error}")
        return error.exit_code
    except InputRefused as error:
        say(sys.stderr, f"tokencancel: error: {args.input}: {error}; nothing was sent")
        return ExitCode.USAGE
    say(sys.stderr, summary.render())
    code = summary.exit_code()
    if args.summary_json is not None:
        try:
            _write_summary(args.summary_json, summary.to_json_dict())
        except OSError as error:
            say(sys.stderr, f"tokencancel: error: cannot write --summary-json: {error.strerror}")
            return max(code, ExitCode.IO) if code != ExitCode.INTERRUPTED else code
    return code


def _check_summary_path(args: argparse.Namespace, forbidden: dict[FileIdentity, str]) -> None:
    """Refuse a --summary-json that is the input or the output, by any name."""
    if args.summary_json is None:
        return
    if args.summary_json.resolve() == args.output.resolve():
        raise BulkFileError(
            f"--summary-json {args.summary_json} is the same file as --output: choose another",
            ExitCode.USAGE,
        )
    check_target(args.summary_json, "--summary-json", forbidden)


def _open_input(path: str) -> IO[bytes]:
    try:
        return open_input(path)
    except OSError as error:
        raise BulkFileError(f"cannot read the input {path}: {error.strerror or error}") from None


def _field_rules(adapter: ProviderAdapter[Any, Any]) -> FieldRules:
    return FieldRules(
        used=adapter.field_names,
        required=frozenset(name for name in adapter.field_names if adapter.field_is_required(name)),
        provider=adapter.display_name,
    )


def _primed(records: Iterator[InputRecord]) -> Iterator[InputRecord]:
    """Read up to the first record now, so a refused input shape stops the run before it starts."""
    try:
        first = next(records)
    except StopIteration:
        return iter(())
    except OSError as error:
        raise BulkFileError(f"cannot read the input: {error.strerror or error}") from None
    return itertools.chain([first], records)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _write_summary(path: Path, data: dict[str, Any]) -> None:
    """Write the summary whole: to a temporary file beside it, flushed, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as target:
            target.write(json.dumps(data, indent=2) + "\n")
            target.flush()
            os.fsync(target.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


async def _bulk_main(  # noqa: PLR0917 -- one private call site
    adapter: ProviderAdapter[Any, Any],
    settings: Any,
    rate: Rate | None,
    options: Mapping[str, Any],
    args: argparse.Namespace,
    records: Iterator[InputRecord],
    output: OutputLog,
    *,
    show_progress: bool,
) -> BulkSummary:
    client, wire_log = open_paced_client(
        settings, rate=rate, concurrency=args.concurrency, **options
    )
    rules = options.get("outcome_rules") or OutcomeRules()

    async def cancel(token_id: str, fields: Mapping[str, str]) -> Any:
        return await client.cancel(adapter.name, token_id, **fields)  # type: ignore[arg-type]

    async def preflight() -> CheckReport:
        return await adapter.check(settings, cancel, rules)

    async with client:
        return await run_bulk(
            client,
            adapter.name,
            records,
            output,
            concurrency=args.concurrency,
            wire_log=wire_log,
            rate=rate,
            progress_stream=sys.stderr if show_progress else None,
            total_lines=count_lines(args.input) if show_progress else None,
            preflight=None if args.skip_check else preflight,
            stream=sys.stderr,
        )


def _network_transport(name: str) -> AsyncTransportFactory:
    """The network transport `--transport` names; ConfigurationError if it is not installed."""
    if name == "aiohttp":
        from .. import aiohttp_transport  # noqa: PLC0415 -- only when chosen

        aiohttp_transport.ensure_installed()
        return aiohttp_transport.factory
    return default_async_transport
