"""Renewals and dunning (SPEC §10.2): a period is billed once however often the run goes; a failed renewal
is past due and retried per the plan's schedule; the last failed retry cancels or suspends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from punchcard import clock
from punchcard.billing.services.payment_methods import add_payment_method
from punchcard.jobs.tick import tick
from punchcard.memberships import services
from punchcard.memberships.models import ChargeAttempt, Invoice, Membership, MembershipPeriod
from punchcard.notifications.models import OutboxEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

D = dt.date


def _types(member) -> list[str]:
    return list(
        OutboxEvent.objects.filter(type__startswith="membership.", payload__membership_id=member.id)
        .order_by("id")
        .values_list("type", flat=True)
    )


@pytest.mark.django_db
def test_running_the_day_twice_bills_the_period_once(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic), method=provider.method("tok_ok", clinic=clinic))
    day_run(D(2026, 7, 1))
    day_run(D(2026, 7, 1), minute=30)
    assert MembershipPeriod.objects.filter(membership=member).count() == 2
    assert Invoice.objects.filter(membership=member).count() == 2
    assert len(provider.charged) == 2  # the first month and July, each once
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_fail_then_ok_is_past_due_then_recovers_on_the_retry_three_days_later(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic), method=provider.method("tok_fail_then_ok", clinic=clinic))
    day_run(D(2026, 6, 2))  # the first charge: declined
    member.refresh_from_db()
    assert (member.status, member.failed_on, member.next_retry_on) == ("past_due", D(2026, 6, 2), D(2026, 6, 5))
    day_run(D(2026, 6, 4))
    assert Membership.objects.get(pk=member.pk).status == "past_due"  # not yet the retry day
    day_run(D(2026, 6, 5))
    member.refresh_from_db()
    assert (member.status, member.failed_attempts, member.next_retry_on) == ("active", 0, None)
    attempts = list(ChargeAttempt.objects.values_list("number", "outcome", "failure_code"))
    assert attempts == [(1, "failed", "card_declined"), (2, "succeeded", "")]
    assert _types(member) == ["membership.created", "membership.payment_failed", "membership.past_due"]
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_declined_through_the_last_retry_cancels_and_voids_the_unpaid_invoice(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    plan = membership_plan(clinic, dunning={"retry_days": [3, 5], "final_action": "cancel"})
    member = subscribe(clinic, plan, method=provider.method("tok_declined", clinic=clinic))
    day_run(D(2026, 6, 2))  # fails: retries on 5 and 7 June
    day_run(D(2026, 6, 5))
    assert Membership.objects.get(pk=member.pk).next_retry_on == D(2026, 6, 7)
    day_run(D(2026, 6, 7))
    member.refresh_from_db()
    assert (member.status, member.next_billing_date) == ("cancelled", None)
    assert Invoice.objects.get(membership=member).status == "void"
    day_run(D(2026, 7, 1))
    assert Invoice.objects.filter(membership=member).count() == 1  # nothing billed after the end
    assert _types(member)[-1] == "membership.ended"
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_declined_through_the_last_retry_suspends_and_a_desk_payment_reactivates(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    plan = membership_plan(clinic, dunning={"retry_days": [3], "final_action": "suspend"})
    member = subscribe(clinic, plan, method=provider.method("tok_insufficient_funds", clinic=clinic))
    day_run(D(2026, 6, 2))
    day_run(D(2026, 6, 5))
    member.refresh_from_db()
    assert member.status == "suspended"
    invoice = Invoice.objects.get(membership=member)
    assert invoice.status == "open"
    services.pay_invoice(
        tenant=clinic.tenant, actor=clinic.front_desk, invoice_id=invoice.id, method="cash", amount=300000
    )
    member.refresh_from_db()
    assert (member.status, Invoice.objects.get(pk=invoice.pk).status) == ("active", "paid")
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_without_a_stored_method_the_desk_has_the_day_then_it_is_past_due(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic))
    day_run(D(2026, 6, 1), hour=23)  # the same day: still due at the desk
    assert Membership.objects.get(pk=member.pk).status == "active"
    day_run(D(2026, 6, 2))
    member.refresh_from_db()
    assert member.status == "past_due"
    assert ChargeAttempt.objects.get().failure_code == "no_payment_method"
    assert provider.charged == []
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_bill_a_period_once(provider, run_concurrently):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic), method=provider.method("tok_ok", clinic=clinic))
    at = local(2026, 7, 1, 0, 5)
    outcomes = run_concurrently(*[lambda: services.run_billing(now=at)] * 3)
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert MembershipPeriod.objects.filter(membership=member).count() == 2
    assert Invoice.objects.filter(membership=member).count() == 2
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [1, 2]
    assert len(provider.charged) == 2
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db(transaction=True)
def test_the_tick_enqueues_the_daily_jobs_and_the_worker_renews(provider):
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    member = subscribe(clinic, membership_plan(clinic), method=provider.method("tok_ok", clinic=clinic))
    at = local(2026, 7, 1, 0, 10)
    clock.set_now(at)
    enqueued = dict(tick(now=at))
    assert enqueued["membership-billing"] == "Asia/Kolkata/2026-07-01"
    assert {"membership-recognition", "membership-notices"} <= set(enqueued)
    call_command("worker", batch=True, interval="0", verbosity=0)
    assert list(Invoice.objects.filter(membership=member).values_list("status", flat=True)) == ["paid", "paid"]
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_billings_test_provider_fail_then_ok_recovers_on_the_retry():
    """The real test provider, no stand-in: tok_fail_then_ok's first charge is a processing error."""
    clinic = Clinic.open(now=local(2026, 6, 1, 10))
    card = add_payment_method(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        provider="test",
        token="tok_fail_then_ok",
    )
    member = subscribe(clinic, membership_plan(clinic), method=card.id)
    invoice = Invoice.objects.get(membership=member)
    failed = services.collect(tenant=clinic.tenant, invoice_id=invoice.id)
    assert (failed.outcome, failed.failure_code) == ("failed", "processing_error")
    member.refresh_from_db()
    assert (member.status, member.next_retry_on) == ("past_due", D(2026, 6, 4))
    day_run(D(2026, 6, 4))
    member.refresh_from_db()
    invoice.refresh_from_db()
    assert (member.status, invoice.status, invoice.paid) == ("active", "paid", 300000)
    assert_reconciled(clinic.tenant)
