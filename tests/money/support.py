"""Shared checks for the money tests: a refusal writes nothing, trial balances, postings by role."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db.models import Sum

from punchcard.billing.models import CreditPayout, Order, OrderLine, Payment, Refund
from punchcard.domain.errors import DomainError
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages.models import ExpiryChange, Hold, Package, PackageLine, Redemption, SessionEntry
from punchcard.tenancy.models import AuditEvent

COUNTED = (
    JournalEntry,
    Posting,
    SessionEntry,
    Refund,
    AuditEvent,
    Order,
    OrderLine,
    Payment,
    CreditPayout,
    Package,
    PackageLine,
    Redemption,
    Hold,
    ExpiryChange,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@contextmanager
def writes_nothing():
    before = row_counts()
    yield
    assert row_counts() == before


def refused(code: str, call, *args, **kwargs) -> DomainError:
    """`call` is refused with `code` and leaves every table as it was."""
    with writes_nothing(), pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, f"expected {code!r}, got {caught.value.code!r}: {caught.value}"
    return caught.value


def trial_balance(tenant) -> dict[str, int]:
    """Account role → balance (debits positive), zero balances left out."""
    rows = (
        Posting.objects.filter(tenant=tenant)
        .values("account__role")
        .annotate(s=Sum("amount"))
        .order_by("account__role")
    )
    return {row["account__role"]: row["s"] for row in rows if row["s"]}


def by_role(entry: JournalEntry) -> dict[str, int]:
    """One journal entry's postings summed per account role (a sale has one deferred posting per line)."""
    totals: dict[str, int] = {}
    for posting in entry.postings.select_related("account"):
        totals[posting.account.role] = totals.get(posting.account.role, 0) + posting.amount
    return totals
