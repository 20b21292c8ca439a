"""`Sandbox`: a running sandbox server, started from Python (test fixtures) or the CLI."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tokencancel_sandbox._app import SandboxApp
from tokencancel_sandbox._config import SandboxConfig
from tokencancel_sandbox._server import SandboxHTTPServer

__all__ = ["Sandbox"]

# How often the serving loop checks for a stop request: close() waits up to this long.
_POLL_SECONDS = 0.02


class Sandbox:
    """A sandbox server listening on a real socket, serving from a background thread.

    Start one with `Sandbox.start()` (port 0 picks a free port) and use it as a context manager,
    or call `close()`. Tokens created here live in this sandbox only.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        *,
        spec_dir: Path | None = None,
        log_requests: bool = False,
    ) -> None:
        """Bind the socket (raises OSError if the port is taken); `serve()` or `start()` serve."""
        self.config = config or SandboxConfig()
        self._app = SandboxApp(self.config, spec_dir)
        self._server = SandboxHTTPServer((host, port), self._app, log_requests=log_requests)
        bound_host, self.port = self._server.server_address[:2]
        self.host = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self._thread: threading.Thread | None = None
        self._serving_in_caller = threading.Event()

    @classmethod
    def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        *,
        spec_dir: Path | None = None,
        log_requests: bool = False,
    ) -> Sandbox:
        """Start a sandbox serving in a daemon thread and return it."""
        sandbox = cls(host, port, config, spec_dir=spec_dir, log_requests=log_requests)
        sandbox._thread = threading.Thread(
            target=sandbox._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"tokencancel-sandbox-{sandbox.port}",
            daemon=True,
        )
        sandbox._thread.start()
        return sandbox

    def serve(self) -> None:
        """Serve in the calling thread until KeyboardInterrupt or `close()` from another thread."""
        self._serving_in_caller.set()
        try:
            self._server.serve_forever(poll_interval=_POLL_SECONDS)
        finally:
            self._serving_in_caller.clear()

    def close(self) -> None:
        """Stop serving and release the port (pending `slow` answers are abandoned)."""
        self._app.stopping.set()
        # shutdown() waits for serve_forever to return, so only call it while one runs or will.
        if self._thread is not None or self._serving_in_caller.is_set():
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The root URL, e.g. `http://127.0.0.1:8787`."""
        host = f"[{self.host}]" if ":" in str(self.host) else str(self.host)
        return f"http://{host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """The URL standing in for a provider's server, e.g. `.../kbank/v1`."""
        prefix = self._app.prefixes.get(str(provider))
        if prefix is None:
            raise ValueError(f"unknown provider {provider!r}")
        return self.url + prefix

    @property
    def credentials(self) -> dict[str, dict[str, str]]:
        """The valid credentials per provider, as `GET /_sandbox/credentials` returns them."""
        return self.config.credentials()

    def create_token(
        self,
        provider: str,
        status: str | None = None,
        fault: str | None = None,
        fault_times: int | None = None,
        **extra: Any,
    ) -> str:
        """Create a token (active by default) and return its id.

        `extra` takes the other control-API fields: `delay_seconds`, `token_id`, KBank's
        `reference1`, Xendit's payment token fields. Raises `ControlRequestError` (a
        ValueError) when a field is wrong, exactly as the control API would refuse it.
        """
        fields: dict[str, Any] = {
            name: value
            for name, value in (("status", status), ("fault", fault), ("fault_times", fault_times))
            if value is not None
        }
        fields.update(extra)
        return self._app.create_token(str(provider), fields).token_id

    def token_status(self, provider: str, token_id: str) -> str | None:
        """Return a token's current status in the provider's vocabulary, or None if unknown."""
        token = self._app.token(str(provider), token_id)
        return None if token is None else token.status

    def reset(self) -> None:
        """Forget every token and rate-limit window; seed the spec examples again."""
        self._app.reset()

    def env(self) -> dict[str, str]:
        """The overlay's environment variables pointing at this sandbox with valid credentials."""
        config = self.config
        return {
            "KBANK_PARTNER_ID": config.kbank.partner_id,
            "KBANK_PARTNER_SECRET": config.kbank.partner_secret,
            "KBANK_BASE_URL": self.base_url("kbank"),
            "SOLIDGATE_PUBLIC_KEY": config.solidgate.public_key,
            "SOLIDGATE_SECRET_KEY": config.solidgate.secret_key,
            "SOLIDGATE_BASE_URL": self.base_url("solidgate"),
            "XENDIT_SECRET_KEY": config.xendit.secret_key,
            "XENDIT_BASE_URL": self.base_url("xendit"),
        }

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r})"
