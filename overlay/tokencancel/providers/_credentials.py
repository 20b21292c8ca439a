"""Where a provider's credentials go on a request, and the auth flow that puts them there."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping

import attrs
import httpx2

from .._redact import note_request_secret

__all__ = ["CredentialAuth", "CredentialPlacement"]


@attrs.frozen(repr=False)
class CredentialPlacement:
    """Where a provider's credentials go on a request: one description, read by every sender.

    The client's auth flow (`CredentialAuth`) and the contract run's hooks both apply it, so
    the fuzzer authenticates exactly as the client does.

    Attributes:
        headers: Header name to value.
        body_fields: JSON body field to value, added to the serialised body object.
        signature_header: The header that carries a signature of the exact bytes sent.
        sign: The signature of a body (`signature_header` is set to `sign(body)`).
    """

    headers: Mapping[str, str] = attrs.field(factory=dict)
    body_fields: Mapping[str, str] = attrs.field(factory=dict)
    signature_header: str | None = None
    sign: Callable[[bytes], str] | None = None

    def __repr__(self) -> str:
        return "CredentialPlacement(<hidden>)"


class CredentialAuth(httpx2.Auth):
    """Apply a `CredentialPlacement` to each request as it leaves, and nowhere else.

    Body fields are spliced into the serialised JSON object (the client builds the body without
    them, so no frame of the call path holds a secret); a body that already names a field (a
    generated request model used directly, which requires them) keeps its own and gets only the
    missing ones. The signature, when there is one, is computed last, over the exact bytes that
    will be sent.
    """

    requires_request_body = True

    def __init__(self, placement: CredentialPlacement) -> None:
        self._placement = placement
        # `{"field":"value",...,` built once per client, not per request: the body's own
        # members follow it. The settings already hold the secrets, so this holds no more.
        self._body_prefix = _prefix(placement.body_fields)
        self._field_keys = [(name, json.dumps(name).encode()) for name in placement.body_fields]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<credentials hidden>)"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Add the headers, splice the body fields, then sign the bytes."""
        placement = self._placement
        for name, value in placement.headers.items():
            request.headers[name] = value
        content = request.content
        if self._body_prefix and content.startswith(b'{"'):
            present = {name for name, key in self._field_keys if key in content}
            prefix = (
                self._body_prefix
                if not present
                else _prefix(
                    {k: v for k, v in self._placement.body_fields.items() if k not in present}
                )
            )
            body = prefix + content[1:] if prefix else content
            # Replaced in place, as `Request.read()` leaves an in-memory body (stream and
            # content), rather than by building a second Request: that cost a KBank cancel a
            # quarter of its CPU (docs/bulk-and-bench.md, "Overhead cut").
            request.headers["Content-Length"] = str(len(body))
            request.stream = httpx2.ByteStream(body)
            request._content = body
        if placement.signature_header is not None and placement.sign is not None:
            signature = placement.sign(request.content)
            # Each request's signature is its own; a server echoing it, even base64-encoded, has
            # it redacted from that request's answer (a shape pattern covers only the plain form).
            note_request_secret(signature)
            request.headers[placement.signature_header] = signature
        yield request


def _prefix(fields: Mapping[str, str]) -> bytes:
    """`{"field":"value",...,`: the start of a JSON object the body's own members follow."""
    if not fields:
        return b""
    return json.dumps(dict(fields), separators=(",", ":")).encode()[:-1] + b","
