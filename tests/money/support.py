"""Shared checks for the money tests: the books balance, and a refusal writes nothing."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db.models import F, Q, Sum

from punchcard.billing.models import CreditPayout, Order, OrderLine, Payment, Refund
from punchcard.billing.selectors import money_problems, package_money
from punchcard.domain.errors import DomainError
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages.models import EntryKind, ExpiryChange, Hold, Package, PackageLine, Redemption, SessionEntry
from punchcard.packages.selectors import ledger_mismatches
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


def assert_books_balance() -> None:
    """Every invariant of SPEC §8.3 / §4.1, over the whole database."""
    assert money_problems() == []
    assert ledger_mismatches() == []
    assert (Posting.objects.aggregate(s=Sum("amount"))["s"] or 0) == 0
    assert not Posting.objects.values("entry_id").annotate(s=Sum("amount")).exclude(s=0).exists()
    debits = JournalEntry.objects.annotate(d=Sum("postings__amount", filter=Q(postings__amount__gt=0)))
    assert not debits.exclude(total_debit=F("d")).exists()
    granted_value = dict(
        SessionEntry.objects.filter(kind=EntryKind.GRANT)
        .values("package_id")
        .annotate(s=Sum("value"))
        .values_list("package_id", "s")
    )
    for package in Package.objects.all():
        money = package_money(package)
        assert money.balanced, (package.id, money)
        # The allocation of the price over the lines sums exactly to the (net) price.
        assert granted_value.get(package.id, 0) == package.price_net, (package.id, package.price_net)
    for line in PackageLine.objects.all():
        assert line.deferred_value >= 0
        # A line with nothing left to use holds no value that could never be recognised.
        if line.remaining == 0:
            assert line.deferred_value == 0, (line.id, line.deferred_value)


def by_role(entry: JournalEntry) -> dict[str, int]:
    """One journal entry's postings summed per account role (a sale has one deferred posting per line)."""
    totals: dict[str, int] = {}
    for posting in entry.postings.select_related("account"):
        totals[posting.account.role] = totals.get(posting.account.role, 0) + posting.amount
    return totals
