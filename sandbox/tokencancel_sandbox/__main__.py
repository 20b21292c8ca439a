"""`python -m tokencancel_sandbox`: serve the sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from tokencancel_sandbox._config import (
    KBANK_CREDENTIALS_MODES,
    KBANK_REQUEST_DT_FORMS,
    PROVIDERS,
    VOCABULARIES,
    RateLimit,
    SandboxConfig,
)
from tokencancel_sandbox._errors import SandboxError
from tokencancel_sandbox._sandbox import Sandbox
from tokencancel_sandbox._spec import SpecNotFoundError

__all__ = ["main"]


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
        prog="python -m tokencancel_sandbox",
        description="Serve the local emulator of KBank, Solidgate and Xendit cancel-token APIs.",
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
    parser.add_argument("--log-requests", action="store_true", help="log method, path, status")
    return parser


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until interrupted; return the exit status."""
    arguments = _parser().parse_args(argv)
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
            arguments.host, arguments.port, config, log_requests=arguments.log_requests
        )
    except (SandboxError, SpecNotFoundError) as error:
        print(f"tokencancel-sandbox: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"tokencancel-sandbox: cannot listen on {arguments.host}:{arguments.port}: "
            f"{error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(
        f"tokencancel sandbox listening on {sandbox.url} (kbank {sandbox.base_url('kbank')}, "
        f"solidgate {sandbox.base_url('solidgate')}, xendit {sandbox.base_url('xendit')}); "
        f"credentials: curl {sandbox.url}/_sandbox/credentials; Ctrl-C stops it",
        flush=True,
    )
    try:
        sandbox.serve()
    except KeyboardInterrupt:
        print("tokencancel sandbox stopped", flush=True)
    finally:
        sandbox.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
