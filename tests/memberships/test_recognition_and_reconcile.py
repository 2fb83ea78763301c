"""Membership money (SPEC §10.3): revenue recognised by day as of any date, idempotently; reconcile catches
books that disagree with the invoices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.ledger.reconcile import reconcile
from punchcard.memberships import services
from punchcard.memberships.models import Invoice, MembershipPeriod

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import membership_plan, subscribe

D = dt.date


def _balance(tenant, role) -> int:
    return Posting.objects.filter(tenant=tenant, account__role=role).aggregate(s=Sum("amount"))["s"] or 0


@pytest.mark.django_db
def test_three_thousand_for_june_is_recognised_a_hundred_a_day(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic, monthly=300000), method=provider.method("tok_ok", clinic=clinic))
    invoice = Invoice.objects.get(membership=member)
    services.collect(tenant=clinic.tenant, invoice_id=invoice.id)
    # ₹3,000 (no tax) for 1–30 June: 30 days, ₹100 (10000) a day.
    assert services.recognise(as_of=D(2026, 6, 10)) == 100000  # 10 days
    assert services.recognise(as_of=D(2026, 6, 10)) == 0  # again: nothing
    assert services.recognise(as_of=D(2026, 6, 5)) == 0  # an earlier day: nothing
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -100000
    assert _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == -200000
    assert services.recognise(as_of=D(2026, 6, 30)) == 200000  # the last day earns the rest
    assert services.recognise(as_of=D(2026, 8, 1)) == 0
    assert MembershipPeriod.objects.get(membership=member).recognised == 300000
    assert _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == 0
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_an_unpaid_period_earns_nothing_until_it_is_paid(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic, monthly=310000))  # ₹3,100 for July's 31 days
    invoice = Invoice.objects.get(membership=member)
    assert services.recognise(as_of=D(2026, 6, 10)) == 0
    services.pay_invoice(
        tenant=clinic.tenant, actor=clinic.front_desk, invoice_id=invoice.id, method="card", amount=310000
    )
    # June has 30 days: 310000 × 10 / 30 = 103333.33 → 103333 through 10 June.
    assert services.recognise(as_of=D(2026, 6, 10)) == 103333
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_reconcile_catches_an_invoice_that_says_it_was_paid_when_the_journal_says_not(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic))
    invoice = Invoice.objects.get(membership=member)
    assert_reconciled(clinic.tenant)
    Invoice.objects.filter(pk=invoice.pk).update(paid=300000, status="paid")  # no payment, no entry
    problems = [p for r in reconcile(clinic.tenant) for p in r.problems if p.check == "memberships"]
    details = " | ".join(p.detail for p in problems)
    assert "receivable in the journal is 300000, the invoice says 0" in details
    assert "payments add up to 0, the invoice says 300000 paid" in details


@pytest.mark.django_db
def test_reconcile_catches_recognition_the_journal_does_not_have(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic), method=provider.method("tok_ok", clinic=clinic))
    services.collect(tenant=clinic.tenant, invoice_id=Invoice.objects.get(membership=member).id)
    MembershipPeriod.objects.filter(membership=member).update(recognised=5000)
    problems = [p.detail for r in reconcile(clinic.tenant) for p in r.problems]
    assert any("membership_revenue in the journal is 0, the invoice says -5000" in d for d in problems)
