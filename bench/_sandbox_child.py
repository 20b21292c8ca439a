"""Run a sandbox in its own process for the benchmarks, so it does not share the client's GIL.

Prints one JSON line (`url`, `env`) once it listens, then serves until stdin closes.
Usage: python bench/_sandbox_child.py [--rate-limit PROVIDER=REQUESTS/SECONDS ...]
"""

from __future__ import annotations

import argparse
import json
import sys

from tokencancel_sandbox import RateLimit, Sandbox, SandboxConfig


def main() -> None:
    """Start the sandbox, announce it, and wait for the parent to close stdin."""
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
    config = SandboxConfig(rate_limits=limits)
    with Sandbox.start(host="127.0.0.1", port=0, config=config) as sandbox:
        sys.stdout.write(json.dumps({"url": sandbox.url, "env": sandbox.env()}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()


if __name__ == "__main__":
    main()
