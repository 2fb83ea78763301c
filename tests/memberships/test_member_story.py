"""A monthly member over fourteen months (SPEC §10.2, §10.3): Asha joins Gold at ₹3,000 a month on 15 January
2026, her card is declined on the August renewal and goes through on the retry three days later; every month
is billed once, and fourteen months of revenue are recognised to the rupee."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.memberships.models import ChargeAttempt, Invoice, Membership
from punchcard.reports.services import run_report

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

D = dt.date


def _balance(tenant, role) -> int:
    return Posting.objects.filter(tenant=tenant, account__role=role).aggregate(s=Sum("amount"))["s"] or 0


@pytest.mark.django_db
def test_fourteen_months_with_one_failed_renewal_recovered_on_the_retry(provider):
    clinic = Clinic.open(now=local(2026, 1, 15, 11))
    gold = membership_plan(clinic, "gold", name="Gold", monthly=300000)
    card = provider.method("tok_ok", clinic=clinic)
    member = subscribe(clinic, gold, method=card)
    day_run(D(2026, 1, 15), hour=12)  # the worker charges January's invoice

    day = D(2026, 1, 16)
    while day <= D(2027, 3, 15):
        if day == D(2026, 8, 15):
            provider.tokens[card] = "tok_fail_then_ok"  # the card is refused once, then goes through
            provider._seen[card] = 0
        day_run(day)
        if day == D(2026, 8, 15):
            assert Membership.objects.get(pk=member.pk).status == "past_due"
        if day == D(2026, 8, 17):
            assert Membership.objects.get(pk=member.pk).status == "past_due"  # the retry is on the 18th
        day += dt.timedelta(days=1)

    member.refresh_from_db()
    # 15 Jan 2026 to 15 Mar 2027: fifteen period starts (Jan 2026 … Mar 2027), each billed once.
    invoices = Invoice.objects.filter(membership=member).order_by("number")
    assert invoices.count() == 15 and list(invoices.values_list("number", flat=True)) == list(range(1, 16))
    assert set(invoices.values_list("status", flat=True)) == {"paid"}
    assert (member.status, member.next_billing_date, member.failed_attempts) == ("active", D(2027, 4, 15), 0)
    assert list(ChargeAttempt.objects.filter(outcome="failed").values_list("invoice__period__start", flat=True)) == [
        D(2026, 8, 15)
    ]
    # Money by hand: 15 × ₹3,000 = ₹45,000 billed and paid (no tax). Recognised through 14 March 2027 (the
    # last run, on the 15th, recognises through the day before): fourteen whole months (15 Jan 2026 to
    # 14 Mar 2027) = ₹42,000; the March 2027 period has earned nothing yet, so ₹3,000 is still deferred.
    assert _balance(clinic.tenant, Role.CARD_CLEARING) == 4500000
    assert _balance(clinic.tenant, Role.RECEIVABLE) == 0
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -4200000
    assert _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == -300000
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_the_membership_revenue_report_shows_each_month_from_the_journal(provider):
    # Asha joins Gold at ₹3,100 a month on 15 January; periods run 15th to 14th.
    clinic = Clinic.open(now=local(2026, 1, 15, 11))
    gold = membership_plan(clinic, "gold", name="Gold", monthly=310000)
    subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    day_run(D(2026, 1, 15), hour=12)
    day = D(2026, 1, 16)
    while day <= D(2026, 4, 1):
        day_run(day)
        day += dt.timedelta(days=1)
    report = run_report(
        tenant=clinic.tenant,
        actor=clinic.manager,
        name="membership-revenue",
        date_from="2026-01-01",
        date_to="2026-03-31",
    )
    # By hand. 15 Jan–14 Feb has 31 days: ₹100 a day; 15 Feb–14 Mar has 28: ₹110.71 a day; 15 Mar–14 Apr 31.
    # January: 17 days × ₹100 = ₹1,700; deferred ₹3,100 − ₹1,700 = ₹1,400.
    # February: 14 × ₹100 + half of ₹3,100 (14 of 28 days) = ₹1,400 + ₹1,550 = ₹2,950; deferred ₹6,200 − ₹4,650.
    # March: the other ₹1,550 + 17 × ₹100 = ₹3,250; deferred ₹9,300 − ₹7,900 = ₹1,400.
    assert report.rows == [
        {"month": "2026-01", "invoices": 1, "invoiced": 310000, "recognised": 170000, "deferred": 140000},
        {"month": "2026-02", "invoices": 1, "invoiced": 310000, "recognised": 295000, "deferred": 155000},
        {"month": "2026-03", "invoices": 1, "invoiced": 310000, "recognised": 325000, "deferred": 140000},
    ]
    assert report.totals == {"invoices": 3, "invoiced": 930000, "recognised": 790000}
    assert_reconciled(clinic.tenant)
