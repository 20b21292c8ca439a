"""The `tokencancel` command line.

    tokencancel cancel PROVIDER TOKEN_ID [--reference1 R] [-v]
    tokencancel check PROVIDER
    tokencancel bulk PROVIDER INPUT --output RESULTS.jsonl

Configured from the environment (each provider's variables, listed by `--help`). stdout
carries only JSON (the normalised result, the check's report); on failure one line
`tokencancel: error: ...` goes to stderr, never a traceback, never a secret (not even with -v),
provider text with its control characters escaped. A stdout that is closed or gone once the work
is done loses the JSON, not the exit code. The exit codes are one table for every subcommand
(`tokencancel._exit`).

Subcommands register in `_COMMANDS`: a name, a help line, a function adding its arguments and a
function running it and returning the exit code. Adding one is one entry.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NoReturn, cast

import attrs
import httpx2

from ._environment import CA_BUNDLE_VARIABLE, LOG_VARIABLE, OUTCOME_RULES_VARIABLE
from ._errors import TokenCancelError
from ._exit import EXIT_CODES_HELP, Category, ExitCode, category_of
from ._facade import (
    DEFAULT_TIMEOUT,
    AsyncTokenCancelClient,
    ProviderName,
    TokenCancelClient,
    options_from_env,
)
from ._log import suspended as suspended_env_logging
from ._redact import escape_controls, install_log_redaction, redact, redacting_filter
from ._version import __version__
from .bulk import add_bulk_arguments, run_bulk_command
from .providers import REGISTRY, CheckReport, ProviderAdapter, adapter_for

__all__ = ["build_parser", "main"]

_PROG = "tokencancel"
logger = logging.getLogger("tokencancel")


def _environment_help() -> str:
    lines = [
        f"  {var.name:<26} {var.meaning}"
        for adapter in REGISTRY.values()
        for var in adapter.env_vars
    ]
    return (
        "environment:\n"
        + "\n".join(lines)
        + f"\n  {OUTCOME_RULES_VARIABLE:<26} a TOML file of outcome rules (docs/providers.md)"
        + f"\n  {CA_BUNDLE_VARIABLE:<26} a PEM file of CA certificates to trust instead"
        + f"\n  {LOG_VARIABLE:<26} debug, info or warning: log to stderr (redacted)"
        + "\n  A base URL is the spec's server URL (default: the provider's documented server);"
        + "\n  plain http:// is accepted for loopback hosts only."
    )


class _UsageError(Exception):
    """A command line argparse refused; reported on one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports errors on one line instead of usage plus message."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see: {self.prog} --help)")


@attrs.frozen
class _Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Mapping[str, str]], int]


# -- cancel -------------------------------------------------------------------------------------


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86_400:  # noqa: PLR2004 -- one day; also refuses nan and inf
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400 seconds")
    return value


def _timeout_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="timeout of any one network wait (default: 15; connecting: 5)",
    )


def _timeout(args: argparse.Namespace) -> httpx2.Timeout:
    if args.timeout is None:
        return DEFAULT_TIMEOUT
    return httpx2.Timeout(args.timeout, connect=min(args.timeout, 5.0))


def _add_cancel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Cancel one saved payment token and print the normalised result as one JSON object."
    )
    parser.epilog = f"{EXIT_CODES_HELP}\n\n{_environment_help()}"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("provider", choices=list(REGISTRY), help="the provider")
    parser.add_argument(
        "token_id",
        metavar="TOKEN_ID",
        help=", ".join(f"{a.display_name} {a.token_argument}" for a in REGISTRY.values()),
    )
    for field, users in _per_provider_options(lambda adapter: adapter.field_names).items():
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            dest=field,
            metavar="VALUE",
            help=f"{users} only, required: {field}",
        )
    for field, users in _per_provider_options(
        lambda adapter: (adapter.request_id_name,) if adapter.request_id_name else ()
    ).items():
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            dest="request_id",
            metavar="ID",
            help=f"{users} only: this cancel's {field} (default: a fresh one)",
        )
    _timeout_argument(parser)


def _per_provider_options(
    names_of: Callable[[ProviderAdapter[Any, Any]], tuple[str, ...]],
) -> dict[str, str]:
    """Each per-provider option name, with the providers that take it."""
    options: dict[str, list[str]] = {}
    for adapter in REGISTRY.values():
        for name in names_of(adapter):
            options.setdefault(name, []).append(adapter.name)
    return {name: ", ".join(users) for name, users in options.items()}


def _run_cancel(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    adapter = adapter_for(args.provider)
    fields = {name: getattr(args, name, None) for name in _all_field_names()}
    for name, value in fields.items():
        if value is not None and name not in adapter.field_names:
            raise _UsageError(f"--{name.replace('_', '-')} does not apply to {adapter.name}")
    missing = [name for name in adapter.field_names if fields.get(name) is None]
    if missing:
        raise _UsageError(
            f"{adapter.name} needs --{missing[0].replace('_', '-')} "
            "(see: tokencancel cancel --help)"
        )
    if args.request_id is not None and adapter.request_id_name is None:
        raise _UsageError(f"{adapter.name} takes no request id")
    settings = adapter.settings_from_env(env)
    given = {name: value for name, value in fields.items() if value is not None}
    with TokenCancelClient(
        settings=[settings], timeout=_timeout(args), **options_from_env(env)
    ) as client:
        result = client.cancel(
            cast("ProviderName", adapter.name), args.token_id, request_id=args.request_id, **given
        )
    _print_line(redact(json.dumps(result.to_json_dict(), ensure_ascii=False)))
    return ExitCode.OK


def _all_field_names() -> list[str]:
    return sorted({name for adapter in REGISTRY.values() for name in adapter.field_names})


def _print_line(text: str) -> None:
    """Print one line on stdout; a reader that went away does not change the exit code.

    The work is done by then: only its report can be lost. A closed pipe (`| head`, `| true`)
    loses it silently; any other failure (a full disk) says so on stderr.
    """
    stream = sys.stdout
    if stream is None:  # started with stdout closed
        return
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError) as error:
        # Point stdout at devnull, so the interpreter's final flush does not fail again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        if getattr(error, "errno", None) != errno.EPIPE:
            reason = getattr(error, "strerror", None) or type(error).__name__
            _say(
                f"{_PROG}: warning: the result could not be written to stdout ({reason}); "
                "the work itself was done"
            )


# -- check --------------------------------------------------------------------------------------


def _add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Prove a provider's configuration before a real cancel, with one call that changes "
        "nothing: a cancel of a token id that cannot exist, well-formed for the provider. The "
        "provider's documented not-found answer proves the base URL reaches its API, TLS, and "
        "the credentials; its authentication answer shows the credentials are wrong; an answer "
        "of another shape shows the base URL is. What was verified goes to stderr, the report "
        "as JSON to stdout. KBank publishes no error codes: its credentials are proven only "
        f"with an outcome rule naming its authentication code ({OUTCOME_RULES_VARIABLE})."
    )
    parser.epilog = f"{EXIT_CODES_HELP}\n\n{_environment_help()}"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("provider", choices=list(REGISTRY), help="the provider")
    _timeout_argument(parser)


def _run_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    adapter = adapter_for(args.provider)
    settings = adapter.settings_from_env(env)
    options = options_from_env(env)
    report = asyncio.run(_check(adapter, settings, options, _timeout(args)))
    _say(report.render())
    _print_line(json.dumps(report.to_json_dict(), ensure_ascii=False))
    return report.exit_code


async def _check(
    adapter: ProviderAdapter[Any, Any],
    settings: Any,
    options: Mapping[str, Any],
    timeout: httpx2.Timeout,
) -> CheckReport:
    async with AsyncTokenCancelClient(settings=[settings], timeout=timeout, **options) as client:

        async def cancel(token_id: str, fields: Mapping[str, str]) -> Any:
            return await client.cancel(cast("ProviderName", adapter.name), token_id, **fields)

        return await adapter.check(settings, cancel, options["outcome_rules"])


def _say(text: str) -> None:
    """Human lines on stderr, control characters escaped; a closed stderr is not an error."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write("\n".join(escape_controls(line) for line in text.split("\n")) + "\n")
        sys.stderr.flush()


_COMMANDS: tuple[_Command, ...] = (
    _Command(
        name="cancel",
        help="cancel one token and print the result as JSON",
        add_arguments=_add_cancel_arguments,
        run=_run_cancel,
    ),
    _Command(
        name="check",
        help="prove a provider's configuration with a call that changes nothing",
        add_arguments=_add_check_arguments,
        run=_run_check,
    ),
    _Command(
        name="bulk",
        help="cancel many tokens at the provider's rate limit; resumable (see bulk --help)",
        add_arguments=add_bulk_arguments,
        run=run_bulk_command,
    ),
)


# -- the program --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the `tokencancel` parser with every subcommand in `_COMMANDS`."""
    verbosity = _Parser(add_help=False)
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="debug logging on stderr (secrets stay redacted)",
    )
    parser = _Parser(
        prog=_PROG,
        description="Cancel saved payment tokens at "
        + ", ".join(a.display_name for a in REGISTRY.values())
        + ".",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[verbosity],
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        subparser = subcommands.add_parser(command.name, help=command.help, parents=[verbosity])
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


@contextlib.contextmanager
def _logging_to_stderr(*, verbose: bool) -> Iterator[None]:
    """Log to stderr for the duration of the command: DEBUG with -v, else WARNING (retries)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # On the handler, the filter sees every record, from any logger, before it is written.
    handler.addFilter(redacting_filter())
    install_log_redaction()
    root = logging.getLogger()
    previous_level = root.level
    # TOKENCANCEL_LOG's own handler steps aside, so each record is written once; its level
    # still counts (TOKENCANCEL_LOG=info shows the INFO lines without -v).
    with suspended_env_logging() as env_level:
        root.addHandler(handler)
        level = logging.DEBUG if verbose else logging.WARNING
        root.setLevel(level if env_level is None else min(level, env_level))
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(previous_level)


def _fail(message: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(f"{_PROG}: error: {escape_controls(' '.join(redact(message).split()))}\n")


def exit_code_of(error: TokenCancelError) -> int:
    """The exit code for a cancel that failed with `error` (the table in `tokencancel._exit`)."""
    category = category_of(error)
    return ExitCode.USAGE if category is Category.FATAL else category.exit_code


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv) and return the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # --help and --version print and ask to exit
        return exit_request.code if isinstance(exit_request.code, int) else ExitCode.USAGE
    except _UsageError as error:
        _fail(str(error))
        return ExitCode.USAGE
    verbose = bool(getattr(args, "verbose", False))
    with _logging_to_stderr(verbose=verbose):
        return _run(args, os.environ if env is None else env, verbose=verbose)


def _run(args: argparse.Namespace, env: Mapping[str, str], *, verbose: bool) -> int:
    """Run the chosen subcommand, turning every failure into one line and an exit code."""
    try:
        return int(args.run(args, env))
    except _UsageError as error:
        _fail(str(error))
        return ExitCode.USAGE
    except TokenCancelError as error:
        _fail(str(error))
        return exit_code_of(error)
    except KeyboardInterrupt:
        _fail("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:
        if verbose:
            logger.exception("internal error")
        _fail(f"internal error ({type(error).__name__}); run with -v for details")
        return ExitCode.INTERNAL
