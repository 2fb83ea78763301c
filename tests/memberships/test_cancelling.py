"""Cancelling (SPEC §10.2, §10.3, §8): now or at the period end per the plan's policy, the notice period and the
minimum commitment, the unused days refunded to credit, withdrawing a cancellation, and the unpaid case."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard.billing.selectors import credit_balance
from punchcard.domain.errors import DomainError
from punchcard.domain.membership_terms import Trial
from punchcard.memberships import services
from punchcard.memberships.models import Invoice, Membership, MembershipPeriod
from punchcard.notifications.models import OutboxEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

D = dt.date
IMMEDIATE = {"cancellation": "immediate"}


def _member(provider, *, policies=None, price=310000, start=local(2026, 3, 1, 10), token="tok_ok", **kw):
    clinic = Clinic.open(now=start)
    plan = membership_plan(clinic, "gold", monthly=price, policies=policies, **kw)
    member = subscribe(clinic, plan, method=provider.method(token, clinic=clinic))
    day_run(start.date(), hour=12)  # the first invoice charged
    return clinic, member


def _cancel(clinic, member, at, *, actor=None, **kw):
    return services.cancel(tenant=clinic.tenant, actor=actor or clinic.manager, membership_id=member.id, now=at, **kw)


def _refused(code, call):
    with pytest.raises(DomainError) as refused:
        call()
    assert refused.value.code == code
    return refused.value


@pytest.mark.django_db
def test_cancelling_now_with_a_refund_gives_the_unused_days_back_as_credit(provider):
    clinic, member = _member(provider, policies=IMMEDIATE)
    day_run(D(2026, 3, 11))  # recognised through 10 March: 10 of 31 days of ₹3,100 = ₹1,000
    _refused(
        "forbidden", lambda: _cancel(clinic, member, local(2026, 3, 11), actor=clinic.front_desk, refund_unused=True)
    )
    _cancel(clinic, member, local(2026, 3, 11), when="now", refund_unused=True)
    member.refresh_from_db()
    assert (member.status, member.next_billing_date) == ("cancelled", None)
    # By hand: 11–31 March unused, 21 of 31 days × ₹3,100 = ₹2,100 to Asha's credit; ₹1,000 earned, no more.
    assert credit_balance(clinic.tenant, clinic.asha.id) == 210000
    invoice = Invoice.objects.get(membership=member)
    assert (invoice.status, invoice.credited_net, invoice.credited_tax) == ("paid", 210000, 0)
    for day in (D(2026, 3, 20), D(2026, 4, 1), D(2026, 5, 1)):
        day_run(day)
    assert MembershipPeriod.objects.get(membership=member).recognised == 100000
    assert Invoice.objects.filter(membership=member).count() == 1  # never billed again
    event = OutboxEvent.objects.get(type="membership.cancelled")
    assert (event.payload["cancelled_on"], event.payload["refunded_to_credit"]) == ("2026-03-11", 210000)
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_cancelling_now_without_a_refund_earns_the_rest_of_the_period(provider):
    clinic, member = _member(provider, policies=IMMEDIATE, tax_rate_bp=1800)
    _cancel(clinic, member, local(2026, 3, 11), actor=clinic.front_desk)  # the policy's mode: now
    day_run(D(2026, 3, 12))
    # Stopped on 11 March with nothing refunded: the whole net fee is earned by the stop (₹3,100 incl. 18 %).
    invoice = Invoice.objects.get(membership=member)
    assert MembershipPeriod.objects.get(membership=member).recognised == invoice.net
    assert credit_balance(clinic.tenant, clinic.asha.id) == 0
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_period_end_plan_refuses_now_and_ends_at_the_period_end_once_withdrawn_and_asked_again(provider):
    clinic, member = _member(provider)  # the default policy: at the period end
    _refused("immediate_cancellation_not_allowed", lambda: _cancel(clinic, member, local(2026, 3, 10), when="now"))
    _cancel(clinic, member, local(2026, 3, 10))
    member.refresh_from_db()
    assert (member.status, member.cancel_on) == ("cancelling", D(2026, 4, 1))
    _refused("invalid", lambda: _cancel(clinic, member, local(2026, 3, 10), when="period_end", refund_unused=True))
    services.keep(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, now=local(2026, 3, 12))
    member.refresh_from_db()
    assert (member.status, member.cancel_on) == ("active", None)
    _refused(
        "membership_transition_not_allowed",
        lambda: services.keep(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id),
    )
    _cancel(clinic, member, local(2026, 3, 20), when="period_end")
    for day in (D(2026, 3, 31), D(2026, 4, 1), D(2026, 5, 1)):
        day_run(day)
    member.refresh_from_db()
    assert (member.status, member.next_billing_date) == ("ended", None)
    assert Invoice.objects.filter(membership=member).count() == 1  # April never billed
    assert OutboxEvent.objects.get(type="membership.ended").payload["ended_on"] == "2026-04-01"
    assert MembershipPeriod.objects.get(membership=member).recognised == 310000
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_the_notice_period_carries_the_end_past_the_next_renewal(provider):
    clinic, member = _member(provider, policies={"notice_days": 30})
    _cancel(clinic, member, local(2026, 3, 20))
    member.refresh_from_db()
    # Asked on 20 March with 30 days' notice: the earliest end is 19 April, so the first period end on or
    # after it, 1 May. April is still billed; May is not.
    assert (member.status, member.cancel_on) == ("cancelling", D(2026, 5, 1))
    for day in (D(2026, 4, 1), D(2026, 4, 2), D(2026, 5, 1), D(2026, 6, 1)):
        day_run(day)
    member.refresh_from_db()
    assert member.status == "ended"
    assert list(Invoice.objects.filter(membership=member).values_list("issued_on", "status")) == [
        (D(2026, 3, 1), "paid"),
        (D(2026, 4, 1), "paid"),
    ]
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_now_is_refused_within_the_notice_period_and_the_minimum_commitment(provider):
    clinic, member = _member(provider, policies=IMMEDIATE | {"notice_days": 7})
    refusal = _refused("notice_period", lambda: _cancel(clinic, member, local(2026, 3, 10), when="now"))
    assert refusal.context["earliest"] == "2026-03-17"

    clinic, member = _member(provider, policies=IMMEDIATE | {"minimum_commitment_periods": 3})
    refusal = _refused("minimum_commitment", lambda: _cancel(clinic, member, local(2026, 3, 10), when="now"))
    assert refusal.context["earliest"] == "2026-06-01"  # three monthly periods from 1 March
    # At the period end, it is scheduled for the commitment's end instead.
    _cancel(clinic, member, local(2026, 3, 10), when="period_end")
    member.refresh_from_db()
    assert (member.status, member.cancel_on) == ("cancelling", D(2026, 6, 1))


@pytest.mark.django_db
def test_a_past_due_membership_is_cancelled_at_once_and_its_unpaid_invoice_voided(provider):
    clinic, member = _member(provider, token="tok_declined")
    assert Membership.objects.get(pk=member.pk).status == "past_due"
    _cancel(clinic, member, local(2026, 3, 2), when="period_end")  # nothing to wait for: at once
    member.refresh_from_db()
    assert member.status == "cancelled"
    assert Invoice.objects.get(membership=member).status == "void"
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_paused_member_cancelled_with_a_refund_gets_the_days_not_served(provider):
    clinic, member = _member(provider, policies=IMMEDIATE | {"pause": {"allowed": True}})
    day_run(D(2026, 3, 11))
    services.pause(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, months=1, now=local(2026, 3, 11)
    )
    day_run(D(2026, 3, 20))
    _cancel(clinic, member, local(2026, 3, 20), when="now", refund_unused=True)
    # Served 1–10 March (₹1,000 earned); paused from the 11th; the 21 days not served are refunded: ₹2,100.
    assert credit_balance(clinic.tenant, clinic.asha.id) == 210000
    day_run(D(2026, 4, 30))
    assert MembershipPeriod.objects.get(membership=member).recognised == 100000
    assert Membership.objects.get(pk=member.pk).pauses.get().resumed_on == D(2026, 3, 20)
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_membership_that_has_not_started_is_cancelled_with_nothing_billed(provider):
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    gold = membership_plan(clinic, trial=Trial(length=14))
    member = subscribe(clinic, gold, start_date=D(2026, 4, 1))
    _cancel(clinic, member, local(2026, 3, 5))
    day_run(D(2026, 4, 1))
    member.refresh_from_db()
    assert (member.status, member.periods.count(), Invoice.objects.filter(membership=member).count()) == (
        "cancelled",
        0,
        0,
    )
    _refused("membership_transition_not_allowed", lambda: _cancel(clinic, member, local(2026, 3, 6)))


@pytest.mark.django_db
def test_withdrawing_a_trials_cancellation_goes_back_to_the_trial(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    gold = membership_plan(clinic, trial=Trial(length=14))
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    _cancel(clinic, member, local(2026, 6, 5), when="period_end")
    member.refresh_from_db()
    assert (member.status, member.cancel_on) == ("cancelling", D(2026, 6, 15))
    services.keep(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, now=local(2026, 6, 6))
    member.refresh_from_db()
    assert member.status == "trialing"
    day_run(D(2026, 6, 15))
    member.refresh_from_db()
    assert (member.status, Invoice.objects.get(membership=member).status) == ("active", "paid")  # converted
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_period_end_cancellation_withdraws_a_change_scheduled_for_the_period_end(provider):
    # Found in review: Asha schedules a move to the annual price for 1 April, then cancels at the period end
    # with 30 days' notice (ends 1 May). Without the withdrawal, 1 April would bill a whole year.
    clinic, member = _member(provider, policies={"notice_days": 30}, annual=3000000)
    services.change_membership(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        membership_id=member.id,
        plan_id=member.plan_id,
        frequency="annual",
        effective="period_end",
        now=local(2026, 3, 10),
    )
    _cancel(clinic, member, local(2026, 3, 10), when="period_end")
    member.refresh_from_db()
    assert (member.status, member.cancel_on) == ("cancelling", D(2026, 5, 1))
    assert member.changes.get().status == "withdrawn"
    for day in (D(2026, 4, 1), D(2026, 5, 1)):
        day_run(day)
    # March and April at ₹3,100 a month, nothing more; ended on 1 May.
    assert list(Invoice.objects.filter(membership=member).order_by("number").values_list("gross", flat=True)) == [
        310000,
        310000,
    ]
    assert Membership.objects.get(pk=member.pk).status == "ended"
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_cancelling_a_paused_member_refunds_the_real_unused_days(provider):
    # Found in review: March (31 days, ₹3,100 with 18 % GST included: net ₹2,627.12, tax ₹472.88) paused on
    # 11 March for a month stretches the period to 11 April; cancelled on 20 March with a refund, the days
    # the pause added are never served. By hand: served 1–10 March; the 21 days left are unused:
    # net 21/31 × ₹2,627.12 = ₹1,779.66, tax 21/31 × ₹472.88 = ₹320.34, ₹2,100.00 to credit.
    clinic, member = _member(provider, policies={**IMMEDIATE, "pause": {"allowed": True}}, tax_rate_bp=1800)
    day_run(D(2026, 3, 11))
    services.pause(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, months=1, now=local(2026, 3, 11, 9)
    )
    _cancel(clinic, member, local(2026, 3, 20), when="now", refund_unused=True)
    invoice = Invoice.objects.get(membership=member)
    assert (invoice.net, invoice.tax) == (262712, 47288)
    assert (invoice.credited_net, invoice.credited_tax) == (177966, 32034)
    assert credit_balance(clinic.tenant, clinic.asha.id) == 210000
    for day in (D(2026, 3, 21), D(2026, 4, 15)):
        day_run(day)
    assert MembershipPeriod.objects.get(membership=member).recognised == 262712 - 177966
    assert_reconciled(clinic.tenant)
