"""Odd input is refused, typed and named, before anything is sent.

Specific cases first (each names the argument it refuses), then a property: for every public
argument of settings, clients, `from_env` and the cancel calls, arbitrary text (lone
surrogates, controls, CR/LF, NUL, huge, plausible) ends in a result or a `TokenCancelError`,
never anything else; a refused cancel sends nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokencancel import (
    AsyncTokenCancelClient,
    ConfigurationError,
    InvalidRequestError,
    KBankSettings,
    RetryPolicy,
    SolidgateSettings,
    TokenCancelClient,
    TokenCancelError,
    TransportSettings,
    XenditSettings,
    _redact,
)

from .clients import FIELDS, PROVIDERS, TOKENS, settings_for
from .hostile_server import (
    KBANK_PARTNER_ID,
    KBANK_PARTNER_SECRET,
    SOLIDGATE_PUBLIC_KEY,
    SOLIDGATE_SECRET_KEY,
    XENDIT_SECRET_KEY,
    env_for,
    ok_body,
)

LOOPBACK = "http://127.0.0.1:9"


class Recorder:
    """A transport factory whose mock transport answers each provider's success and counts."""

    def __init__(self) -> None:
        self.sent: list[httpx2.Request] = []

    def __call__(self, _: TransportSettings) -> httpx2.BaseTransport:
        return httpx2.MockTransport(self._answer)

    def _answer(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request)
        path = request.url.path
        provider = "kbank" if "kplus" in path else "solidgate" if "recurring" in path else "xendit"
        return httpx2.Response(200, content=ok_body(provider), headers={"Content-Type": "json"})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[TokenCancelClient]:
    every = [settings_for(provider, LOOPBACK) for provider in PROVIDERS]
    with TokenCancelClient(settings=every, transport_factory=recorder) as built:
        yield built


@pytest.fixture
def isolated_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets registered by arbitrary credentials are forgotten after the test."""
    for name in ("_secrets", "_secret_pattern", "_secret_bytes_pattern"):
        value = getattr(_redact, name)
        monkeypatch.setattr(_redact, name, set(value) if isinstance(value, set) else value)


# -- specific cases, each naming its argument ---------------------------------------------------

ODD_IDS = ["\ud800", "tok\r\nen", "tok\nFORGED: 1", "tok\x00en", "tok en", "tökén", "", "x" * 2000]


@pytest.mark.parametrize("value", [*ODD_IDS, 42, b"bytes", None])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_odd_token_ids_are_refused_before_sending(
    provider, value, client: TokenCancelClient, recorder: Recorder
):
    """A token id that is not visible ASCII of sane length: InvalidRequestError naming it."""
    argument = {"kbank": "token_id", "solidgate": "token", "xendit": "payment_token_id"}
    with pytest.raises(InvalidRequestError, match=argument[provider]) as caught:
        client.cancel(provider, value, **FIELDS[provider])  # type: ignore[arg-type]
    assert recorder.sent == []
    assert "\r" not in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value", ODD_IDS)
@pytest.mark.parametrize("argument", ["reference1", "partner_txn_uid"])
def test_odd_kbank_references_are_refused_before_sending(
    argument, value, client: TokenCancelClient, recorder: Recorder
):
    """KBank's reference1 and a caller's partnerTxnUid: refused, named, never in str(error)."""
    arguments = {"reference1": "R", argument: value}
    with pytest.raises(InvalidRequestError, match=argument) as caught:
        client.cancel_kbank(TOKENS["kbank"], **arguments)
    assert recorder.sent == []
    assert "FORGED" not in str(caught.value)


ODD_URLS = [
    ("https://api.xendit.co\r\nX-Injected: 1", "control character"),
    ("https://api.xendit.co/\x00", "control character"),
    ("https://api .xendit.co", "control character or a space"),
    ("https://xn--.com", "not valid"),
    ("https://a..b.com", "not valid"),
    ("https://\udcff.com", "control character|not valid"),
    ("https://" + "a" * 64 + ".com", "not valid"),
    ("https://api.xendit.co:99999", "not a valid URL"),
    ("https://user:s3cret@api.xendit.co", "credentials"),
    ("ftp://api.xendit.co", "http"),
    ("https://api.xendit.co?x=1", "query"),
    ("http://api.xendit.co", "plain http"),
    ("api.xendit.co", "http"),
]


@pytest.mark.parametrize(("value", "why"), ODD_URLS)
def test_odd_base_urls_are_configuration_errors_naming_them(value, why):
    """In settings and in the environment, a bad base URL names its argument or variable."""
    with pytest.raises(ConfigurationError, match=f"base_url .*({why})") as caught:
        XenditSettings(XENDIT_SECRET_KEY, base_url=value)
    assert "s3cret" not in str(caught.value)
    env = {**env_for(LOOPBACK), "XENDIT_BASE_URL": value}
    with pytest.raises(ConfigurationError, match="XENDIT_BASE_URL"):
        XenditSettings.from_env(env)


ODD_SECONDS = [1e10, math.inf, -math.inf, math.nan, -1, 0, True, "5", None, 86_401]


@pytest.mark.parametrize("value", ODD_SECONDS)
@pytest.mark.parametrize("argument", ["timeout", "deadline", "total_deadline"])
@pytest.mark.parametrize("client_type", [TokenCancelClient, AsyncTokenCancelClient])
def test_odd_durations_are_configuration_errors_naming_them(client_type, argument, value):
    """Timeouts and deadlines must be finite, positive seconds, at most a day."""
    settings = XenditSettings(XENDIT_SECRET_KEY, base_url=LOOPBACK)
    with pytest.raises(ConfigurationError, match=argument):
        client_type(xendit=settings, **{argument: value})


@pytest.mark.parametrize(
    ("value", "argument"),
    [
        (httpx2.Timeout(math.inf), "timeout.connect"),
        (httpx2.Timeout(5.0, read=-1), "timeout.read"),
        (RetryPolicy(base_delay=math.nan), "retry.base_delay"),
        (RetryPolicy(max_delay=math.inf), "retry.max_delay"),
        (RetryPolicy(max_attempts=True), "retry.max_attempts"),
        (RetryPolicy(max_attempts=2.5), "retry.max_attempts"),  # type: ignore[arg-type]
        ("3 times", "retry"),
    ],
)
def test_odd_timeout_objects_and_retry_policies_are_refused(value, argument):
    """httpx2.Timeout phases and RetryPolicy numbers are checked like the plain durations."""
    key = "timeout" if argument.startswith("timeout") else "retry"
    settings = XenditSettings(XENDIT_SECRET_KEY, base_url=LOOPBACK)
    with pytest.raises(ConfigurationError, match=argument.replace(".", r"\.")):
        TokenCancelClient(xendit=settings, **{key: value})


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "1024", None])
def test_odd_response_caps_are_refused(value):
    """max_response_bytes must be a positive whole number."""
    settings = XenditSettings(XENDIT_SECRET_KEY, base_url=LOOPBACK)
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        TokenCancelClient(xendit=settings, max_response_bytes=value)


def _trust_files(tmp_path: Path) -> dict[str, str]:
    empty, garbage = tmp_path / "empty.pem", tmp_path / "garbage.pem"
    empty.write_bytes(b"")
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    return {
        "missing": str(tmp_path / "missing.pem"),
        "directory": str(tmp_path),
        "empty": str(empty),
        "garbage": str(garbage),
    }


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "garbage"])
@pytest.mark.parametrize("source", ["SSL_CERT_FILE", "TOKENCANCEL_CA_BUNDLE", "ca_bundle"])
def test_an_unusable_trust_store_is_refused_at_construction(
    source, kind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """SSL_CERT_FILE, TOKENCANCEL_CA_BUNDLE or ca_bundle that loads no CA: named, at once."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "TOKENCANCEL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    path = _trust_files(tmp_path)[kind]
    options: dict[str, Any] = {}
    if source == "ca_bundle":
        options["ca_bundle"] = path
    else:
        monkeypatch.setenv(source, path)
    settings = XenditSettings(XENDIT_SECRET_KEY, base_url="https://api.xendit.co")
    for client_type in (TokenCancelClient, AsyncTokenCancelClient):
        with pytest.raises(ConfigurationError, match=source):
            client_type(xendit=settings, **options)


def test_a_missing_ssl_cert_dir_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """SSL_CERT_DIR naming no directory would trust nothing: refused at construction."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match="SSL_CERT_DIR"):
        TokenCancelClient(xendit=XenditSettings(XENDIT_SECRET_KEY))


def test_a_client_certificate_that_is_not_one_is_refused(tmp_path: Path):
    """A KBank client certificate file that does not load: ConfigurationError naming it."""
    certificate = tmp_path / "client.pem"
    certificate.write_text("not a certificate")
    settings = KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, client_cert=str(certificate))
    with pytest.raises(ConfigurationError, match="KBANK_CLIENT_CERT"):
        TokenCancelClient(kbank=settings)


def test_a_replaced_trust_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The TLS context cache is keyed by the file's version: a broken replacement is seen."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    bundle = tmp_path / "bundle.pem"
    import trustme  # noqa: PLC0415 -- only this test needs a real CA file

    trustme.CA().cert_pem.write_to_path(str(bundle))
    settings = XenditSettings(XENDIT_SECRET_KEY)
    TokenCancelClient(xendit=settings, ca_bundle=str(bundle)).close()
    bundle.write_text("replaced by something that is not PEM, and longer than before")
    with pytest.raises(ConfigurationError, match="ca_bundle"):
        TokenCancelClient(xendit=settings, ca_bundle=str(bundle))


# -- arbitrary text into every public argument ------------------------------------------------

NASTY = [
    "", " ", "\x00", "\ud800", "\udcff", "a\r\nb", "\x1b[31m", "x" * 5000, "inf", "nan", "-1",
    "1e10", "/", ".", "https://xn--.com", "http://127.0.0.1:99999", "https://user:pw@h.test",
    "http://[::1", "socks5://h.test", "file:///etc/passwd", "KP2XXX000033159", "\u202e", "😀",
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.text(
        st.characters(categories=["Cs", "Cc", "Zs", "Zl", "Cf", "Lu", "Nd", "Po"]), max_size=20
    ),
    st.from_regex(r"[!-~]{1,60}", fullmatch=True),
)


def _settings_argument(build: Callable[[str], object]) -> Callable[[str], object]:
    return build


SETTINGS_ARGUMENTS: dict[str, Callable[[str], object]] = {
    "kbank.partner_id": lambda v: KBankSettings(v, KBANK_PARTNER_SECRET),
    "kbank.partner_secret": lambda v: KBankSettings(KBANK_PARTNER_ID, v),
    "kbank.base_url": lambda v: KBankSettings(KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, base_url=v),
    "kbank.client_cert": lambda v: KBankSettings(
        KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, client_cert=v
    ),
    "kbank.client_key": lambda v: KBankSettings(
        KBANK_PARTNER_ID, KBANK_PARTNER_SECRET, client_cert=v, client_key=v
    ),
    "kbank.request_dt": lambda v: KBankSettings(
        KBANK_PARTNER_ID,
        KBANK_PARTNER_SECRET,
        request_dt=v,  # type: ignore[arg-type]
    ),
    "solidgate.public_key": lambda v: SolidgateSettings(v, SOLIDGATE_SECRET_KEY),
    "solidgate.secret_key": lambda v: SolidgateSettings(SOLIDGATE_PUBLIC_KEY, v),
    "solidgate.base_url": lambda v: SolidgateSettings(
        SOLIDGATE_PUBLIC_KEY, SOLIDGATE_SECRET_KEY, base_url=v
    ),
    "xendit.secret_key": XenditSettings,
    "xendit.base_url": lambda v: XenditSettings(XENDIT_SECRET_KEY, base_url=v),
}
ENV_VARIABLES = [
    *env_for(LOOPBACK),
    "KBANK_CLIENT_CERT", "KBANK_CLIENT_KEY", "KBANK_REQUEST_DT", "KBANK_PARTNER_HEADERS",
    "TOKENCANCEL_OUTCOME_RULES", "TOKENCANCEL_CA_BUNDLE",
]  # fmt: skip
CLIENT_ARGUMENTS = ["ca_bundle", "proxy", "outcome_rules", "timeout", "deadline"]
CANCEL_ARGUMENTS = [
    *(f"{provider}.token_id" for provider in PROVIDERS),
    "kbank.reference1",
    "kbank.request_id",
    "xendit.request_id",
    "provider",
    "field_name",
]
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def only_typed(call: Callable[[], object]) -> TokenCancelError | None:
    """Run `call`: a TokenCancelError is returned; any other exception fails the test."""
    try:
        call()
    except TokenCancelError as error:
        return error
    return None


@pytest.mark.parametrize("argument", list(SETTINGS_ARGUMENTS))
@PROPERTY
@given(value=TEXT)
def test_any_text_in_a_setting_ends_typed(argument, value, isolated_secrets):
    """Settings built from any text are built, or refused with a ConfigurationError."""
    error = only_typed(lambda: SETTINGS_ARGUMENTS[argument](value))
    assert error is None or isinstance(error, ConfigurationError)


@pytest.mark.parametrize("variable", ENV_VARIABLES)
@PROPERTY
@given(value=TEXT)
def test_any_text_in_an_environment_variable_ends_typed(
    variable, value, isolated_secrets, recorder: Recorder
):
    """`from_env` with any text in any variable: a client, or a ConfigurationError."""
    env = {**env_for(LOOPBACK), variable: value}

    def build() -> None:
        TokenCancelClient.from_env(env, transport_factory=recorder).close()

    error = only_typed(build)
    assert error is None or isinstance(error, ConfigurationError), error
    assert recorder.sent == []


@pytest.mark.parametrize("argument", CLIENT_ARGUMENTS)
@PROPERTY
@given(value=TEXT)
def test_any_text_in_a_client_argument_ends_typed(argument, value, recorder: Recorder):
    """A client built with any text for an option is built, or refused with ConfigurationError."""
    settings = XenditSettings(XENDIT_SECRET_KEY, base_url="https://api.xendit.co")

    def build() -> None:
        TokenCancelClient(xendit=settings, transport_factory=recorder, **{argument: value}).close()

    error = only_typed(build)
    assert error is None or isinstance(error, ConfigurationError), error


@pytest.mark.parametrize("argument", CANCEL_ARGUMENTS)
@PROPERTY
@given(value=TEXT)
def test_any_text_in_a_cancel_argument_ends_typed(
    argument, value, client: TokenCancelClient, recorder: Recorder
):
    """A cancel with any text for an argument answers, or is refused before anything is sent."""
    provider, _, name = argument.partition(".")
    fields: dict[str, Any] = dict(FIELDS.get(provider, {}))
    token = TOKENS.get(provider, TOKENS["xendit"])
    if name == "token_id":
        token = value
    elif name in {"reference1", "request_id"}:
        fields[name] = value
    elif argument == "provider":
        provider = value
    elif argument == "field_name":
        provider, fields = "xendit", {value: "x"}
    before = len(recorder.sent)
    error = only_typed(lambda: client.cancel(provider, token, **fields))  # type: ignore[arg-type]
    if isinstance(error, InvalidRequestError | ConfigurationError):  # refused: nothing sent
        assert len(recorder.sent) == before
    elif error is not None:  # sent, and the mock's answer does not fit this odd token
        assert len(recorder.sent) == before + 1
    assert "\n" not in str(error)
    assert "\r" not in str(error)
