"""Memberships' events and emails (SPEC §12): each recorded once, in the outbox for webhooks, and the two a
patient is emailed about rendered in the tenant's locale."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard.domain.membership_terms import Trial
from punchcard.notifications.emails import render
from punchcard.notifications.event_types import EMAILABLE, EVENT_TYPES
from punchcard.notifications.models import OutboxEvent

from ..clinic import Clinic, local
from .support import day_run, membership_plan, subscribe

D = dt.date


def test_every_membership_event_is_in_the_catalogue():
    for kind in ("created", "trial_will_end", "renewal_upcoming", "renewed", "payment_failed", "past_due", "ended"):
        assert f"membership.{kind}" in EVENT_TYPES
    assert EMAILABLE["membership.payment_failed"] == EMAILABLE["membership.renewal_upcoming"] == "billing"


@pytest.mark.django_db
def test_renewal_upcoming_fourteen_days_before_once_then_renewed(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic, name="Gold"), method=provider.method("tok_ok", clinic=clinic))
    day_run(D(2026, 6, 16))  # 15 days before 1 July: nothing yet
    assert not OutboxEvent.objects.filter(type="membership.renewal_upcoming").exists()
    day_run(D(2026, 6, 17))
    day_run(D(2026, 6, 18))
    upcoming = OutboxEvent.objects.get(type="membership.renewal_upcoming")
    assert upcoming.payload["renews_on"] == "2026-07-01"
    assert upcoming.payload["days_left"] == 14 and upcoming.payload["amount"] == 300000
    mail = render.render(upcoming, tenant=clinic.tenant, patient=clinic.asha)
    assert mail.subject == "Your Gold membership renews on 1 Jul 2026"
    assert "₹3,000.00 will be charged then" in mail.text
    day_run(D(2026, 7, 1))
    renewed = OutboxEvent.objects.get(type="membership.renewed")
    assert (renewed.payload["membership_id"], renewed.payload["period_start"], renewed.payload["period_end"]) == (
        member.id,
        "2026-07-01",
        "2026-07-31",
    )


@pytest.mark.django_db
def test_trial_will_end_three_days_before_and_a_failed_charge_is_emailed(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    plan = membership_plan(clinic, name="Gold", trial=Trial(length=14))
    subscribe(clinic, plan, method=provider.method("tok_declined", clinic=clinic))
    day_run(D(2026, 6, 11))
    assert not OutboxEvent.objects.filter(type="membership.trial_will_end").exists()
    day_run(D(2026, 6, 12))
    assert OutboxEvent.objects.get(type="membership.trial_will_end").payload["trial_end"] == "2026-06-15"
    day_run(D(2026, 6, 15))
    failed = OutboxEvent.objects.get(type="membership.payment_failed")
    assert (failed.payload["failure_code"], failed.payload["next_retry_on"]) == ("card_declined", "2026-06-18")
    assert OutboxEvent.objects.filter(type="membership.past_due").count() == 1
    mail = render.render(failed, tenant=clinic.tenant, patient=clinic.asha)
    assert mail.subject == "We could not take your Gold payment of ₹3,000.00"
    assert "try your card again on 18 Jun 2026" in mail.text
