"""Two trials (SPEC §10.1, §10.2): Asha tries Gold free for 14 days from 1 June 2026 and cancels on 14 June, the
day before it would convert: she is never charged. Ravi tries it too, keeps it, and is charged ₹3,000 on 15 June
when his trial converts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from punchcard.domain.membership_terms import Trial
from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.memberships import services
from punchcard.memberships.models import Invoice, Membership
from punchcard.notifications.models import OutboxEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

D = dt.date


def _balance(tenant, role) -> int:
    return Posting.objects.filter(tenant=tenant, account__role=role).aggregate(s=Sum("amount"))["s"] or 0


def _gold_with_a_free_trial(clinic, **policies):
    return membership_plan(
        clinic, "gold", name="Gold", monthly=300000, trial=Trial(length=14, unit="days", price="free"), **policies
    )


@pytest.mark.django_db
@pytest.mark.parametrize("when", ["now", "period_end"])
def test_a_trial_cancelled_the_day_before_conversion_is_never_charged(provider, when):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    # A 14-day trial from 1 June: its last day is 14 June, and it converts on 15 June. A six-month minimum
    # commitment and 30 days' notice bind the paid plan, not the trial.
    gold = _gold_with_a_free_trial(clinic, policies={"notice_days": 30, "minimum_commitment_periods": 6})
    card = provider.method("tok_ok", clinic=clinic)
    member = subscribe(clinic, gold, method=card)
    assert (member.status, member.trial_end) == ("trialing", D(2026, 6, 15))
    for day in (D(2026, 6, 2), D(2026, 6, 14)):
        day_run(day)
    services.cancel(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, when=when, now=local(2026, 6, 14, 18)
    )
    member.refresh_from_db()
    # "now": cancelled at once; "period_end": cancelling until the trial's end, then ended on 15 June.
    assert member.status == ("cancelled" if when == "now" else "cancelling")
    for day in (D(2026, 6, 15), D(2026, 6, 16), D(2026, 7, 15)):
        day_run(day)
    member.refresh_from_db()
    assert member.status == ("cancelled" if when == "now" else "ended")
    assert member.next_billing_date is None
    # No charge ever: no invoice, nothing taken, nothing in the books but zero.
    assert Invoice.objects.filter(membership=member).count() == 0
    assert provider.charged == []
    assert _balance(clinic.tenant, Role.RECEIVABLE) == 0 and _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == 0
    told = set(OutboxEvent.objects.filter(tenant=clinic.tenant).values_list("type", flat=True))
    assert ("membership.cancelled" if when == "now" else "membership.ended") in told
    assert "membership.renewed" not in told
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_trial_converted(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = _gold_with_a_free_trial(clinic)
    member = subscribe(
        clinic, gold, patient=clinic.ravi, method=provider.method("tok_ok", clinic=clinic, patient=clinic.ravi)
    )
    day = D(2026, 6, 2)
    while day <= D(2026, 7, 15):
        day_run(day)
        if day == D(2026, 6, 14):
            assert Membership.objects.get(pk=member.pk).status == "trialing"
        day += dt.timedelta(days=1)
    member.refresh_from_db()
    # Converted on 15 June: the first paid period 15 June – 14 July, ₹3,000 charged; the second on 15 July.
    invoices = list(Invoice.objects.filter(membership=member).order_by("number"))
    assert [(i.issued_on, i.gross, i.status) for i in invoices] == [
        (D(2026, 6, 15), 300000, "paid"),
        (D(2026, 7, 15), 300000, "paid"),
    ]
    assert (member.status, member.anchor, member.next_billing_date) == ("active", D(2026, 6, 15), D(2026, 8, 15))
    # Recognised through 14 July: the first paid period whole, ₹3,000; the second's ₹3,000 still deferred.
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -300000
    assert _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == -300000
    assert provider.charged == [(member.payment_method_id, 300000)] * 2
    assert_reconciled(clinic.tenant)
