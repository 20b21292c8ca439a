"""The `tokencancel` command line.

    tokencancel cancel {kbank,solidgate,xendit} TOKEN_ID [--reference1 R] [-v]

Configured from the environment (KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, KBANK_BASE_URL,
KBANK_CLIENT_CERT, KBANK_CLIENT_KEY; SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY,
SOLIDGATE_BASE_URL; XENDIT_SECRET_KEY, XENDIT_BASE_URL). On success the normalised result is
printed on stdout as one JSON object; on failure one line `tokencancel: error: ...` goes to
stderr, never a traceback, never a secret (not even with -v).

Exit codes:
    0    success: cancelled, cancellation pending, or already inactive
    1    the provider refused: authentication, not found, invalid request, rate limited after
         retries, provider server error
    2    usage or configuration error (bad arguments, missing variable, argument out of spec);
         nothing was sent
    3    transport failure, timeout, or an answer the spec does not describe
    4    internal error (a bug: please report it, with the -v output)
    130  interrupted

Subcommands register in `_COMMANDS`: a name, a help line, a function adding its arguments and a
function running it and returning the exit code. Adding one is one entry.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NoReturn

import attrs
import httpx2

from ._bulk import add_bulk_arguments, run_bulk_command
from ._client import DEFAULT_TIMEOUT, TokenCancelClient
from ._errors import (
    ConfigurationError,
    InvalidRequestError,
    ProviderError,
    TokenCancelError,
)
from ._provider import Provider
from ._redact import install_log_redaction, redact, redacting_filter
from ._settings import KBankSettings, SolidgateSettings, XenditSettings

__all__ = ["EXIT_CODES_HELP", "main"]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0    success: cancelled, cancellation pending, or already inactive
  1    refused by the provider (authentication, not found, invalid request,
       rate limited after retries, provider server error)
  2    usage or configuration error; nothing was sent
  3    transport failure, timeout, or an answer the spec does not describe
  4    internal error (please report it with the -v output)
  130  interrupted"""

_ENVIRONMENT_HELP = """\
environment:
  KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, KBANK_BASE_URL, KBANK_CLIENT_CERT, KBANK_CLIENT_KEY
  SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, SOLIDGATE_BASE_URL
  XENDIT_SECRET_KEY, XENDIT_BASE_URL
  A base URL is the spec's server URL (default: the provider's documented server); plain
  http:// is accepted for loopback hosts only."""

_PROG = "tokencancel"
logger = logging.getLogger("tokencancel")


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
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _add_cancel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Cancel one saved payment token and print the normalised result as one JSON object."
    )
    parser.epilog = f"{EXIT_CODES_HELP}\n\n{_ENVIRONMENT_HELP}"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "provider", choices=[provider.value for provider in Provider], help="the provider"
    )
    parser.add_argument(
        "token_id",
        metavar="TOKEN_ID",
        help="the token: KBank tokenId, Solidgate recurring token, Xendit payment_token_id",
    )
    parser.add_argument(
        "--reference1",
        metavar="R",
        help="KBank only, required: the partner reference given when the token was created",
    )
    parser.add_argument(
        "--partner-txn-uid",
        metavar="ID",
        help="KBank only: this request's partnerTxnUid (at most 15 characters; default: fresh)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="read/write timeout (default: 15; connecting: 5)",
    )


_SETTINGS_FROM_ENV: dict[
    Provider, Callable[[Mapping[str, str]], KBankSettings | SolidgateSettings | XenditSettings]
] = {
    Provider.KBANK: KBankSettings.from_env,
    Provider.SOLIDGATE: SolidgateSettings.from_env,
    Provider.XENDIT: XenditSettings.from_env,
}


def _run_cancel(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    provider = Provider(args.provider)
    if provider is Provider.KBANK and args.reference1 is None:
        raise _UsageError("kbank needs --reference1 (see: tokencancel cancel --help)")
    if provider is not Provider.KBANK and (args.reference1 or args.partner_txn_uid):
        raise _UsageError("--reference1 and --partner-txn-uid apply to kbank only")
    settings = _SETTINGS_FROM_ENV[provider](env)
    timeout = (
        DEFAULT_TIMEOUT
        if args.timeout is None
        else httpx2.Timeout(args.timeout, connect=min(args.timeout, 5.0))
    )
    with TokenCancelClient(
        kbank=settings if isinstance(settings, KBankSettings) else None,
        solidgate=settings if isinstance(settings, SolidgateSettings) else None,
        xendit=settings if isinstance(settings, XenditSettings) else None,
        timeout=timeout,
    ) as client:
        if provider is Provider.KBANK:
            result = client.cancel_kbank(
                args.token_id, reference1=args.reference1, partner_txn_uid=args.partner_txn_uid
            )
        else:
            result = client.cancel(provider, args.token_id)
    print(redact(json.dumps(result.to_json_dict(), ensure_ascii=False)))
    return EXIT_OK


_COMMANDS: tuple[_Command, ...] = (
    _Command(
        name="cancel",
        help="cancel one token and print the result as JSON",
        add_arguments=_add_cancel_arguments,
        run=_run_cancel,
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
        description="Cancel saved payment tokens at KBank K PLUS, Solidgate and Xendit.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[verbosity],
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} 0.1.0")
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
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def _fail(message: str) -> None:
    sys.stderr.write(f"{_PROG}: error: {' '.join(redact(message).split())}\n")


def _exit_code(error: TokenCancelError) -> int:
    if isinstance(error, ProviderError):
        return EXIT_REFUSED
    if isinstance(error, ConfigurationError | InvalidRequestError):
        return EXIT_USAGE
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv) and return the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # --help and --version print and ask to exit
        return exit_request.code if isinstance(exit_request.code, int) else EXIT_USAGE
    except _UsageError as error:
        _fail(str(error))
        return EXIT_USAGE
    verbose = bool(getattr(args, "verbose", False))
    with _logging_to_stderr(verbose=verbose):
        return _run(args, os.environ if env is None else env, verbose=verbose)


def _run(args: argparse.Namespace, env: Mapping[str, str], *, verbose: bool) -> int:
    """Run the chosen subcommand, turning every failure into one line and an exit code."""
    try:
        return int(args.run(args, env))
    except _UsageError as error:
        _fail(str(error))
        return EXIT_USAGE
    except TokenCancelError as error:
        _fail(str(error))
        return _exit_code(error)
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:
        if verbose:
            logger.exception("internal error")
        _fail(f"internal error ({type(error).__name__}); run with -v for details")
        return EXIT_INTERNAL
