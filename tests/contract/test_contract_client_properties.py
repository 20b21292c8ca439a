"""Client side of the contract: every answer a spec allows ends in a result or a typed error.

Hypothesis draws response bodies valid against every response schema of each spec and feeds
them, over httpx2, through the generated client and the overlay.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokencancel import CancelResult, TokenCancelError

from .contract_clients import (
    PROVIDERS,
    Answer,
    AnsweringClient,
    documented_responses,
    load_spec,
    response_strategies,
)

# Modest and derandomized: the same draws on every run, a few seconds for the whole file.
PROPERTY_SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

DOCUMENTED = [
    pytest.param(provider, status, id=f"{provider}-{status}")
    for provider in PROVIDERS
    for status, _ in documented_responses(provider)
]
_STRATEGIES = {provider: response_strategies(provider) for provider in PROVIDERS}


@pytest.fixture(scope="module")
def client() -> Iterator[AnsweringClient]:
    answering = AnsweringClient()
    yield answering
    answering.close()


def validator_for(provider: str, status: int) -> jsonschema.Draft202012Validator:
    schema = dict(documented_responses(provider))[status]
    return jsonschema.Draft202012Validator(
        {**schema, "components": load_spec(provider)["components"]}
    )


@pytest.mark.parametrize(("provider", "status"), DOCUMENTED)
def test_schema_valid_answers_end_in_a_result_or_a_typed_error(
    client: AnsweringClient, provider: str, status: int
) -> None:
    """Any body a response schema allows ends in a CancelResult or a TokenCancelError."""
    validator = validator_for(provider, status)

    @PROPERTY_SETTINGS
    @given(body=_STRATEGIES[provider][status])
    def property_holds(body: Any) -> None:
        assert validator.is_valid(body), "the strategy drew a body its schema rejects"
        content = json.dumps(body).encode()
        outcome = client.cancel(provider, Answer(status, content))
        assert isinstance(outcome, CancelResult | TokenCancelError)
        # Whichever it is, it keeps what the provider said, for logs and support tickets.
        assert outcome.http_status == status
        assert outcome.raw_body == content

    property_holds()


@pytest.mark.parametrize(("provider", "status"), DOCUMENTED)
def test_generated_clients_parse_every_schema_valid_answer(provider: str, status: int) -> None:
    """The generated client turns any schema-valid body of a documented status into its model."""
    call = GENERATED_CALLS[provider]

    @PROPERTY_SETTINGS
    @given(body=_STRATEGIES[provider][status])
    def property_holds(body: Any) -> None:
        content = json.dumps(body).encode()
        transport = httpx2.MockTransport(
            lambda _request: httpx2.Response(
                status, content=content, headers={"Content-Type": "application/json"}
            )
        )
        response = call(transport)
        assert response.status_code == status
        assert response.parsed is not None

    property_holds()


def _kbank(transport: httpx2.MockTransport) -> Any:
    import tokencancel_kbank_client  # noqa: PLC0415
    from tokencancel_kbank_client.api.kplus_payment import cancel_token  # noqa: PLC0415
    from tokencancel_kbank_client.models import CancelTokenRequest  # noqa: PLC0415

    client = tokencancel_kbank_client.Client(
        base_url="http://127.0.0.1", httpx_args={"transport": transport}
    )
    body = CancelTokenRequest(
        partner_txn_uid="RGH001030118001",
        partner_id="KP2XXX000033159",
        partner_secret="contract_kbank_secret",
        request_dt=1519630776,
        token_id="KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B",
        reference1="ORDER-0001",
    )
    return cancel_token.sync_detailed(client=client, body=body)


def _solidgate(transport: httpx2.MockTransport) -> Any:
    import tokencancel_solidgate_client  # noqa: PLC0415
    from tokencancel_solidgate_client.api.alternative_payment_methods import cancel_token  # noqa: PLC0415
    from tokencancel_solidgate_client.models import RevokeTokenRequest  # noqa: PLC0415

    client = tokencancel_solidgate_client.Client(
        base_url="http://127.0.0.1", httpx_args={"transport": transport}
    )
    return cancel_token.sync_detailed(
        client=client, body=RevokeTokenRequest("923bb4e6-4a5f-41ec-81fb-28eb8a152e55")
    )


def _xendit(transport: httpx2.MockTransport) -> Any:
    import tokencancel_xendit_client  # noqa: PLC0415
    from tokencancel_xendit_client.api.payment_tokens import cancel_token  # noqa: PLC0415

    client = tokencancel_xendit_client.Client(
        base_url="http://127.0.0.1", httpx_args={"transport": transport}
    )
    return cancel_token.sync_detailed("pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1", client=client)


GENERATED_CALLS = {"kbank": _kbank, "solidgate": _solidgate, "xendit": _xendit}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_answers_with_unknown_fields_still_end_in_a_result_or_a_typed_error(
    client: AnsweringClient, provider: str
) -> None:
    """Providers add fields without notice: extra fields in a valid 200 body change nothing."""
    strategy = st.tuples(
        _STRATEGIES[provider][200],
        st.dictionaries(st.text(min_size=1, max_size=12), st.integers() | st.text(max_size=8)),
    )

    @PROPERTY_SETTINGS
    @given(drawn=strategy)
    def property_holds(drawn: tuple[Any, dict[str, Any]]) -> None:
        body, extra = drawn
        if isinstance(body, dict):
            body = {**extra, **body}
        outcome = client.cancel(provider, Answer(200, json.dumps(body).encode()))
        assert isinstance(outcome, CancelResult | TokenCancelError)

    property_holds()
