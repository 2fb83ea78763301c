"""A member paused for two months (SPEC §10.2, §10.3): Asha joins Gold at ₹3,000 a month on 1 March 2026 and
pauses on 16 March for two months; the clinic charges a ₹500 pause fee. Nothing is billed in April and May,
her March period is stretched over the pause, the clock of her revenue stops, she is back on 16 May by
herself, and June is billed on 1 June."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.memberships import services
from punchcard.memberships.models import Invoice, Membership, MembershipPeriod

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

D = dt.date
PAUSABLE = {"pause": {"allowed": True, "min_months": 1, "max_months": 3, "per_year": 1, "fee": 50000}}


def _balance(tenant, role) -> int:
    return Posting.objects.filter(tenant=tenant, account__role=role).aggregate(s=Sum("amount"))["s"] or 0


@pytest.mark.django_db
def test_a_member_paused_for_two_months(provider):
    clinic = Clinic.open(now=local(2026, 3, 1, 11))
    gold = membership_plan(clinic, "gold", name="Gold", monthly=300000, policies=PAUSABLE)
    card = provider.method("tok_ok", clinic=clinic)
    member = subscribe(clinic, gold, method=card)
    day_run(D(2026, 3, 1), hour=12)  # March's invoice charged

    day = D(2026, 3, 2)
    while day <= D(2026, 7, 1):
        if day == D(2026, 3, 16):
            services.pause(
                tenant=clinic.tenant,
                actor=clinic.front_desk,
                membership_id=member.id,
                months=2,
                now=local(2026, 3, 16, 10),
            )
            # Paused from 16 March; back on 16 May: 61 days (16 in March, 30 in April, 15 in May). The next
            # billing date moves from 1 April by 61 days to 1 June; the March period now runs to 31 May.
            paused = Membership.objects.get(pk=member.pk)
            assert (paused.status, paused.next_billing_date) == ("paused", D(2026, 6, 1))
            assert MembershipPeriod.objects.get(membership=member, number=1).end == D(2026, 6, 1)
        day_run(day)
        if day == D(2026, 5, 15):
            assert Membership.objects.get(pk=member.pk).status == "paused"
        if day == D(2026, 5, 16):
            assert Membership.objects.get(pk=member.pk).status == "active"  # back by herself
        if day == D(2026, 5, 31):
            # Recognised by hand: March's ₹3,000 over its 31 service days (1–15 March and 16–31 May), the 61
            # pause days earning nothing: through 30 May that is 15 + 15 = 30 days → ₹3,000 × 30/31 = ₹2,903.23.
            assert MembershipPeriod.objects.get(membership=member, number=1).recognised == 290323
        day += dt.timedelta(days=1)

    member.refresh_from_db()
    invoices = list(Invoice.objects.filter(membership=member).order_by("number"))
    # Invoices by hand: 1 March ₹3,000 (March), 16 March ₹500 (the pause fee, one `fee` line), 1 June ₹3,000,
    # 1 July ₹3,000 — nothing in April or May.
    assert [(i.issued_on, i.gross, i.status) for i in invoices] == [
        (D(2026, 3, 1), 300000, "paid"),
        (D(2026, 3, 16), 50000, "paid"),
        (D(2026, 6, 1), 300000, "paid"),
        (D(2026, 7, 1), 300000, "paid"),
    ]
    assert [line.kind for line in invoices[1].lines.all()] == ["fee"]
    assert (member.status, member.next_billing_date, member.anchor) == ("active", D(2026, 8, 1), D(2026, 6, 1))
    # Through 30 June (the 1 July run): March's period and June's whole, ₹6,000 membership revenue; July's
    # ₹3,000 still deferred; the ₹500 fee earned when invoiced; ₹9,500 taken on the card.
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -600000
    assert _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == -300000
    assert _balance(clinic.tenant, Role.FEE_REVENUE) == -50000
    assert _balance(clinic.tenant, Role.CARD_CLEARING) == 950000
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_an_early_resume_moves_the_next_billing_date_back_by_the_days_not_used(provider):
    clinic = Clinic.open(now=local(2026, 3, 1, 11))
    gold = membership_plan(clinic, "gold", monthly=310000, policies=PAUSABLE | {"pause": {"allowed": True}})
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    day_run(D(2026, 3, 1), hour=12)
    services.pause(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, months=1, now=local(2026, 3, 11)
    )
    member.refresh_from_db()
    # 11 March to 11 April: 31 days; 1 April + 31 days = 2 May.
    assert member.next_billing_date == D(2026, 5, 2)
    day_run(D(2026, 3, 21))
    services.resume(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, now=local(2026, 3, 21))
    member.refresh_from_db()
    # Back on 21 March after 10 days: the 21 days not used come off again, 2 May − 21 days = 11 April; the
    # period restarts from the resume day with its 21 remaining days (21 March to 10 April).
    assert (member.status, member.next_billing_date) == ("active", D(2026, 4, 11))
    day_run(D(2026, 4, 11))
    # ₹3,100 over 31 service days is ₹100 a day: the whole period is earned through 10 April.
    assert MembershipPeriod.objects.get(membership=member, number=1).recognised == 310000
    assert Invoice.objects.filter(membership=member).count() == 2
    assert_reconciled(clinic.tenant)
