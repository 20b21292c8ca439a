"""Configuration from arguments or the environment: base URLs, defaults, and clear failures."""

from __future__ import annotations

import pytest
from tokencancel import (
    AsyncTokenCancelClient,
    ConfigurationError,
    KBankSettings,
    Provider,
    SolidgateSettings,
    TokenCancelClient,
    XenditSettings,
)

from .loopback_server import KBANK_TOKEN, SOLIDGATE_TOKEN, XENDIT_TOKEN, CaptureServer, json_reply


def test_defaults_are_the_documented_servers():
    """Without a base URL each provider goes to the server its spec documents."""
    env = {
        "KBANK_PARTNER_ID": "KP1",
        "KBANK_PARTNER_SECRET": "secret-1",
        "SOLIDGATE_PUBLIC_KEY": "api_pk_x",
        "SOLIDGATE_SECRET_KEY": "api_sk_x",
        "XENDIT_SECRET_KEY": "xnd_development_x",
    }
    assert KBankSettings.from_env(env).base_url == "https://kbankapi.tech/v1"
    assert SolidgateSettings.from_env(env).base_url == "https://gate.solidgate.com/api"
    assert XenditSettings.from_env(env).base_url == "https://api.xendit.co"


def test_base_urls_from_the_environment_prefix_the_spec_paths(
    server: CaptureServer, env: dict[str, str]
):
    """X_BASE_URL is the spec's server URL: the operation path is appended to it."""
    kbank_ok = {"statusCode": "00", "tokenList": [{"tokenId": KBANK_TOKEN, "status": "CANCELLED"}]}
    server.script(
        json_reply(200, kbank_ok),
        json_reply(200, {"status": "processing"}),
        json_reply(200, {"status": "CANCELED"}),
    )
    env["XENDIT_BASE_URL"] = server.url + "/"  # a trailing slash changes nothing
    with TokenCancelClient.from_env(env) as client:
        client.cancel_kbank(KBANK_TOKEN, reference1="R")
        client.cancel_solidgate(SOLIDGATE_TOKEN)
        client.cancel_xendit(XENDIT_TOKEN)
    assert [request.path for request in server.requests] == [
        "/v1/kplus/payment/cancel-token",
        "/api/v1/recurring-token/cancel",
        f"/v3/payment_tokens/{XENDIT_TOKEN}/cancel",
    ]


@pytest.mark.parametrize(
    ("settings_type", "env", "variable"),
    [
        (KBankSettings, {"KBANK_PARTNER_SECRET": "secret-1"}, "KBANK_PARTNER_ID"),
        (KBankSettings, {"KBANK_PARTNER_ID": "KP1"}, "KBANK_PARTNER_SECRET"),
        (
            KBankSettings,
            {"KBANK_PARTNER_ID": "KP1", "KBANK_PARTNER_SECRET": ""},
            "KBANK_PARTNER_SECRET",
        ),
        (SolidgateSettings, {"SOLIDGATE_SECRET_KEY": "api_sk_x"}, "SOLIDGATE_PUBLIC_KEY"),
        (SolidgateSettings, {"SOLIDGATE_PUBLIC_KEY": "api_pk_x"}, "SOLIDGATE_SECRET_KEY"),
        (XenditSettings, {}, "XENDIT_SECRET_KEY"),
        (
            XenditSettings,
            {"XENDIT_SECRET_KEY": "xnd_x", "XENDIT_BASE_URL": "http://api.xendit.co"},
            "XENDIT_BASE_URL",
        ),
        (
            XenditSettings,
            {"XENDIT_SECRET_KEY": "xnd_x", "XENDIT_BASE_URL": "ftp://127.0.0.1"},
            "XENDIT_BASE_URL",
        ),
        (
            XenditSettings,
            {"XENDIT_SECRET_KEY": "xnd_x", "XENDIT_BASE_URL": "https://u:p@h.test"},
            "XENDIT_BASE_URL",
        ),
        (
            XenditSettings,
            {"XENDIT_SECRET_KEY": "xnd_x", "XENDIT_BASE_URL": "https://h.test:99999"},
            "XENDIT_BASE_URL",
        ),
        (XenditSettings, {"XENDIT_SECRET_KEY": "xnd x with space"}, "XENDIT_SECRET_KEY"),
        (
            SolidgateSettings,
            {"SOLIDGATE_PUBLIC_KEY": "pk_é", "SOLIDGATE_SECRET_KEY": "api_sk_x"},
            "SOLIDGATE_PUBLIC_KEY",
        ),
        (
            KBankSettings,
            {
                "KBANK_PARTNER_ID": "KP1",
                "KBANK_PARTNER_SECRET": "secret-1",
                "KBANK_CLIENT_CERT": "/nonexistent.pem",
            },
            "KBANK_CLIENT_CERT",
        ),
        (
            KBankSettings,
            {
                "KBANK_PARTNER_ID": "KP1",
                "KBANK_PARTNER_SECRET": "secret-1",
                "KBANK_CLIENT_KEY": __file__,
            },
            "KBANK_CLIENT_CERT",
        ),
    ],
)
def test_bad_configuration_names_the_variable(settings_type, env, variable):
    """Missing or unusable configuration is a ConfigurationError naming the variable."""
    with pytest.raises(ConfigurationError, match=variable):
        settings_type.from_env(env)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000", "http://localhost:1/x", "http://[::1]:8/", "https://h.test/v1"]
)
def test_loopback_http_and_any_https_are_accepted(url):
    """Plain http is fine to loopback hosts; https anywhere."""
    assert XenditSettings("xnd_x_key", base_url=url).base_url == url.rstrip("/")


def test_plain_http_to_a_remote_host_is_refused():
    """Credentials never travel in clear text off the machine."""
    with pytest.raises(ConfigurationError, match="plain http"):
        XenditSettings("xnd_x_key", base_url="http://10.0.0.1")


def test_an_unloadable_client_certificate_is_a_configuration_error(tmp_path):
    """A KBank certificate file that is not a certificate fails when the client is built."""
    cert = tmp_path / "client.pem"
    cert.write_text("not a certificate")
    settings = KBankSettings("KP1", "secret-1", client_cert=str(cert))
    with pytest.raises(ConfigurationError, match="KBANK_CLIENT_CERT"):
        TokenCancelClient(kbank=settings)


def test_from_env_configures_only_what_is_present(env: dict[str, str]):
    """from_env takes the providers whose variables are set, and refuses an empty environment."""
    only_xendit = {key: value for key, value in env.items() if key.startswith("XENDIT")}
    with TokenCancelClient.from_env(only_xendit) as client:
        assert client.providers == (Provider.XENDIT,)
    with pytest.raises(ConfigurationError, match="no provider is configured"):
        TokenCancelClient.from_env({})
    with pytest.raises(ConfigurationError, match="SOLIDGATE_SECRET_KEY"):
        AsyncTokenCancelClient.from_env({"SOLIDGATE_PUBLIC_KEY": "api_pk_x"})


def test_settings_are_frozen():
    """Settings cannot be changed after they are made."""
    settings = XenditSettings("xnd_x_key")
    with pytest.raises(AttributeError):
        settings.secret_key = "other"  # type: ignore[misc]
