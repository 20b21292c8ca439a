"""Providers add enum values and fields without notice: the generated parsers must keep them."""

from __future__ import annotations

import json
from typing import Any

from tokencancel_kbank_client.models import StatusCode, TokenStatus
from tokencancel_solidgate_client.models import (
    GatewayError,
    RevokeTokenAccepted,
    RevokeTokenAuthenticationFailed,
    RevokeTokenFailed,
)

from .spec_helpers import call_generated_client


def test_kbank_unknown_status_code_and_token_status_parse_as_strings(answer_with: Any) -> None:
    """A statusCode or token status the spec does not list is kept as the plain string."""
    parsed = answer_with(
        "kbank",
        200,
        {
            "statusCode": "99",
            "errorCode": "KP0042",
            "tokenList": [{"tokenId": "T1", "reference1": "R", "status": "SUSPENDED"}],
            "somethingNew": {"nested": True},
        },
    ).parsed
    assert parsed.status_code == "99"
    assert not isinstance(parsed.status_code, StatusCode)
    assert parsed.token_list[0].status == "SUSPENDED"
    assert parsed.additional_properties == {"somethingNew": {"nested": True}}


def test_kbank_known_status_code_parses_as_the_enum(answer_with: Any) -> None:
    """A listed code still comes back as the typed enum member, not a bare string."""
    parsed = answer_with(
        "kbank", 200, {"statusCode": "00", "tokenList": [{"status": "CANCELLED"}]}
    ).parsed
    assert parsed.status_code is StatusCode.SUCCESS
    assert parsed.token_list[0].status is TokenStatus.CANCELLED


def test_xendit_unknown_token_status_country_and_failure_code_parse(answer_with: Any) -> None:
    """Unknown status, country, currency and failure code values survive parsing as strings."""
    parsed = answer_with(
        "xendit",
        200,
        {
            "payment_token_id": "pt-1",
            "status": "SUSPENDED",
            "country": "JP",
            "currency": "XTS",
            "failure_code": "CAPTURE_AMOUNT_EXCEEDED ",
            "actions": [{"type": "NEW_ACTION", "descriptor": "NEW_DESCRIPTOR", "value": "v"}],
        },
    ).parsed
    assert (parsed.status, parsed.country, parsed.currency) == ("SUSPENDED", "JP", "XTS")
    assert parsed.failure_code == "CAPTURE_AMOUNT_EXCEEDED "
    assert (parsed.actions[0].type_, parsed.actions[0].descriptor) == (
        "NEW_ACTION",
        "NEW_DESCRIPTOR",
    )


def test_xendit_unknown_error_code_parses_and_keeps_error_details(answer_with: Any) -> None:
    """An undocumented error_code parses, and the `errors` details stay reachable."""
    parsed = answer_with(
        "xendit",
        400,
        {
            "error_code": "SOMETHING_NEW",
            "message": "new",
            "errors": ["plain", {"path": "x", "message": "bad"}],
        },
    ).parsed
    assert parsed.error_code == "SOMETHING_NEW"
    assert parsed.errors[0] == "plain"
    assert parsed.errors[1].to_dict() == {"path": "x", "message": "bad"}


def test_xendit_nulls_where_xendit_may_omit_fields_parse(answer_with: Any) -> None:
    """Null failure code, metadata and description do not break the parse."""
    parsed = answer_with(
        "xendit",
        200,
        {"status": "CANCELED", "failure_code": None, "metadata": None, "description": None},
    ).parsed
    assert parsed.failure_code is None
    assert parsed.metadata is None


def test_solidgate_unknown_status_and_code_parse(answer_with: Any) -> None:
    """An unknown success status and an unknown error code each land in the right variant."""
    accepted = answer_with("solidgate", 200, {"status": "revoked"}).parsed
    assert isinstance(accepted, RevokeTokenAccepted)
    assert accepted.status == "revoked"

    failed = answer_with(
        "solidgate", 200, {"error": {"code": "9.99", "messages": "a plain string"}}
    ).parsed
    assert isinstance(failed, RevokeTokenFailed)
    assert isinstance(failed.error, GatewayError)
    assert (failed.error.code, failed.error.messages) == ("9.99", "a plain string")


def test_solidgate_authentication_failure_with_string_messages_is_still_authentication() -> None:
    """The `1.01` variant wins whatever shape its messages take."""
    body = json.dumps({"error": {"code": "1.01", "messages": "Authentication failed"}}).encode()
    parsed = call_generated_client("solidgate", 200, body).parsed
    assert isinstance(parsed, RevokeTokenAuthenticationFailed)
