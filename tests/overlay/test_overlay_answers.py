"""Every documented answer and the hostile ones, mapped to the right outcome or typed error."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokencancel import (
    AuthenticationError,
    CancelOutcome,
    CancelResult,
    KBankSettings,
    NotFoundError,
    PermissionDeniedError,
    Provider,
    ProviderError,
    ProviderInvalidRequestError,
    ProviderServerError,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    SolidgateSettings,
    TokenCancelClient,
    TokenCancelError,
    UnexpectedResponseError,
    UnrecognizedAnswerError,
    XenditSettings,
)

from .loopback_server import (
    KBANK_TOKEN,
    SOLIDGATE_TOKEN,
    XENDIT_TOKEN,
    Reply,
    html_reply,
    json_reply,
)

SPECS = Path(__file__).resolve().parents[2] / "specs"
NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.fixture
def single(
    kbank_settings: KBankSettings,
    solidgate_settings: SolidgateSettings,
    xendit_settings: XenditSettings,
    make_client,
) -> Iterator[TokenCancelClient]:
    """A client that does not retry, so each scripted answer is the one that counts."""
    with make_client(
        kbank_settings, solidgate_settings, xendit_settings, timeout=2.0, retry=NO_RETRY
    ) as token_client:
        yield token_client


def cancel(client: TokenCancelClient, provider: Provider) -> CancelResult:
    if provider is Provider.KBANK:
        return client.cancel_kbank(KBANK_TOKEN, reference1="ORDER-0001")
    if provider is Provider.SOLIDGATE:
        return client.cancel_solidgate(SOLIDGATE_TOKEN)
    return client.cancel_xendit(XENDIT_TOKEN)


def spec_examples() -> Iterator[tuple[str, int, str, Any, dict[str, str]]]:
    """Every response example in the three specs: provider, status, name, body, headers."""
    for provider in Provider:
        spec = yaml.safe_load((SPECS / f"{provider.value}.yaml").read_text())
        for operation in spec["paths"].values():
            for status, response in operation["post"]["responses"].items():
                # Documented headers (Xendit's Rate-Limit-*) with a plausible number of seconds.
                headers = dict.fromkeys(response.get("headers", {}), "1")
                for media in response.get("content", {}).values():
                    for name, example in media.get("examples", {}).items():
                        yield provider.value, int(status), name, example["value"], headers


# What each documented example means: an outcome, or an error type (exactly that type).
EXPECTED: dict[tuple[str, str], CancelOutcome | type[TokenCancelError]] = {
    ("kbank", "cancelled"): CancelOutcome.CANCELLED,
    ("kbank", "internalError"): ProviderServerError,
    ("solidgate", "processing"): CancelOutcome.CANCELLATION_PENDING,
    ("solidgate", "authenticationFailed"): AuthenticationError,
    ("solidgate", "tokenNotFound"): NotFoundError,
    ("solidgate", "concurrentlyProcessing"): CancelOutcome.CANCELLATION_PENDING,
    ("solidgate", "otherError"): ProviderError,
    ("solidgate", "rateLimited"): RateLimitedError,
    ("solidgate", "unavailable"): ProviderServerError,
    ("xendit", "cancelPaymentToken"): CancelOutcome.CANCELLED,
    ("xendit", "inactivePaymentRequest"): CancelOutcome.ALREADY_INACTIVE,
    ("xendit", "apiValidationError"): ProviderInvalidRequestError,
    ("xendit", "temporarilyUnavailable"): ProviderServerError,
    ("xendit", "ineligibleTransactionStatus"): ProviderInvalidRequestError,
    ("xendit", "invalidApiKey"): AuthenticationError,
    ("xendit", "requestForbidden"): PermissionDeniedError,
    ("xendit", "dataNotFound"): NotFoundError,
    ("xendit", "rateLimitExceeded"): RateLimitedError,
    ("xendit", "serverError"): ProviderServerError,
    ("xendit", "channelUnavailable"): ProviderServerError,
}


def test_every_spec_example_has_an_expectation():
    """A new example in a spec must be given its meaning here (no example goes untested)."""
    names = {(provider, name) for provider, _, name, _, _ in spec_examples()}
    assert names == set(EXPECTED)


@pytest.mark.parametrize(
    ("provider", "status", "name", "body", "headers"),
    list(spec_examples()),
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_documented_answers(server, single, provider, status, name, body, headers):  # noqa: PLR0917 -- pytest passes fixtures and parameters by name
    """Each documented answer becomes its outcome or its typed error, with the facts attached."""
    server.script(json_reply(status, body, *headers.items()))
    expected = EXPECTED[provider, name]
    chosen = Provider(provider)
    raw = json.dumps(body, separators=(",", ":")).encode()
    if isinstance(expected, CancelOutcome):
        result = cancel(single, chosen)
        assert result.outcome is expected
        assert result.http_status == status
        assert result.raw_body == raw
        assert result.provider is chosen
        assert result.attempts == 1
        assert result.to_json_dict()["response"] == body
        return
    with pytest.raises(TokenCancelError) as caught:
        cancel(single, chosen)
    error = caught.value
    assert type(error) is expected
    assert error.provider is chosen
    assert error.http_status == status
    assert error.raw_body == raw
    assert "\n" not in str(error)


def test_documented_error_facts_are_carried(server, single):
    """A Xendit 404 carries its code and message; a 429 carries Rate-Limit-Reset as reset_after."""
    server.script(
        json_reply(404, {"error_code": "DATA_NOT_FOUND", "message": "ID cannot be found."}),
        json_reply(
            429,
            {"error_code": "RATE_LIMIT_EXCEEDED", "message": "slow"},
            ("Rate-Limit-Reset", "60"),
        ),
    )
    with pytest.raises(NotFoundError) as not_found:
        single.cancel_xendit(XENDIT_TOKEN)
    assert not_found.value.error_code == "DATA_NOT_FOUND"
    assert "ID cannot be found." in not_found.value.message
    with pytest.raises(RateLimitedError) as limited:
        single.cancel_xendit(XENDIT_TOKEN)
    assert limited.value.reset_after == 60.0
    assert limited.value.error_code == "RATE_LIMIT_EXCEEDED"


def test_kbank_errors_carry_code_description_and_partner_txn_uid(server, single):
    """A KBank refusal carries errorCode, errorDesc and the partnerTxnUid it answered."""
    server.script(
        json_reply(
            200, {"statusCode": "10", "errorCode": "KP9999", "errorDesc": "kbank internal error"}
        )
    )
    with pytest.raises(ProviderServerError) as caught:
        single.cancel_kbank(KBANK_TOKEN, reference1="R", partner_txn_uid="TXN1")
    assert caught.value.error_code == "KP9999"
    assert "kbank internal error" in caught.value.message
    assert caught.value.request_id == "TXN1"


def test_xendit_validation_details_are_reachable(server, single):
    """Xendit's `errors` details reach the message (xendit-go #42 made them unreachable)."""
    server.script(
        json_reply(
            400,
            {
                "error_code": "API_VALIDATION_ERROR",
                "message": "bad",
                "errors": [{"path": "payment_token_id", "message": "must be 39 characters"}],
            },
        )
    )
    with pytest.raises(ProviderInvalidRequestError) as caught:
        single.cancel_xendit(XENDIT_TOKEN)
    assert "payment_token_id: must be 39 characters" in caught.value.message


TRUNCATED = b'{"status":"CANCELED","payment_token_id":"pt-'
ANY_PROVIDER_HOSTILE: list[tuple[str, Reply, int]] = [
    ("html-502", html_reply(502), 502),
    ("html-200", html_reply(200), 200),
    ("empty-200", Reply(200, b""), 200),
    ("truncated-json", Reply(200, TRUNCATED), 200),
    ("json-array", json_reply(200, [1, 2]), 200),
    ("json-string", json_reply(200, "CANCELED"), 200),
    ("undocumented-418", json_reply(418, {"status": "teapot"}), 418),
    ("nonstandard-299", json_reply(299, {"status": "CANCELED"}), 299),
    ("redirect-302", Reply(302, b"", (("Location", "http://127.0.0.1:1/"),)), 302),
    ("bad-utf8", Reply(200, b'{"status":"\xff\xfe"}'), 200),
    ("deep-nesting", Reply(200, b"[" * 100_000 + b"]" * 100_000), 200),
]


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize(
    ("case", "reply", "status"), ANY_PROVIDER_HOSTILE, ids=[c[0] for c in ANY_PROVIDER_HOSTILE]
)
def test_hostile_answers_become_unexpected_response_errors(  # noqa: PLR0917 -- pytest passes fixtures and parameters by name
    server, single, provider, case, reply, status
):
    """HTML, empty, truncated, mistyped or undocumented answers end in UnexpectedResponseError."""
    server.script(reply)
    with pytest.raises(UnexpectedResponseError) as caught:
        cancel(single, provider)
    assert caught.value.http_status == status
    assert caught.value.raw_body == reply.body
    assert caught.value.provider is provider
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("provider", list(Provider))
def test_an_answer_cut_short_is_an_unexpected_response(server, client, provider):
    """A body shorter than its Content-Length, then a closed connection: typed, not retried."""
    server.script(Reply(200, TRUNCATED, declared_length=500), json_reply(200, {}))
    with pytest.raises(UnexpectedResponseError) as caught:
        cancel(client, provider)
    assert caught.value.http_status == 200
    assert "cut short" in str(caught.value)
    assert len(server.requests) == 1


def test_undecodable_content_encoding_is_an_unexpected_response(server, single):
    """A body that claims gzip but is not gzip is a typed error, not httpx2's DecodingError."""
    server.script(
        Reply(
            200, b"not gzip", (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
        )
    )
    with pytest.raises(UnexpectedResponseError) as caught:
        single.cancel_xendit(XENDIT_TOKEN)
    assert caught.value.http_status == 200


def test_gzip_answers_are_read(server, single):
    """A correctly gzipped answer is decoded before it is read."""
    body = gzip.compress(b'{"status":"CANCELED"}')
    server.script(
        Reply(200, body, (("Content-Type", "application/json"), ("Content-Encoding", "gzip")))
    )
    assert single.cancel_xendit(XENDIT_TOKEN).outcome is CancelOutcome.CANCELLED


SPECIFIC_HOSTILE: list[tuple[str, Provider, Reply, CancelOutcome | type[TokenCancelError]]] = [
    # Xendit
    (
        "x-unknown-status",
        Provider.XENDIT,
        json_reply(200, {"status": "SUSPENDED"}),
        UnexpectedResponseError,
    ),
    (
        "x-active-status",
        Provider.XENDIT,
        json_reply(200, {"status": "ACTIVE"}),
        UnexpectedResponseError,
    ),
    (
        "x-no-status",
        Provider.XENDIT,
        json_reply(200, {"payment_token_id": XENDIT_TOKEN}),
        UnexpectedResponseError,
    ),
    ("x-status-number", Provider.XENDIT, json_reply(200, {"status": 3}), UnexpectedResponseError),
    (
        "x-created-number",
        Provider.XENDIT,
        json_reply(200, {"status": "CANCELED", "created": 12}),
        CancelOutcome.CANCELLED,
    ),
    (
        "x-created-garbage",
        Provider.XENDIT,
        json_reply(200, {"status": "CANCELED", "created": "soon"}),
        CancelOutcome.CANCELLED,
    ),
    (
        "x-unknown-enums-tolerated",
        Provider.XENDIT,
        json_reply(
            200, {"status": "CANCELED", "country": "ZZ", "currency": "XXX", "new_field": {"a": 1}}
        ),
        CancelOutcome.CANCELLED,
    ),
    (
        "x-expired",
        Provider.XENDIT,
        json_reply(200, {"status": "EXPIRED"}),
        CancelOutcome.ALREADY_INACTIVE,
    ),
    ("x-400-empty", Provider.XENDIT, Reply(400, b""), UnexpectedResponseError),
    (
        "x-400-code-number",
        Provider.XENDIT,
        json_reply(400, {"error_code": 5}),
        UnexpectedResponseError,
    ),
    (
        "x-400-new-code",
        Provider.XENDIT,
        json_reply(400, {"error_code": "NEW_CODE"}),
        UnrecognizedAnswerError,
    ),
    ("x-404-html", Provider.XENDIT, html_reply(404), UnexpectedResponseError),
    (
        "x-404-other-code",
        Provider.XENDIT,
        json_reply(404, {"error_code": "NOT_FOUND", "message": "no route"}),
        UnexpectedResponseError,
    ),
    ("x-401-empty", Provider.XENDIT, Reply(401, b""), AuthenticationError),
    ("x-429-html", Provider.XENDIT, html_reply(429), RateLimitedError),
    ("x-500-html", Provider.XENDIT, html_reply(500), ProviderServerError),
    ("x-504-empty", Provider.XENDIT, Reply(504, b""), UnexpectedResponseError),
    # Solidgate
    (
        "s-unknown-status",
        Provider.SOLIDGATE,
        json_reply(200, {"status": "done"}),
        UnexpectedResponseError,
    ),
    (
        "s-status-number",
        Provider.SOLIDGATE,
        json_reply(200, {"status": 1}),
        UnexpectedResponseError,
    ),
    (
        "s-error-string",
        Provider.SOLIDGATE,
        json_reply(200, {"error": "boom"}),
        UnexpectedResponseError,
    ),
    (
        "s-both",
        Provider.SOLIDGATE,
        json_reply(200, {"status": "processing", "error": {}}),
        UnexpectedResponseError,
    ),
    ("s-neither", Provider.SOLIDGATE, json_reply(200, {"result": "ok"}), UnexpectedResponseError),
    (
        "s-code-number",
        Provider.SOLIDGATE,
        json_reply(200, {"error": {"code": 1.01, "messages": []}}),
        UnexpectedResponseError,
    ),
    (
        "s-messages-string",
        Provider.SOLIDGATE,
        json_reply(200, {"error": {"code": "2.01", "messages": "recurring token was not found"}}),
        NotFoundError,
    ),
    (
        "s-processing-list",
        Provider.SOLIDGATE,
        json_reply(
            200,
            {
                "error": {
                    "code": "2.01",
                    "messages": ["Cancellation is already concurrently processing"],
                }
            },
        ),
        CancelOutcome.CANCELLATION_PENDING,
    ),
    (
        "s-processing-object",
        Provider.SOLIDGATE,
        json_reply(
            200,
            {
                "error": {
                    "code": "2.01",
                    "messages": {"token": ["recurring token already cancelled"]},
                }
            },
        ),
        UnrecognizedAnswerError,
    ),
    (
        "s-invalid-field",
        Provider.SOLIDGATE,
        json_reply(200, {"error": {"code": "2.01", "messages": {"token": ["must not be blank"]}}}),
        UnrecognizedAnswerError,
    ),
    (
        "s-unsupported-method",
        Provider.SOLIDGATE,
        json_reply(
            200,
            {
                "error": {
                    "code": "2.01",
                    "messages": {"general": ["payment method does not support revocation"]},
                }
            },
        ),
        UnrecognizedAnswerError,
    ),
    (
        "s-507-in-200",
        Provider.SOLIDGATE,
        json_reply(200, {"error": {"code": "5.07", "messages": ["Exceeded API calls limits"]}}),
        RateLimitedError,
    ),
    (
        "s-6xx",
        Provider.SOLIDGATE,
        json_reply(200, {"error": {"code": "6.01", "messages": ["Unknown decline"]}}),
        ProviderServerError,
    ),
    (
        "s-2xx-other",
        Provider.SOLIDGATE,
        json_reply(200, {"error": {"code": "2.08", "messages": ["Invalid token"]}}),
        ProviderInvalidRequestError,
    ),
    (
        "s-no-code",
        Provider.SOLIDGATE,
        json_reply(200, {"error": {"messages": ["?"]}}),
        UnrecognizedAnswerError,
    ),
    (
        "s-500",
        Provider.SOLIDGATE,
        json_reply(500, {"error": {"code": "6.01", "messages": ["x"]}}),
        UnexpectedResponseError,
    ),
    ("s-429-empty", Provider.SOLIDGATE, Reply(429, b""), RateLimitedError),
    ("s-503-html", Provider.SOLIDGATE, html_reply(503), ProviderServerError),
    # KBank
    (
        "k-statuscode-number",
        Provider.KBANK,
        json_reply(200, {"statusCode": 0}),
        UnexpectedResponseError,
    ),
    (
        "k-no-statuscode",
        Provider.KBANK,
        json_reply(200, {"tokenList": []}),
        UnexpectedResponseError,
    ),
    (
        "k-00-no-list",
        Provider.KBANK,
        json_reply(200, {"statusCode": "00", "tokenList": None}),
        UnexpectedResponseError,
    ),
    (
        "k-00-list-string",
        Provider.KBANK,
        json_reply(200, {"statusCode": "00", "tokenList": "CANCELLED"}),
        UnexpectedResponseError,
    ),
    (
        "k-00-pending",
        Provider.KBANK,
        json_reply(
            200, {"statusCode": "00", "tokenList": [{"tokenId": KBANK_TOKEN, "status": "PENDING"}]}
        ),
        UnexpectedResponseError,
    ),
    (
        "k-00-status-list",
        Provider.KBANK,
        json_reply(
            200,
            {"statusCode": "00", "tokenList": [{"tokenId": KBANK_TOKEN, "status": ["CANCELLED"]}]},
        ),
        CancelOutcome.CANCELLED,
    ),
    (
        "k-00-picks-own-token",
        Provider.KBANK,
        json_reply(
            200,
            {
                "statusCode": "00",
                "tokenList": [
                    {"tokenId": "OTHER", "status": "ACTIVE"},
                    {"tokenId": KBANK_TOKEN, "status": "CANCELLED"},
                ],
            },
        ),
        CancelOutcome.CANCELLED,
    ),
    (
        "k-00-other-token-only",
        Provider.KBANK,
        json_reply(
            200,
            {
                "statusCode": "00",
                "tokenList": [
                    {"tokenId": "OTHER", "status": "ACTIVE"},
                    {"tokenId": "X", "status": "CANCELLED"},
                ],
            },
        ),
        UnexpectedResponseError,
    ),
    (
        "k-00-lone-other-token",
        Provider.KBANK,
        json_reply(
            200, {"statusCode": "00", "tokenList": [{"tokenId": "X", "status": "CANCELLED"}]}
        ),
        UnexpectedResponseError,
    ),
    (
        "k-00-extra-fields",
        Provider.KBANK,
        json_reply(
            200,
            {
                "statusCode": "00",
                "responseDt": 1519630776,
                "new": [1],
                "tokenList": [{"status": "CANCELLED"}],
            },
        ),
        CancelOutcome.CANCELLED,
    ),
    (
        "k-already",
        Provider.KBANK,
        json_reply(200, {"statusCode": "10", "errorCode": "TOKEN_ALREADY_CANCELLED"}),
        UnrecognizedAnswerError,
    ),
    (
        "k-auth",
        Provider.KBANK,
        json_reply(200, {"statusCode": "10", "errorCode": "AUTHENTICATION_FAILED"}),
        UnrecognizedAnswerError,
    ),
    (
        "k-invalid",
        Provider.KBANK,
        json_reply(200, {"statusCode": "10", "errorCode": "INVALID_REQUEST"}),
        UnrecognizedAnswerError,
    ),
    (
        "k-unknown-code",
        Provider.KBANK,
        json_reply(200, {"statusCode": "99", "errorCode": "KP0001"}),
        UnrecognizedAnswerError,
    ),
    (
        "k-error-no-code",
        Provider.KBANK,
        json_reply(200, {"statusCode": "10"}),
        UnrecognizedAnswerError,
    ),
    (
        "k-500",
        Provider.KBANK,
        json_reply(500, {"statusCode": "10", "errorCode": "KP9999"}),
        UnexpectedResponseError,
    ),
    ("k-429", Provider.KBANK, Reply(429, b""), RateLimitedError),
    ("k-503", Provider.KBANK, html_reply(503), ProviderServerError),
]


@pytest.mark.parametrize(
    ("case", "provider", "reply", "expected"),
    SPECIFIC_HOSTILE,
    ids=[c[0] for c in SPECIFIC_HOSTILE],
)
def test_provider_specific_answers(  # noqa: PLR0917 -- pytest passes fixtures and parameters by name
    server, single, case, provider, reply, expected
):
    """Mistyped, unknown and off-spec answers map to the documented outcome or error."""
    server.script(reply)
    if isinstance(expected, CancelOutcome):
        assert cancel(single, provider).outcome is expected
        return
    with pytest.raises(TokenCancelError) as caught:
        cancel(single, provider)
    assert type(caught.value) is expected
    assert caught.value.http_status == reply.status


def test_a_slow_server_past_the_timeout_is_a_timeout_error(
    server, xendit_settings, sleeps, make_client
):
    """An answer slower than the read timeout ends in RequestTimeoutError, not retried."""
    server.script(Reply(200, b'{"status":"CANCELED"}', delay=1.5))
    with (
        make_client(
            xendit=xendit_settings, timeout=httpx2.Timeout(0.3), sleep=sleeps
        ) as token_client,
        pytest.raises(RequestTimeoutError) as caught,
    ):
        token_client.cancel_xendit(XENDIT_TOKEN)
    assert caught.value.http_status is None
    assert caught.value.retryable is False
    assert len(server.requests) == 1
    assert sleeps.waits == []


# Any JSON a provider might send, under any status a gateway might produce.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
INTERESTING_KEYS = st.sampled_from(
    ["status", "statusCode", "error", "error_code", "tokenList", "messages", "code", "created"]
)
SHAPED = st.dictionaries(INTERESTING_KEYS, JSON_VALUES, max_size=4)


@pytest.fixture(scope="module")
def mock_answers() -> Iterator[tuple[TokenCancelClient, list[httpx2.Response]]]:
    """A client whose transport answers with whatever response the test puts in the list."""
    answers: list[httpx2.Response] = []
    with TokenCancelClient(
        KBankSettings("KP1", "secret-1"),
        SolidgateSettings("api_pk_x", "api_sk_x"),
        XenditSettings("xnd_development_x"),
        retry=NO_RETRY,
        transport_factory=lambda _settings: httpx2.MockTransport(lambda _: answers[-1]),
    ) as token_client:
        yield token_client, answers


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    provider=st.sampled_from(list(Provider)),
    status=st.sampled_from([200, 400, 401, 403, 404, 429, 500, 502, 503, 504, 299, 418]),
    body=st.one_of(SHAPED, JSON_VALUES),
)
def test_no_answer_escapes_the_error_tree(mock_answers, provider, status, body):
    """Whatever JSON comes back under whatever status, the result is a CancelResult or ours."""
    token_client, answers = mock_answers
    content = json.dumps(body).encode()
    answers.append(
        httpx2.Response(status, content=content, headers={"Content-Type": "application/json"})
    )
    outcome: CancelResult | TokenCancelError
    try:
        outcome = cancel(token_client, provider)
    except TokenCancelError as error:
        outcome = error
    assert outcome.raw_body == content
    assert "\n" not in str(outcome)
