"""`tokencancel-sandbox` / `python -m tokencancel_sandbox`: serve the sandbox until Ctrl-C.

Standard output is a shell script: comment lines saying where the sandbox listens, then one
`export NAME='value'` line per variable the client needs (`GET /_sandbox/env` answers the same
lines). Logs go to standard error. Exit status: 0 after Ctrl-C or SIGTERM, 1 if the address
cannot be bound, 2 for a usage error or when the `sandbox` extra is not installed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from tokencancel_sandbox._config import (
    KBANK_CREDENTIALS_MODES,
    KBANK_REQUEST_DT_FORMS,
    PROVIDERS,
    VOCABULARIES,
    RateLimit,
    SandboxConfig,
)
from tokencancel_sandbox._errors import SandboxError
from tokencancel_sandbox._extra import is_missing_extra, missing_extra_message

if TYPE_CHECKING:
    from tokencancel_sandbox._sandbox import Sandbox

__all__ = ["main"]

_PROGRAM = "tokencancel-sandbox"


def _rate_limit(text: str) -> tuple[str, RateLimit]:
    """Parse `provider=REQUESTS/SECONDS`, e.g. `xendit=60/60`."""
    provider, _, limit = text.partition("=")
    requests, _, seconds = limit.partition("/")
    problem = argparse.ArgumentTypeError(
        f"expected PROVIDER=REQUESTS/SECONDS with PROVIDER one of {', '.join(PROVIDERS)}, "
        f"e.g. xendit=60/60; got {text!r}"
    )
    if provider not in PROVIDERS:
        raise problem
    try:
        return provider, RateLimit(int(requests), float(seconds))
    except (ValueError, SandboxError):
        raise problem from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROGRAM,
        description="Serve the local emulator of KBank, Solidgate and Xendit cancel-token APIs. "
        "Standard output is shell script: the client's variables as export lines.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0: any free)")
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        action="append",
        default=[],
        metavar="PROVIDER=REQUESTS/SECONDS",
        help="limit a provider's API calls, e.g. xendit=60/60 (repeatable; off by default)",
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=SandboxConfig.cancel_settle_seconds,
        help="how long a Solidgate token stays processing after a cancel (default %(default)s)",
    )
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=SandboxConfig.slow_seconds,
        help="delay of the `slow` fault (default %(default)s)",
    )
    parser.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every answer against the spec before sending it",
    )
    parser.add_argument(
        "--kbank-credentials",
        choices=KBANK_CREDENTIALS_MODES,
        default=SandboxConfig.kbank_credentials,
        help="where KBank's partner credentials must be: in the body alone (headers, when sent, "
        "must match) or in headers and body (default %(default)s)",
    )
    parser.add_argument(
        "--kbank-request-dt",
        choices=KBANK_REQUEST_DT_FORMS,
        default=SandboxConfig.kbank_request_dt,
        help="which KBank requestDt form is accepted: epoch seconds, the portal's local "
        "date-time string, or either (default %(default)s)",
    )
    parser.add_argument(
        "--vocabulary",
        choices=VOCABULARIES,
        default=SandboxConfig.vocabulary,
        help="`unknown` answers cancels with codes, statuses and texts no client has seen "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve https with a throwaway CA made at start (its certificate file is printed "
        "and exported as TOKENCANCEL_CA_BUNDLE)",
    )
    parser.add_argument(
        "--tls-hostname",
        action="append",
        default=[],
        metavar="NAME",
        help="another name the certificate is valid for, e.g. `sandbox` for a container reached "
        "as https://sandbox:8787 (repeatable; 127.0.0.1, ::1 and localhost always are)",
    )
    parser.add_argument(
        "--tls-ca-file",
        type=Path,
        metavar="PATH",
        help="write the CA certificate here (kept on exit) instead of a temporary file",
    )
    parser.add_argument("--log-requests", action="store_true", help="log method, path, status")
    return parser


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _announce(sandbox: Sandbox) -> None:
    """Print where the sandbox listens, as comments, then the client's environment as exports."""
    lines = [
        f"# tokencancel sandbox listening on {sandbox.url} (kbank {sandbox.base_url('kbank')}, "
        f"solidgate {sandbox.base_url('solidgate')}, xendit {sandbox.base_url('xendit')}); "
        "Ctrl-C stops it",
    ]
    curl = "curl -s"
    if sandbox.ca_bundle is not None:
        lines.append(f"# TLS: throwaway CA certificate in {sandbox.ca_bundle}")
        curl = f"curl -s --cacert {sandbox.ca_bundle}"
    lines.append(
        "# the client's environment (also: eval \"$("
        f'{curl} {sandbox.url}/_sandbox/env)"); throwaway test credentials:'
    )
    print("\n".join(lines), flush=True)
    print(sandbox.exports(), end="", flush=True)


def _serve(arguments: argparse.Namespace) -> int:
    from tokencancel_sandbox._sandbox import Sandbox  # noqa: PLC0415 -- needs the extra
    from tokencancel_sandbox._spec import SpecNotFoundError  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        config = SandboxConfig(
            rate_limits=dict(arguments.rate_limit),
            cancel_settle_seconds=arguments.settle_seconds,
            slow_seconds=arguments.slow_seconds,
            validate_responses=arguments.validate_responses,
            kbank_credentials=arguments.kbank_credentials,
            kbank_request_dt=arguments.kbank_request_dt,
            vocabulary=arguments.vocabulary,
        )
        sandbox = Sandbox(
            arguments.host,
            arguments.port,
            config,
            log_requests=arguments.log_requests,
            tls=arguments.tls,
            tls_hostnames=arguments.tls_hostname,
            tls_ca_file=arguments.tls_ca_file,
        )
    except (SandboxError, SpecNotFoundError) as error:
        print(f"{_PROGRAM}: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"{_PROGRAM}: cannot listen on {arguments.host}:{arguments.port}: "
            f"{error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    _announce(sandbox)
    try:
        sandbox.serve()
    except KeyboardInterrupt:
        print("# tokencancel sandbox stopped", flush=True)
    finally:
        sandbox.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until interrupted; return the exit status."""
    arguments = _parser().parse_args(argv)
    try:
        return _serve(arguments)
    except ModuleNotFoundError as missing:
        if not is_missing_extra(missing):
            raise
        print(f"{_PROGRAM}: {missing_extra_message(missing)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
