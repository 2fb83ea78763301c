"""ledger.reconcile: the named reconciliation checks, clean and broken."""

from __future__ import annotations

import pytest
from django.db.models import F

from punchcard.ledger.models import JournalEntry, Posting
from punchcard.ledger.reconcile import checks, journal_problems, reconcile
from punchcard.tenancy import services as tenancy

from .conftest import run

pytestmark = pytest.mark.django_db


def test_every_check_passes_on_the_demo_and_counts_what_it_checked(demo):
    results = reconcile(demo.tenant)
    assert [r.name for r in results] == [c.name for c in checks()]
    assert all(r.ok for r in results)
    # The demo's members pay at the desk (it is built in one transaction, where no card is charged): the
    # card charges' check has nothing to count there; tests/memberships count it.
    assert [r.name for r in results if not r.checked] == ["membership_charges"]
    assert journal_problems() == [] and journal_problems(demo.tenant) == []


def test_wrong_entry_totals_are_found(demo):
    entry = JournalEntry.objects.filter(tenant=demo.tenant, kind="sale").first()
    JournalEntry.objects.filter(pk=entry.pk).update(
        total_debit=F("total_debit") + 1, total_credit=F("total_credit") + 1
    )
    try:
        problems = journal_problems(demo.tenant)
        assert [(p.check, p.subject) for p in problems] == [("entry_totals", f"journal entry {entry.id} (sale)")]
    finally:
        # Put it back before the test's teardown: on PostgreSQL the deferred balance trigger checks it then.
        JournalEntry.objects.filter(pk=entry.pk).update(total_debit=entry.total_debit, total_credit=entry.total_credit)


@pytest.mark.sqlite  # on PostgreSQL the deferred balance trigger refuses this at the test's teardown
def test_an_unbalanced_entry_and_journal_are_found(demo):
    posting = Posting.objects.filter(entry__tenant=demo.tenant, amount__gt=0).first()
    Posting.objects.filter(pk=posting.pk).update(amount=F("amount") + 7)
    checks = {p.check for p in journal_problems(demo.tenant)}
    assert checks == {"entries_balance", "entry_totals", "journal_balances"}
    result = run("reconcile")
    assert result.code == 1 and result.err.startswith("error [reconcile_failed]: ")


def test_reconcile_all_tenants(demo):
    tenancy.create_tenant(name="Empty Clinic", slug="empty")
    result = run("reconcile", "--all")
    assert result.code == 0, result.err
    assert "All checks passed for 2 tenant(s)." in result.out
    assert run("reconcile", "--all", "--tenant", "demo").code == 2
