"""No secret in any frame an error's traceback can show, for every error class and provider.

Sentry, Rich's `show_locals` and `pytest --showlocals` render every local variable of every
frame of a traceback, and of its `__cause__` and `__context__`. Here each error the client can
raise is produced for each provider, sync and async, by a server that echoes the credentials
back in every field and encoding; its traceback is rendered with `capture_locals=True` (whole
chain, suppressed contexts included) and searched for every form of every secret, the Basic
credential, and the Solidgate signature of each request sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from tokencancel import (
    AsyncTokenCancelClient,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    OutcomeRules,
    PermissionDeniedError,
    ProviderError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TokenCancelClient,
    TokenCancelError,
    TransportError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
)
from tokencancel.providers import REGISTRY

from .clients import FIELDS, NO_RETRY, PROVIDERS, TOKENS, settings_for
from .echo import Echo, plain, refusal_body, refusing, refusing_with_echoed_code
from .hostile_server import Exchange, RawServer, env_for
from .secret_forms import forbidden, leaks, rendered

RULE_CODES: dict[str, tuple[str, type[TokenCancelError]]] = {
    "HST_NOT_FOUND": ("not_found", NotFoundError),
    "HST_AUTH": ("authentication_failed", AuthenticationError),
    "HST_PERMISSION": ("permission_denied", PermissionDeniedError),
    "HST_INVALID": ("invalid_request", ProviderInvalidRequestError),
    "HST_SERVER": ("server_error", ProviderServerError),
    "HST_RATE": ("rate_limited", RateLimitedError),
}
RULES = OutcomeRules.from_mapping(
    {
        "rule": [
            {"provider": provider, "error_code": code, "outcome": outcome, "source": "test"}
            for provider in PROVIDERS
            for code, (outcome, _) in RULE_CODES.items()
        ]
    },
    providers=REGISTRY,
)
EVERY_CLASS = {
    ConfigurationError,
    InvalidRequestError,
    ProviderInvalidRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    RateLimitedError,
    ProviderServerError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
    ResponseTooLargeError,
    TransportError,
    RequestTimeoutError,
}
"""Every class a cancel can end in at every provider (plain `ProviderError`: Solidgate only)."""

Script = Callable[[Exchange], None]


def _status(code: int) -> Echo:
    return Echo(code, lambda provider, echo: refusal_body(provider, plain(echo), echo))


def _reset(exchange: Exchange) -> None:
    exchange.reset()


def _silent(exchange: Exchange) -> None:
    exchange.hold()


def scenarios(provider: str) -> dict[str, tuple[Script, type[TokenCancelError]]]:
    """Each answer that ends in an error at `provider`, with the error class it must end in."""
    found: dict[str, tuple[Script, type[TokenCancelError]]] = {
        f"rule-{code}": (refusing(code), error) for code, (_, error) in RULE_CODES.items()
    }
    found |= {
        "unknown-code": (refusing("HST_UNKNOWN"), UnrecognizedAnswerError),
        "echoed-code": (refusing_with_echoed_code(), UnrecognizedAnswerError),
        "gateway-page": (
            Echo(502, lambda _, echo: f"<html>{echo}</html>".encode(), "text/html"),
            UnexpectedResponseError,
        ),
        "too-large": (
            Echo(200, lambda _, echo: b"[" + (plain(echo) + ",").encode() * 20_000 + b"0]"),
            ResponseTooLargeError,
        ),
        "http-429": (_status(429), RateLimitedError),
        "http-503": (_status(503), ProviderServerError),
        "reset": (_reset, TransportError),
        "silent": (_silent, RequestTimeoutError),
    }
    native: dict[str, dict[str, tuple[Script, type[TokenCancelError]]]] = {
        "kbank": {"kp9999": (refusing("KP9999"), ProviderServerError)},
        "solidgate": {
            "1.01": (refusing("1.01"), AuthenticationError),
            "2.01": (refusing("2.01"), UnrecognizedAnswerError),
            "2.02": (refusing("2.02"), ProviderInvalidRequestError),
            "0.01": (refusing("0.01"), ProviderError),
            "5.07": (refusing("5.07"), RateLimitedError),
            "6.01": (refusing("6.01"), ProviderServerError),
        },
        "xendit": {
            "401": (refusing("INVALID_API_KEY", 401), AuthenticationError),
            "403": (refusing("REQUEST_FORBIDDEN_ERROR", 403), PermissionDeniedError),
            "404": (refusing("DATA_NOT_FOUND", 404), NotFoundError),
            "400": (refusing("API_VALIDATION_ERROR", 400), ProviderInvalidRequestError),
            "500": (refusing("SERVER_ERROR", 500), ProviderServerError),
        },
    }
    return found | native[provider]


def _caught(call: Callable[[], object]) -> TokenCancelError:
    """The TokenCancelError `call` raises (this frame holds no secret)."""
    try:
        call()
    except TokenCancelError as error:
        return error
    raise AssertionError("no error was raised")


def _errors_sync(url: str, provider: str, names: list[str]) -> dict[str, TokenCancelError]:
    errors = {}
    for name in names:
        settings = settings_for(provider, f"{url}/{name}")
        with TokenCancelClient(
            settings=[settings], retry=NO_RETRY, deadline=0.5, outcome_rules=RULES
        ) as client:
            errors[name] = _caught(
                lambda: client.cancel(provider, TOKENS[provider], **FIELDS[provider])
            )
    with TokenCancelClient(settings=[settings_for(provider, url)]) as client:
        errors["bad-token"] = _caught(
            lambda: client.cancel(provider, "token\r\nFORGED: 1", **FIELDS[provider])
        )
        other = next(name for name in PROVIDERS if name != provider)
        errors["not-configured"] = _caught(
            lambda: client.cancel(other, TOKENS[other], **FIELDS[other])
        )
    return errors


async def _errors_async(url: str, provider: str, names: list[str]) -> dict[str, TokenCancelError]:
    async def caught(client: AsyncTokenCancelClient, target: str, token: str) -> TokenCancelError:
        try:
            await client.cancel(target, token, **FIELDS[target])  # type: ignore[arg-type]
        except TokenCancelError as error:
            return error
        raise AssertionError("no error was raised")

    errors = {}
    for name in names:
        async with AsyncTokenCancelClient(
            settings=[settings_for(provider, f"{url}/{name}")],
            retry=NO_RETRY,
            deadline=0.5,
            outcome_rules=RULES,
        ) as client:
            errors[name] = await caught(client, provider, TOKENS[provider])
    async with AsyncTokenCancelClient(settings=[settings_for(provider, url)]) as client:
        errors["bad-token"] = await caught(client, provider, "token\r\nFORGED: 1")
        other = next(name for name in PROVIDERS if name != provider)
        errors["not-configured"] = await caught(client, other, TOKENS[other])
    return errors


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_secret_in_any_frame_of_any_error(provider, mode):
    """Rendered with locals, no error's traceback chain holds a secret, in any form."""
    table = scenarios(provider)

    def script(exchange: Exchange) -> None:
        table[exchange.request.target.split("/")[1]][0](exchange)

    with RawServer(script) as server:
        if mode == "sync":
            errors = _errors_sync(server.url, provider, list(table))
        else:
            errors = asyncio.run(_errors_async(server.url, provider, list(table)))
    expected = {name: error for name, (_, error) in table.items()}
    expected |= {"bad-token": InvalidRequestError, "not-configured": ConfigurationError}
    assert {name: type(error) for name, error in errors.items()} == expected
    assert set(expected.values()) >= EVERY_CLASS
    forms = forbidden(server.requests)
    for name, error in errors.items():
        assert leaks(rendered(error), forms) == [], name


@pytest.mark.parametrize("client_type", [TokenCancelClient, AsyncTokenCancelClient])
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HTTPS_PROXY", "http://proxy.test:99999"),
        ("ALL_PROXY", "socks5://proxy.test:1080"),
        ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
        ("TOKENCANCEL_CA_BUNDLE", "/nonexistent/bundle.pem"),
        ("XENDIT_BASE_URL", "https://api.xendit.co\r\nX: 1"),
        ("KBANK_CLIENT_CERT", "/nonexistent/client.pem"),
        ("SOLIDGATE_SECRET_KEY", ""),
    ],
)
def test_no_secret_in_the_frames_of_a_configuration_error(
    client_type, variable, value, monkeypatch: pytest.MonkeyPatch
):
    """A client built from an environment full of secrets fails without showing any of them."""
    for name, setting in env_for("https://gateway.test").items():
        monkeypatch.setenv(name, setting)
    monkeypatch.setenv(variable, value)
    error = _caught(client_type.from_env)
    assert isinstance(error, ConfigurationError)
    assert variable in str(error) or "SOLIDGATE" in str(error)
    assert leaks(rendered(error), forbidden()) == []


def test_the_rendering_would_show_a_secret_held_in_a_frame():
    """The check itself: a secret in a local of a raising frame is found in the rendering."""
    secret_holder = json.loads(json.dumps({"key": env_for("x")["XENDIT_SECRET_KEY"]}))

    def raising() -> None:
        local = secret_holder
        raise ConfigurationError(f"failed with {len(local)} keys")

    error = _caught(raising)
    assert leaks(rendered(error), forbidden()) != []


def test_a_caller_s_own_timeout_chains_no_frame_of_the_http_stack():
    """`asyncio.wait_for` around a cancel: its TimeoutError's chain ends in the client's frames."""

    async def cancel_with_a_short_fuse(url: str) -> BaseException:
        async with AsyncTokenCancelClient(settings=[settings_for("kbank", url)]) as client:
            try:
                await asyncio.wait_for(
                    client.cancel("kbank", TOKENS["kbank"], **FIELDS["kbank"]), timeout=0.3
                )
            except TimeoutError as error:
                return error
        raise AssertionError("no timeout")

    with RawServer(_silent) as server:
        error = asyncio.run(cancel_with_a_short_fuse(server.url))
    assert isinstance(error.__context__, asyncio.CancelledError)
    text = rendered(error)
    assert "/httpcore2/" not in text  # no frame of the HTTP stack: they may hold the request
    assert "/httpx2/" not in text
    assert leaks(text, forbidden(server.requests)) == []
