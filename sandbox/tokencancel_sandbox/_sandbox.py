"""`Sandbox`: a running sandbox server, started from Python (test fixtures) or the CLI."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tokencancel_sandbox._app import SandboxApp
from tokencancel_sandbox._config import SandboxConfig
from tokencancel_sandbox._conventions import OUTCOME_RULES_PATH
from tokencancel_sandbox._environment import (
    CA_BUNDLE_VARIABLE,
    OUTCOME_RULES_VARIABLE,
    shell_exports,
)
from tokencancel_sandbox._errors import SandboxConfigError
from tokencancel_sandbox._server import SandboxHTTPServer
from tokencancel_sandbox._tls import ThrowawayTLS

__all__ = ["Sandbox"]

# How often the serving loop checks for a stop request: close() waits up to this long.
_POLL_SECONDS = 0.02
# Addresses that mean "every interface": no client can connect to them by that name.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 -- recognised, not bound


class Sandbox:
    """A sandbox server listening on a real socket, serving from a background thread.

    Start one with `Sandbox.start()` (port 0 picks a free port) and use it as a context manager,
    or call `close()`. Tokens created here live in this sandbox only.

    With `tls=True` it serves https with a throwaway CA made at start: the certificate is valid
    for 127.0.0.1, ::1, localhost and every name in `tls_hostnames`; the CA's PEM is written to
    `tls_ca_file` (else a temporary file removed on close) and named by `ca_bundle` and by
    `TOKENCANCEL_CA_BUNDLE` in `env()`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        *,
        spec_dir: Path | None = None,
        log_requests: bool = False,
        tls: bool = False,
        tls_hostnames: Sequence[str] = (),
        tls_ca_file: Path | None = None,
    ) -> None:
        """Bind the socket (raises OSError if the port is taken); `serve()` or `start()` serve."""
        if not tls and (tls_hostnames or tls_ca_file is not None):
            raise SandboxConfigError("tls_hostnames and tls_ca_file need tls=True")
        self.config = config or SandboxConfig()
        self._app = SandboxApp(self.config, spec_dir)
        self._tls = ThrowawayTLS.create(tls_hostnames, tls_ca_file) if tls else None
        try:
            self._server = SandboxHTTPServer(
                (host, port),
                self._app,
                log_requests=log_requests,
                ssl_context=self._tls.server_context if self._tls else None,
            )
        except BaseException:
            if self._tls is not None:
                self._tls.close()
            raise
        bound_host, self.port = self._server.server_address[:2]
        self.host = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self._tls_hostnames = tuple(tls_hostnames)
        self._app.environment = self.env
        self._app.ca_pem = self._tls.ca_pem if self._tls else None
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
        tls: bool = False,
        tls_hostnames: Sequence[str] = (),
        tls_ca_file: Path | None = None,
    ) -> Sandbox:
        """Start a sandbox serving in a daemon thread and return it."""
        sandbox = cls(
            host,
            port,
            config,
            spec_dir=spec_dir,
            log_requests=log_requests,
            tls=tls,
            tls_hostnames=tls_hostnames,
            tls_ca_file=tls_ca_file,
        )
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
        if self._tls is not None:
            self._tls.close()

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
        """The root URL, e.g. `http://127.0.0.1:8787` (https in the TLS mode).

        It names the address the sandbox is bound to; bound to every interface (0.0.0.0, ::),
        it names the first TLS host name if one was given, else 127.0.0.1.
        """
        host = self.host
        if host in _WILDCARD_HOSTS:
            host = self._tls_hostnames[0] if self._tls_hostnames else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self._tls else 'http'}://{host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """The URL standing in for a provider's server, e.g. `.../kbank/v1`."""
        prefix = self._app.prefixes.get(str(provider))
        if prefix is None:
            raise ValueError(f"unknown provider {provider!r}")
        return self.url + prefix

    @property
    def ca_bundle(self) -> Path | None:
        """The CA certificate file clients must trust (TLS mode), else None."""
        return self._tls.ca_path if self._tls else None

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
        """Every variable the client needs to use this sandbox, with its valid credentials.

        The providers' base URLs and credentials, `TOKENCANCEL_OUTCOME_RULES` (the file that
        explains the sandbox's own codes) and, in the TLS mode, `TOKENCANCEL_CA_BUNDLE`.
        """
        config = self.config
        environment = {
            "KBANK_PARTNER_ID": config.kbank.partner_id,
            "KBANK_PARTNER_SECRET": config.kbank.partner_secret,
            "KBANK_BASE_URL": self.base_url("kbank"),
            "SOLIDGATE_PUBLIC_KEY": config.solidgate.public_key,
            "SOLIDGATE_SECRET_KEY": config.solidgate.secret_key,
            "SOLIDGATE_BASE_URL": self.base_url("solidgate"),
            "XENDIT_SECRET_KEY": config.xendit.secret_key,
            "XENDIT_BASE_URL": self.base_url("xendit"),
            OUTCOME_RULES_VARIABLE: str(OUTCOME_RULES_PATH),
        }
        if self._tls is not None:
            environment[CA_BUNDLE_VARIABLE] = str(self._tls.ca_path)
        return environment

    def exports(self) -> str:
        """`env()` as `export NAME='value'` lines, as `GET /_sandbox/env` answers them."""
        return shell_exports(self.env())

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r})"
