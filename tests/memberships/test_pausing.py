"""Pausing (SPEC §10.2): the plan's pause rules, each refusal with its code, and what a pause moves."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard.domain.errors import DomainError
from punchcard.domain.membership_terms import Trial
from punchcard.memberships import services
from punchcard.memberships.models import Invoice, Membership, MembershipPause
from punchcard.notifications.models import OutboxEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

D = dt.date
RULES = {"allowed": True, "min_months": 1, "max_months": 3, "per_year": 1}


def _member(provider, *, pause=RULES, token="tok_ok", **kw):
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = membership_plan(clinic, "gold", monthly=300000, policies={"pause": pause}, **kw)
    member = subscribe(clinic, plan, method=provider.method(token, clinic=clinic))
    day_run(D(2026, 3, 1), hour=12)
    return clinic, member


def _pause(clinic, member, at=None, **kw):
    return services.pause(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, now=at or local(2026, 3, 10), **kw
    )


def _refused(code, call):
    with pytest.raises(DomainError) as refused:
        call()
    assert refused.value.code == code
    return refused.value


@pytest.mark.django_db
def test_each_pause_rule_refuses_with_its_code(provider):
    clinic, member = _member(provider)
    _refused("pause_too_short", lambda: _pause(clinic, member, until=D(2026, 4, 9)))  # a day short of a month
    _refused("pause_too_long", lambda: _pause(clinic, member, months=4))
    _refused("pause_too_long", lambda: _pause(clinic, member, until=D(2026, 6, 11)))
    _refused("invalid", lambda: _pause(clinic, member, months=1, until=D(2026, 4, 10)))
    _refused("invalid", lambda: _pause(clinic, member))
    assert Membership.objects.get(pk=member.pk).status == "active"  # a refusal writes nothing
    _pause(clinic, member, until=D(2026, 4, 10))
    services.resume(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, now=local(2026, 3, 20))
    # One pause a year: the next is refused until 10 March 2027 (twelve months after the first began).
    _refused("pause_limit_reached", lambda: _pause(clinic, member, local(2026, 3, 25), months=1))
    assert MembershipPause.objects.filter(membership=member).count() == 1
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_plan_without_pauses_refuses(provider):
    clinic, member = _member(provider, pause={"allowed": False})
    _refused("pause_not_allowed", lambda: _pause(clinic, member, months=1))


@pytest.mark.django_db
def test_only_an_active_membership_with_nothing_owed_is_paused(provider):
    clinic, member = _member(provider, token="tok_declined")
    refusal = _refused("membership_transition_not_allowed", lambda: _pause(clinic, member, months=1))
    assert "pay the invoice first" in refusal.message  # the status table's reason for a past-due one

    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = membership_plan(clinic, trial=Trial(length=14), policies={"pause": RULES})
    trial = subscribe(clinic, plan)
    assert (
        "a trial cannot be paused"
        in _refused("membership_transition_not_allowed", lambda: _pause(clinic, trial, months=1)).message
    )

    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    desk_paid = subscribe(clinic, membership_plan(clinic, policies={"pause": RULES}))  # the desk collects
    assert Invoice.objects.get(membership=desk_paid).status == "open"
    _refused("membership_invoice_open", lambda: _pause(clinic, desk_paid, months=1))


@pytest.mark.django_db
def test_a_pause_is_told_and_resuming_is_refused_when_not_paused(provider):
    clinic, member = _member(provider)
    _pause(clinic, member, months=2)
    paused = OutboxEvent.objects.get(type="membership.paused").payload
    # 10 March to 10 May: 61 days; 1 April + 61 days = 1 June.
    assert (paused["start"], paused["until"], paused["days"], paused["next_billing_date"]) == (
        "2026-03-10",
        "2026-05-10",
        61,
        "2026-06-01",
    )
    _refused("membership_transition_not_allowed", lambda: _pause(clinic, member, months=1))
    services.resume(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, now=local(2026, 4, 10))
    resumed = OutboxEvent.objects.get(type="membership.resumed").payload
    # Back on 10 April after 31 days: 30 days not used come off, 1 June − 30 days = 2 May.
    assert (resumed["early"], resumed["paused_days"], resumed["next_billing_date"]) == (True, 31, "2026-05-02")
    _refused(
        "membership_transition_not_allowed",
        lambda: services.resume(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id),
    )


@pytest.mark.django_db
def test_the_same_idempotency_key_pauses_once(provider):
    clinic, member = _member(provider)
    first = _pause(clinic, member, months=1, idempotency_key="pause-1")
    again = _pause(clinic, member, months=1, idempotency_key="pause-1")
    assert first.pk == again.pk and MembershipPause.objects.count() == 1
    _refused("idempotency_conflict", lambda: _pause(clinic, member, months=2, idempotency_key="pause-1"))


@pytest.mark.django_db
def test_a_pause_asked_before_the_days_run_moves_the_renewal_that_was_due_today(provider):
    clinic, member = _member(provider)
    # 1 April, 08:00, before the daily run has billed April: nothing is running, so no period is stretched;
    # the renewal due today moves by the pause (1 April to 1 May, 30 days) to 1 May.
    _pause(clinic, member, local(2026, 4, 1, 8), months=1)
    member.refresh_from_db()
    assert (member.next_billing_date, member.periods.get().end) == (D(2026, 5, 1), D(2026, 4, 1))
    for day in (D(2026, 4, 1), D(2026, 4, 30)):
        day_run(day)
    assert Invoice.objects.filter(membership=member).count() == 1
    day_run(D(2026, 5, 1))
    member.refresh_from_db()
    assert (member.status, member.next_billing_date) == ("active", D(2026, 6, 1))
    assert Invoice.objects.filter(membership=member).count() == 2
    assert_reconciled(clinic.tenant)
