"""Run a sandbox in its own process for the benchmarks, so it does not share the client's GIL.

Prints one JSON line (`url`, `env`) once it listens, then serves until stdin closes, and then
prints a second line with the server-side rate-limit log: the time of every call the sandbox's
limiter accepted and the number it refused (429). The log wraps the sandbox's own limiter, so
the figures are what the server saw, not what the client believes it sent.
Usage: python bench/_sandbox_child.py [--rate-limit PROVIDER=REQUESTS/SECONDS ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from tokencancel_sandbox import RateLimit, Sandbox, SandboxConfig
from tokencancel_sandbox._ratelimit import SlidingWindowLimiter

_accepted: list[float] = []
_refused = 0
_log_lock = threading.Lock()
_acquire = SlidingWindowLimiter.acquire


def _logged_acquire(self: SlidingWindowLimiter) -> float | None:
    global _refused  # noqa: PLW0603 - one log per process, read once at exit
    with _log_lock:
        verdict = _acquire(self)
        if verdict is None:
            _accepted.append(self._clock())
        else:
            _refused += 1
        return verdict


def main() -> None:
    """Start the sandbox, announce it, wait for the parent to close stdin, report the log."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate-limit", action="append", default=[])
    parser.add_argument("--switch-interval", type=float, default=None)
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    limits = {}
    for item in args.rate_limit:
        provider, _, spec = item.partition("=")
        requests, _, seconds = spec.partition("/")
        limits[provider] = RateLimit(requests=int(requests), per_seconds=float(seconds))
    SlidingWindowLimiter.acquire = _logged_acquire  # type: ignore[method-assign]
    config = SandboxConfig(rate_limits=limits)
    with Sandbox.start(host="127.0.0.1", port=0, config=config) as sandbox:
        sys.stdout.write(json.dumps({"url": sandbox.url, "env": sandbox.env()}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()
    with _log_lock:
        sys.stdout.write(json.dumps({"accepted": _accepted, "refused": _refused}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
