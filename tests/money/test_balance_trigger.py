"""On PostgreSQL the database itself refuses a journal entry whose postings do not balance, once per entry at
commit (ledger migration 0005), whatever code wrote it; and a posting changed afterwards is re-checked."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from punchcard.ledger.models import JournalEntry, Posting
from punchcard.ledger.services import accounts

from ..clinic import Clinic, local

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _entry(clinic, amounts: list[int], total: int | None = None) -> None:
    """An entry of `amounts` (its totals: their debits unless given), written past the services."""
    ids = accounts(clinic.tenant)
    debit = sum(a for a in amounts if a > 0) if total is None else total
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            tenant=clinic.tenant,
            at=clinic.now,
            date=clinic.now.date(),
            kind="test",
            memo="written by hand",
            currency="INR",
            event_type="test",
            event_id=1,
            total_debit=debit,
            total_credit=debit,
        )
        roles = ["deferred_revenue", "package_revenue", "breakage_revenue"]
        Posting.objects.bulk_create(
            Posting(entry=entry, tenant=clinic.tenant, account_id=ids[role], amount=amount)
            for role, amount in zip(roles, amounts, strict=False)
        )


def test_an_entry_whose_postings_do_not_balance_is_refused_at_commit():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    before = JournalEntry.objects.count()
    _entry(clinic, [10000, -10000])  # balanced: commits
    with pytest.raises(IntegrityError, match="does not balance"):
        _entry(clinic, [10000, -9000, -900])  # 100 short
    with pytest.raises(IntegrityError, match="does not balance"):
        _entry(clinic, [10000, -10000], total=12000)  # sums to zero, but its totals say 12,000 was debited
    assert JournalEntry.objects.count() == before + 1


def test_a_posting_changed_afterwards_is_refused_at_commit():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    _entry(clinic, [10000, -10000])
    posting = Posting.objects.filter(tenant=clinic.tenant, amount__gt=0).order_by("-id").first()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount=F("amount") + 7)
    posting.refresh_from_db()
    assert posting.amount == 10000
    assert connection.vendor == "postgresql"
