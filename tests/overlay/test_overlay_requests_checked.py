"""Requests are checked against the spec before they leave: a refused one sends nothing."""

from __future__ import annotations

import pytest
from tokencancel import (
    ConfigurationError,
    InvalidRequestError,
    Provider,
    ProviderError,
    TokenCancelClient,
    TokenCancelError,
    XenditSettings,
)

from .loopback_server import KBANK_TOKEN, XENDIT_TOKEN, CaptureServer


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda c: c.cancel_xendit(XENDIT_TOKEN[:-1]), "exactly 39 characters"),
        (lambda c: c.cancel_xendit(XENDIT_TOKEN + "0"), "exactly 39 characters"),
        (lambda c: c.cancel_xendit(""), "must not be empty"),
        (lambda c: c.cancel_solidgate(""), "must not be empty"),
        (lambda c: c.cancel_solidgate("   "), "visible ASCII without spaces"),
        (lambda c: c.cancel_solidgate("tok\r\nX-Forged: 1"), "control characters"),
        (lambda c: c.cancel_solidgate("tok\ud800"), "visible ASCII"),
        (
            lambda c: c.cancel_kbank(KBANK_TOKEN, reference1="R", partner_txn_uid="A\nB"),
            "partner_txn_uid must be visible ASCII",
        ),
        (lambda c: c.cancel_solidgate(123), "must be a string"),
        (lambda c: c.cancel_kbank("", reference1="R"), "must not be empty"),
        (lambda c: c.cancel_kbank(KBANK_TOKEN, reference1=""), "reference1 must not be empty"),
        (
            lambda c: c.cancel_kbank(KBANK_TOKEN, reference1="R", partner_txn_uid="X" * 16),
            "at most 15 characters",
        ),
        (lambda c: c.cancel("xendit", XENDIT_TOKEN, reference1="R"), "does not apply to Xendit"),
        (lambda c: c.cancel("kbank", KBANK_TOKEN), "needs reference1"),
        (lambda c: c.cancel("paypal", "tok"), "unknown provider"),
    ],
)
def test_out_of_spec_arguments_are_refused_before_sending(
    server: CaptureServer, client: TokenCancelClient, call, fragment
):
    """An argument the spec forbids raises InvalidRequestError naming the rule; nothing is sent."""
    with pytest.raises(InvalidRequestError, match=fragment) as caught:
        call(client)
    assert not isinstance(caught.value, ProviderError)
    assert caught.value.http_status is None
    assert server.requests == []


def test_generic_cancel_reaches_each_provider(server: CaptureServer, client: TokenCancelClient):
    """cancel(provider, ...) accepts the enum or its string and calls that provider."""
    server.script()
    for provider in (Provider.XENDIT, "xendit"):
        with pytest.raises(TokenCancelError):  # the server's default answer is a 404
            client.cancel(provider, XENDIT_TOKEN)
    assert [request.path for request in server.requests] == [
        f"/v3/payment_tokens/{XENDIT_TOKEN}/cancel"
    ] * 2


def test_an_unconfigured_provider_is_a_configuration_error(
    xendit_settings: XenditSettings, make_client
):
    """Calling a provider the client was not given names what to configure."""
    with make_client(xendit=xendit_settings) as token_client:
        with pytest.raises(ConfigurationError, match="KBANK_PARTNER_ID"):
            token_client.cancel_kbank(KBANK_TOKEN, reference1="R")
        assert token_client.providers == (Provider.XENDIT,)
