"""The public API of `tokencancel` as pyright sees it (tests/typing/test_pyright.py runs it).

Never imported by the suite: pyright reads it. Each line ending in `# expect: RULE` is
a mistake pyright must report under that rule, and no other line may have a diagnostic. The
`type: ignore` comments are for mypy, which checks this folder too and must reject the same
mistakes (strict mode warns on an unneeded one); pyright is told to disregard them
(`enableTypeIgnoreComments` is off in tests/typing/pyrightconfig.json).
"""

from __future__ import annotations

from typing import Any, assert_type

from tokencancel import (
    AsyncTokenCancelClient,
    CancelOutcome,
    CancelResult,
    KBankResult,
    Provider,
    SolidgateResult,
    TokenCancelClient,
    XenditResult,
    XenditSettings,
)

XENDIT_TOKEN = "pt-56ef1da0-6c92-490a-9ea8-803eaf404ce1"


def each_provider_is_typed_with_its_model(client: TokenCancelClient) -> None:
    assert_type(client.cancel_kbank("T", reference1="R"), CancelResult[KBankResult])
    assert_type(client.cancel_solidgate("tok"), CancelResult[SolidgateResult])
    assert_type(client.cancel_xendit(XENDIT_TOKEN), CancelResult[XenditResult])
    assert_type(client.cancel(Provider.XENDIT, XENDIT_TOKEN), CancelResult[Any])
    assert_type(client.cancel("xendit", XENDIT_TOKEN).outcome, CancelOutcome)
    assert_type(client.cancel_xendit(XENDIT_TOKEN).parsed, XenditResult | None)


async def the_async_client_is_typed_alike(client: AsyncTokenCancelClient) -> None:
    assert_type(await client.cancel_kbank("T", reference1="R"), CancelResult[KBankResult])
    assert_type(await client.cancel_solidgate("tok"), CancelResult[SolidgateResult])
    assert_type(await client.cancel_xendit(XENDIT_TOKEN), CancelResult[XenditResult])


def misuse_is_rejected(client: TokenCancelClient, result: CancelResult[Any]) -> None:
    client.cancel("xendt", XENDIT_TOKEN)  # type: ignore[arg-type]  # expect: reportArgumentType
    client.cancel_kbank("T")  # type: ignore[call-arg]  # expect: reportCallIssue
    client.cancel_xendit(39)  # type: ignore[arg-type]  # expect: reportArgumentType
    XenditSettings(secret_key=None)  # type: ignore[arg-type]  # expect: reportArgumentType
    result.outcome = CancelOutcome.CANCELLED  # type: ignore[misc]  # expect: reportAttributeAccessIssue
    kbank: CancelResult[KBankResult] = client.cancel_xendit(XENDIT_TOKEN)  # type: ignore[assignment]  # expect: reportAssignmentType
    del kbank
