"""Every example in every spec goes through the generated client and comes out typed and whole."""

from __future__ import annotations

import importlib
import json
from datetime import datetime
from typing import Any

import pytest
from tokencancel_solidgate_client.models import GatewayError, InvalidDataError
from tokencancel_solidgate_client.models.field_messages import FieldMessages

from .spec_helpers import PROVIDERS, call_generated_client, request_examples, response_examples

# The generated model each documented answer must parse into (the Solidgate 200 is a union that
# the generator resolves by trying variants in order, so the variant is the thing to prove).
EXPECTED_MODEL = {
    ("kbank", "cancelled"): "CancelTokenResponse",
    ("kbank", "internalError"): "CancelTokenResponse",
    ("solidgate", "processing"): "RevokeTokenAccepted",
    ("solidgate", "authenticationFailed"): "RevokeTokenAuthenticationFailed",
    ("solidgate", "tokenNotFound"): "RevokeTokenFailed",
    ("solidgate", "concurrentlyProcessing"): "RevokeTokenFailed",
    ("solidgate", "otherError"): "RevokeTokenFailed",
    ("solidgate", "rateLimited"): "RevokeTokenFailed",
    ("solidgate", "unavailable"): "RevokeTokenFailed",
    ("xendit", "cancelPaymentToken"): "PaymentToken",
    ("xendit", "inactivePaymentRequest"): "BadRequestError",
    ("xendit", "apiValidationError"): "BadRequestError",
    ("xendit", "temporarilyUnavailable"): "BadRequestError",
    ("xendit", "ineligibleTransactionStatus"): "BadRequestError",
    ("xendit", "invalidApiKey"): "UnauthorizedError",
    ("xendit", "requestForbidden"): "ForbiddenError",
    ("xendit", "dataNotFound"): "NotFoundError",
    ("xendit", "rateLimitExceeded"): "RateLimitError",
    ("xendit", "serverError"): "ServerError",
    ("xendit", "channelUnavailable"): "ServiceUnavailableError",
}

REQUEST_MODEL = {"kbank": "CancelTokenRequest", "solidgate": "RevokeTokenRequest"}

RESPONSE_EXAMPLES = [
    pytest.param(provider, status, name, body, id=f"{provider}-{status}-{name}")
    for provider in PROVIDERS
    for status, name, body in response_examples(provider)
]


def test_every_response_example_has_an_expected_model() -> None:
    """The table above covers every example, so a new example cannot slip by untested."""
    found = {(provider, name) for provider, _, name, _ in (p.values for p in RESPONSE_EXAMPLES)}
    assert found == set(EXPECTED_MODEL)


@pytest.mark.parametrize(("provider", "status", "name", "body"), RESPONSE_EXAMPLES)
def test_response_example_parses_into_its_model_and_round_trips(
    answer_with: Any, provider: str, status: int, name: str, body: Any
) -> None:
    """A documented answer parses into the documented model, and serialises back unchanged."""
    response = answer_with(provider, status, body)
    assert response.status_code == status
    parsed = response.parsed
    assert type(parsed).__name__ == EXPECTED_MODEL[(provider, name)]
    assert same_json(parsed.to_dict(), body)


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON, where date-times are compared as instants (Z and +00:00 are one time)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    if isinstance(left, str) and isinstance(right, str) and left != right:
        try:
            return datetime.fromisoformat(left) == datetime.fromisoformat(right)
        except ValueError:
            return False
    return bool(left == right)


def test_solidgate_error_variants_are_told_apart() -> None:
    """Solidgate's 2.01 and other-code errors, both under HTTP 200, land in different variants."""
    examples = {name: body for _, name, body in response_examples("solidgate")}
    not_found = call_generated_client(
        "solidgate", 200, json.dumps(examples["tokenNotFound"]).encode()
    ).parsed
    assert isinstance(not_found.error, InvalidDataError)
    assert isinstance(not_found.error.messages, FieldMessages)
    assert not_found.error.messages["general"] == ["recurring token was not found"]

    other = call_generated_client("solidgate", 200, json.dumps(examples["otherError"]).encode())
    assert isinstance(other.parsed.error, GatewayError)
    assert other.parsed.error.recommended_message_for_user == "Invalid card token."


@pytest.mark.parametrize(
    ("provider", "name", "body"),
    [
        pytest.param(provider, name, body, id=f"{provider}-{name}")
        for provider in PROVIDERS
        for name, body in request_examples(provider)
    ],
)
def test_request_example_builds_the_request_model(provider: str, name: str, body: Any) -> None:
    """The documented request body is accepted by the generated request model, unchanged."""
    models = importlib.import_module(f"tokencancel_{provider}_client.models")
    request_model = getattr(models, REQUEST_MODEL[provider])
    assert request_model.from_dict(body).to_dict() == body
