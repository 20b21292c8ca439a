"""The TLS mode: a throwaway CA made at start, a server certificate it signs, and the CA's PEM file.

trustme makes the CA and the certificate in memory (fresh keys each start, nothing reused); the
CA certificate is written to a file so that clients can trust it (`TOKENCANCEL_CA_BUNDLE`), and
that file is removed when the sandbox closes unless the caller chose where it goes.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokencancel_sandbox._errors import SandboxConfigError

__all__ = ["DEFAULT_TLS_NAMES", "ThrowawayTLS", "check_hostname"]

#: The names every sandbox certificate is valid for: loopback by address and by name.
DEFAULT_TLS_NAMES = ("127.0.0.1", "::1", "localhost")

_DNS_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*\.?")


def check_hostname(name: str) -> str:
    """Return `name` if it is a DNS host name or an IP address; raise SandboxConfigError else."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if len(name) <= 253 and _HOSTNAME.fullmatch(name):  # noqa: PLR2004 -- DNS's name limit
        return name
    raise SandboxConfigError(f"not a host name or IP address for the certificate: {name!r}")


@dataclass
class ThrowawayTLS:
    """A CA and server certificate for one sandbox run, and where the CA's PEM was written."""

    ca_path: Path
    ca_pem: bytes
    names: tuple[str, ...]
    server_context: ssl.SSLContext
    _owned_dir: Path | None

    @classmethod
    def create(cls, hostnames: Sequence[str] = (), ca_file: Path | None = None) -> ThrowawayTLS:
        """Make the CA and a certificate for loopback and `hostnames`; write the CA's PEM.

        The PEM goes to `ca_file` when given (left in place on close, for a client container
        to read), else to a fresh private temporary directory removed on close.
        """
        import trustme  # noqa: PLC0415 -- only the TLS mode needs it

        names = tuple(dict.fromkeys([*DEFAULT_TLS_NAMES, *map(check_hostname, hostnames)]))
        authority = trustme.CA(organization_name="tokencancel sandbox (throwaway test CA)")
        certificate = authority.issue_cert(*names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        owned_dir = None
        if ca_file is None:
            owned_dir = Path(tempfile.mkdtemp(prefix="tokencancel-sandbox-"))
            ca_path = owned_dir / "ca.pem"
        else:
            ca_path = Path(ca_file).resolve()
        ca_pem = authority.cert_pem.bytes()
        try:
            ca_path.write_bytes(ca_pem)
        except OSError as error:
            if owned_dir is not None:
                shutil.rmtree(owned_dir, ignore_errors=True)
            raise SandboxConfigError(
                f"cannot write the CA certificate to {ca_path}: {error.strerror or error}"
            ) from None
        return cls(ca_path, ca_pem, names, context, owned_dir)

    def close(self) -> None:
        """Remove the CA file's directory if the sandbox made it."""
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None
