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
