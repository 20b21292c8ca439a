"""Typed use of each generated client's cancel operation, checked by `mypy --strict`.

Nothing here runs in the test suite: mypy reads it (tests/specs/test_typing.py and `make typecheck`)
to prove that a service can call every generated client with full typing, and that the types it
gets back are the ones the specs promise.
"""

from __future__ import annotations

from typing import assert_type

import tokencancel_kbank_client
import tokencancel_solidgate_client
import tokencancel_xendit_client
from tokencancel_kbank_client.api.kplus_payment import cancel_token as kbank_cancel_token
from tokencancel_kbank_client.models import CancelTokenRequest, CancelTokenResponse, StatusCode
from tokencancel_kbank_client.types import Response as KBankResponse
from tokencancel_kbank_client.types import Unset as KBankUnset
from tokencancel_solidgate_client.api.alternative_payment_methods import (
    cancel_token as solidgate_cancel_token,
)
from tokencancel_solidgate_client.models import (
    RevokeTokenAccepted,
    RevokeTokenAuthenticationFailed,
    RevokeTokenFailed,
    RevokeTokenRequest,
)
from tokencancel_xendit_client.api.payment_tokens import cancel_token as xendit_cancel_token
from tokencancel_xendit_client.models import (
    BadRequestError,
    CancelTokenApiVersion,
    ForbiddenError,
    NotFoundError,
    PaymentToken,
    PaymentTokenStatus,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from tokencancel_xendit_client.types import Unset


def cancel_at_kbank(client: tokencancel_kbank_client.Client) -> str | None:
    request = CancelTokenRequest(
        partner_txn_uid="RGH001030118001",
        partner_id="KP2XXX000033159",
        partner_secret="secret",
        request_dt=1519630776,
        token_id="KP2XXX00003315900BBC3C374D644DE9F2BA5CDC189C27B",
        reference1="ORDER-0001",
    )
    response = kbank_cancel_token.sync_detailed(client=client, body=request)
    assert_type(response, KBankResponse[CancelTokenResponse])
    parsed = response.parsed
    if parsed is None or isinstance(parsed.status_code, KBankUnset) or parsed.status_code is None:
        return None
    assert_type(parsed.status_code, StatusCode | str)
    return str(parsed.status_code)


def cancel_at_solidgate(client: tokencancel_solidgate_client.Client) -> bool:
    parsed = solidgate_cancel_token.sync(
        client=client, body=RevokeTokenRequest(token="923bb4e6-4a5f-41ec-81fb-28eb8a152e55")
    )
    assert_type(
        parsed,
        RevokeTokenAccepted | RevokeTokenAuthenticationFailed | RevokeTokenFailed | None,
    )
    return isinstance(parsed, RevokeTokenAccepted)


async def cancel_at_xendit(client: tokencancel_xendit_client.Client) -> bool:
    parsed = await xendit_cancel_token.asyncio(
        "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1",
        client=client,
        api_version=CancelTokenApiVersion.V2024_11_11,
    )
    assert_type(
        parsed,
        BadRequestError
        | ForbiddenError
        | NotFoundError
        | PaymentToken
        | RateLimitError
        | ServerError
        | ServiceUnavailableError
        | UnauthorizedError
        | None,
    )
    if not isinstance(parsed, PaymentToken):
        return False
    assert_type(parsed.status, PaymentTokenStatus | str | Unset)
    return parsed.status == PaymentTokenStatus.CANCELED
