"""Solidgate request signing: one pure function, shared by the client, the sandbox and the fuzzer.

Solidgate signs nothing but the body, and does not canonicalise JSON: the signature must be
computed over exactly the bytes that go on the wire, whoever serialised them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def solidgate_signature(public_key: str, secret_key: str, body: bytes) -> str:
    """Return the `signature` header for a request carrying `body`.

    `base64(lowercase_hex(HMAC-SHA512(secret_key, public_key + body + public_key)))`: the
    128-character hex digest is what gets base64-encoded, so the result is always 172 characters.
    A body-less request signs `public_key + public_key`.
    """
    key = public_key.encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), key + body + key, hashlib.sha512).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def solidgate_signature_matches(
    public_key: str, secret_key: str, body: bytes, signature: str
) -> bool:
    """Tell, in constant time, whether `signature` is the right one for `body`."""
    expected = solidgate_signature(public_key, secret_key, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))
