"""No secret in logs (at every level, httpx2 and httpcore2 included), reprs or exception text.

The server here is hostile on purpose: it echoes every credential back in response headers and
in error messages, so a log line or an exception that repeats what the provider said would leak.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from tokencancel import (
    KBankSettings,
    SolidgateSettings,
    TokenCancelClient,
    TokenCancelError,
    XenditSettings,
)
from tokencancel._redact import redact
from tokencancel.providers.solidgate import solidgate_signature
from tokencancel.providers.xendit import xendit_authorization

from .loopback_server import (
    KBANK_PARTNER_SECRET,
    KBANK_TOKEN,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    SOLIDGATE_TOKEN,
    XENDIT_SECRET_KEY,
    XENDIT_TOKEN,
    CaptureServer,
    json_reply,
)

BASIC = xendit_authorization(XENDIT_SECRET_KEY)
SIGNATURE = solidgate_signature(
    SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, json.dumps({"token": SOLIDGATE_TOKEN}).encode()
)
FORBIDDEN = (
    KBANK_PARTNER_SECRET,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    XENDIT_SECRET_KEY,
    BASIC.removeprefix("Basic "),
    SIGNATURE,
)
ECHOED_HEADERS = (
    ("Authorization", BASIC),
    ("Partner-Secret", KBANK_PARTNER_SECRET),
    ("merchant", SOLIDGATE_PUBLIC_KEY),
    ("signature", SIGNATURE),
    ("X-Debug", f"secret={SOLIDGATE_SECRET_KEY} sig {SIGNATURE}"),
)
LEAK = f"{KBANK_PARTNER_SECRET} {SOLIDGATE_SECRET_KEY} {XENDIT_SECRET_KEY} {SIGNATURE}"


def assert_clean(text: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in text


def leaking_replies():
    """Answers that repeat every secret: a retry (429), then a refusal per provider."""
    return [
        json_reply(429, {"error_code": "RATE_LIMIT_EXCEEDED", "message": LEAK}, *ECHOED_HEADERS),
        json_reply(401, {"error_code": "INVALID_API_KEY", "message": LEAK}, *ECHOED_HEADERS),
        json_reply(
            200,
            {"error": {"code": "1.01", "messages": [LEAK]}},
            *ECHOED_HEADERS,
        ),
        json_reply(
            200,
            {"statusCode": "10", "errorCode": "AUTHENTICATION_FAILED", "errorDesc": LEAK},
            *ECHOED_HEADERS,
        ),
    ]


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_no_secret_in_logs_or_errors_at_any_level(
    server: CaptureServer,
    client: TokenCancelClient,
    caplog: pytest.LogCaptureFixture,
    level,
    transport: str,
):
    """Logs of every logger at `level`, error text and error reprs never hold a secret."""
    server.script(*leaking_replies())
    errors: list[TokenCancelError] = []
    with caplog.at_level(level):
        for call in (
            lambda: client.cancel_xendit(XENDIT_TOKEN),
            lambda: client.cancel_solidgate(SOLIDGATE_TOKEN),
            lambda: client.cancel_kbank(KBANK_TOKEN, reference1="R"),
        ):
            with pytest.raises(TokenCancelError) as caught:
                call()
            errors.append(caught.value)
    assert_clean(caplog.text)
    for error in errors:
        assert_clean(str(error))
        assert_clean(repr(error))
        assert_clean(error.message)
    if level == logging.DEBUG:
        if transport != "aiohttp":  # httpcore2 does not carry aiohttp's requests
            # The httpcore2 trace of response headers was emitted, and arrived redacted.
            assert "receive_response_headers.complete" in caplog.text
        assert "[REDACTED]" in caplog.text
    if level <= logging.WARNING:
        assert "retrying in" in caplog.text


def test_reprs_hide_secrets(
    kbank_settings: KBankSettings,
    solidgate_settings: SolidgateSettings,
    xendit_settings: XenditSettings,
    client: TokenCancelClient,
):
    """Settings and clients show no secret in repr()."""
    text = " ".join(
        repr(thing) for thing in (kbank_settings, solidgate_settings, xendit_settings, client)
    )
    assert_clean(text)
    assert "KP2XXX000033159" in text  # the partner id is not a secret, and helps debugging


@pytest.mark.parametrize(
    "text",
    [
        f"(b'Authorization', b'{BASIC}')",
        f"authorization: {BASIC}",
        f'"partnerSecret":"{KBANK_PARTNER_SECRET}"',
        f"signature={SIGNATURE}",
        f"plain {XENDIT_SECRET_KEY} in a sentence",
        base64.b64encode(f"{XENDIT_SECRET_KEY}:".encode()).decode(),
    ],
)
def test_redact_removes_credentials_in_every_shape(text: str):
    """Registered values, header pairs, JSON fields and signature-shaped strings are replaced."""
    XenditSettings(XENDIT_SECRET_KEY)  # registers the key and its Basic form
    KBankSettings("KP1", KBANK_PARTNER_SECRET)
    cleaned = redact(text)
    assert_clean(cleaned)
    assert "[REDACTED]" in cleaned


def test_redact_leaves_ordinary_text_alone():
    """Token ids, statuses and messages stay readable."""
    text = f"xendit: token {XENDIT_TOKEN} not found (HTTP 404, DATA_NOT_FOUND)"
    assert redact(text) == text
