"""The body of one answer, read raw and decompressed here under a cap, layer by layer.

The raw bytes and every layer's output count against `max_response_bytes`, so a 200 MB body or
a decompression bomb ends in `ResponseTooLargeError` before the memory is spent. Only gzip,
deflate and identity are accepted (the only encodings asked for), at most three layers.
"""

from __future__ import annotations

import zlib
from typing import Any, Final

import httpx2

from ._errors import (
    ResponseTooLargeError,
    UnexpectedResponseError,
)
from ._messages import Answer, AttemptFacts
from ._redact import AnswerRedactor

__all__ = ["BoundedBody"]

_MAX_ENCODINGS: Final = 3


class BoundedBody:
    """Decodes a raw body layer by layer, never holding more than `cap` bytes of any layer."""

    def __init__(
        self,
        response: httpx2.Response,
        cap: int,
        facts: AttemptFacts,
        request_secrets: list[str],
    ) -> None:
        self.cap = cap
        self._facts = facts
        self._request_secrets = request_secrets
        self._status = response.status_code
        self._headers = response.headers
        declared = self._headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self.too_large()
        encodings = [
            token.strip().lower()
            for token in self._headers.get("content-encoding", "").split(",")
            if token.strip() and token.strip().lower() != "identity"
        ]
        if len(encodings) > _MAX_ENCODINGS:
            raise self.unexpected(f"{len(encodings)} content encodings, one on top of the other")
        # Listed in the order applied, so decoded in reverse.
        self._layers = [self._layer(name) for name in reversed(encodings)]
        self._decoded = bytearray()
        self._raw = 0

    def _layer(self, name: str) -> _Layer:
        if name in {"gzip", "x-gzip"}:
            return _Layer(self, zlib.decompressobj(16 + zlib.MAX_WBITS), raw_fallback=False)
        if name == "deflate":
            return _Layer(self, zlib.decompressobj(), raw_fallback=True)
        raise self.unexpected(f"Content-Encoding {name!r}, which was not asked for")

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk."""
        # The raw bytes count too: a compressed answer near the cap is no provider's answer,
        # and bytes that decode to nothing (gzip's trailing junk, empty deflate blocks) would
        # otherwise be read until the deadline.
        self._raw += len(chunk)
        if self._raw > self.cap:
            raise self.too_large()
        data = chunk
        for layer in self._layers:
            data = layer.decompress(data)
        self._keep(data)

    def feed_decoded(self, data: bytes) -> None:
        """Take a body the transport has already decoded (an in-memory answer)."""
        self._layers = []
        self._keep(data)

    def answer(self) -> Answer:
        """The whole answer, once the raw body has ended (secrets a server echoed redacted)."""
        data = b""
        for layer in self._layers:
            data = layer.decompress(data) + layer.flush()
        self._keep(data)
        redacted = AnswerRedactor(self._request_secrets)
        raw = self._headers.raw
        # One pass over every header at once; each one is redacted on its own only when that
        # pass finds something (a server echoing a credential), which answers almost never do.
        joined = b"\n".join(name + b": " + value for name, value in raw)
        headers = self._headers
        if redacted(joined) != joined:
            headers = httpx2.Headers([(redacted(name), redacted(value)) for name, value in raw])
        return Answer(self._status, headers, redacted(bytes(self._decoded)))

    def _keep(self, data: bytes) -> None:
        if len(self._decoded) + len(data) > self.cap:
            raise self.too_large()
        self._decoded += data

    def too_large(self) -> ResponseTooLargeError:
        """The error for an answer over the cap."""
        return ResponseTooLargeError(
            f"the answer from {self._facts.display_name} is larger than the "
            f"{self.cap:,}-byte cap (max_response_bytes)",
            provider=self._facts.provider,
            http_status=self._status,
            request_id=self._facts.request_id,
        )

    def unexpected(self, what: str) -> UnexpectedResponseError:
        """The error for a body this client will not decode: `what` it was sent with."""
        return UnexpectedResponseError(
            f"unexpected answer: {self._facts.display_name} sent {what}",
            provider=self._facts.provider,
            http_status=self._status,
            request_id=self._facts.request_id,
        )

    def undecodable(self) -> UnexpectedResponseError:
        """The error for a body whose declared encoding does not decode."""
        return UnexpectedResponseError(
            f"unexpected answer: the body from {self._facts.display_name} could not be "
            "decompressed",
            provider=self._facts.provider,
            http_status=self._status,
            request_id=self._facts.request_id,
        )


class _Layer:
    """One Content-Encoding layer, decompressed with its output bounded by the body's cap."""

    def __init__(self, body: BoundedBody, decompressor: Any, *, raw_fallback: bool) -> None:
        self._body = body
        self._decompressor = decompressor
        self._raw_fallback = raw_fallback
        self._started = False

    def decompress(self, data: bytes) -> bytes:
        if not data or self._decompressor.eof:
            # After the end of the stream zlib would keep every further byte in `unused_data`:
            # trailing bytes are dropped instead (as httpx2 ignores them), so they cost nothing.
            return b""
        cap = self._body.cap
        try:
            out = self._decompressor.decompress(data, cap + 1)
        except zlib.error:
            if self._raw_fallback and not self._started:
                # "deflate" is sent both with and without the zlib wrapper; httpx2 reads both.
                self._raw_fallback = False
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decompress(data)
            raise self._body.undecodable() from None
        self._started = True
        if len(out) > cap or self._decompressor.unconsumed_tail:
            raise self._body.too_large()  # more output waits than the cap allows
        return bytes(out)

    def flush(self) -> bytes:
        if not self._started or self._decompressor.eof:
            return b""
        out = self._decompressor.flush(self._body.cap + 1)
        if len(out) > self._body.cap:
            raise self._body.too_large()
        return bytes(out)
