"""Subscribing (SPEC §10.2): today, on a future date, with a free or a paid trial, the 31 January anchor;
the first invoice, the credit applied first, the charge after the commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import Sum

from punchcard.billing import services as billing
from punchcard.domain.errors import DomainError
from punchcard.domain.membership_terms import Trial
from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.memberships import selectors, services
from punchcard.memberships.models import Invoice, Membership, MembershipPeriod

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

D = dt.date


def _balance(tenant, role) -> int:
    return Posting.objects.filter(tenant=tenant, account__role=role).aggregate(s=Sum("amount"))["s"] or 0


@pytest.mark.django_db
def test_subscribing_today_invoices_the_first_month_and_the_charge_pays_it(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic, monthly=300000, tax_rate_bp=1800)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    assert member.status == "active" and member.anchor == D(2026, 6, 1)
    invoice = Invoice.objects.get(membership=member)
    # ₹3,000 with 18 % GST included: net 300000 × 10000 / 11800 = 254237.29 → 254237; tax 45763.
    assert (invoice.number, invoice.gross, invoice.net, invoice.tax, invoice.status) == (
        1,
        300000,
        254237,
        45763,
        "open",
    )
    period = MembershipPeriod.objects.get(membership=member)
    assert (period.start, period.end) == (D(2026, 6, 1), D(2026, 7, 1))

    services.collect(tenant=clinic.tenant, invoice_id=invoice.id)  # what the queued task does after commit
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid) == ("paid", 300000)
    assert provider.charged == [(member.payment_method_id, 300000)]
    assert _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == -254237
    assert _balance(clinic.tenant, Role.RECEIVABLE) == 0
    standing = selectors.standing(Membership.objects.get(pk=member.pk))
    assert (standing.current.start, standing.next_billing_date, standing.next_amount) == (
        D(2026, 6, 1),
        D(2026, 7, 1),
        300000,
    )
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_future_start_is_scheduled_and_billed_on_its_day(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic)
    member = subscribe(clinic, gold, start_date=D(2026, 6, 15), method=provider.method("tok_ok", clinic=clinic))
    assert member.status == "scheduled" and not Invoice.objects.exists()
    day_run(D(2026, 6, 14))
    assert Membership.objects.get(pk=member.pk).status == "scheduled"
    day_run(D(2026, 6, 15))
    member.refresh_from_db()
    invoice = Invoice.objects.get(membership=member)
    assert (member.status, invoice.status, member.next_billing_date) == ("active", "paid", D(2026, 7, 15))
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_free_trial_has_no_invoice_and_converts_at_its_end(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic, trial=Trial(length=14, unit="days", price="free"))
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    assert (member.status, member.trial_end, member.anchor) == ("trialing", D(2026, 6, 15), D(2026, 6, 15))
    assert not Invoice.objects.exists()
    trial = MembershipPeriod.objects.get(membership=member)
    assert (trial.kind, trial.start, trial.end) == ("trial", D(2026, 6, 1), D(2026, 6, 15))
    day_run(D(2026, 6, 15))
    member.refresh_from_db()
    paid = Invoice.objects.get(membership=member)
    assert (member.status, paid.gross, paid.status, paid.period.start, paid.period.end) == (
        "active",
        300000,
        "paid",
        D(2026, 6, 15),
        D(2026, 7, 15),
    )
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_paid_trial_is_invoiced_at_its_start_at_the_trial_price(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic, trial=Trial(length=1, unit="months", price="discounted", amount=50000))
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    first = Invoice.objects.get(membership=member)
    assert (member.status, first.gross, first.lines.get().kind) == ("trialing", 50000, "trial")
    services.collect(tenant=clinic.tenant, invoice_id=first.id)
    assert Membership.objects.get(pk=member.pk).status == "trialing"  # still the trial, paid
    day_run(D(2026, 7, 1))
    member.refresh_from_db()
    assert member.status == "active"
    assert list(Invoice.objects.filter(membership=member).values_list("gross", "status")) == [
        (50000, "paid"),
        (300000, "paid"),
    ]
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_anchored_31_january_bills_28_february_then_31_march(provider):
    clinic = Clinic.open(now=local(2027, 1, 31, 10))
    gold = membership_plan(clinic)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    for day in (D(2027, 2, 28), D(2027, 3, 31), D(2027, 4, 30)):
        day_run(day)
    starts = list(MembershipPeriod.objects.filter(membership=member).values_list("start", flat=True))
    assert starts == [D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 31), D(2027, 4, 30)]
    assert Membership.objects.get(pk=member.pk).next_billing_date == D(2027, 5, 31)
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_credit_is_applied_before_the_card_is_charged(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    package_plan = clinic.plan("facials", price=100000, lines=[clinic.line("facial", sessions=10)])
    package = clinic.sell(package_plan)
    billing.refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, amount=100000, reason="x")
    gold = membership_plan(clinic)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    invoice = Invoice.objects.get(membership=member)
    assert (invoice.credit_applied, invoice.due) == (100000, 200000)  # ₹1,000 of credit first, ₹2,000 left
    services.collect(tenant=clinic.tenant, invoice_id=invoice.id)
    assert provider.charged == [(member.payment_method_id, 200000)]
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_refusals_name_their_rule_and_write_nothing():
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic)
    for kwargs, code in [
        ({"frequency": "annual"}, "frequency_not_offered"),
        ({"start_date": D(2026, 5, 31)}, "backdated"),
        ({"frequency": "weekly"}, "invalid"),
    ]:
        with pytest.raises(DomainError) as refused:
            subscribe(clinic, gold, **kwargs)
        assert refused.value.code == code
    services.set_membership_plan_status(
        tenant=clinic.tenant, actor=clinic.manager, plan_id=gold.plan_id, status="retired"
    )
    with pytest.raises(DomainError) as refused:
        subscribe(clinic, gold)
    assert refused.value.code == "membership_plan_not_on_sale"
    assert not Membership.objects.exists() and not Invoice.objects.exists()


@pytest.mark.django_db
def test_the_same_idempotency_key_returns_the_first_membership():
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic)
    first = subscribe(clinic, gold, idempotency_key="sub-1")
    assert subscribe(clinic, gold, idempotency_key="sub-1").pk == first.pk
    with pytest.raises(DomainError) as refused:
        subscribe(clinic, gold, idempotency_key="sub-1", patient=clinic.ravi)
    assert refused.value.code == "idempotency_conflict"
    assert Invoice.objects.count() == 1


@pytest.mark.django_db
def test_a_rolled_back_issue_gives_its_invoice_number_back():
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic)
    with pytest.raises(RuntimeError), transaction.atomic():
        subscribe(clinic, gold)
        raise RuntimeError("the desk's request failed after the invoice was issued")
    assert not Invoice.objects.exists()
    subscribe(clinic, gold, patient=clinic.ravi)
    assert list(Invoice.objects.values_list("number", flat=True)) == [1]  # number 1 again: no gap
