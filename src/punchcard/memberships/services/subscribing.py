"""Subscribing a patient to a membership plan (SPEC §10.2): today, on a future date (`scheduled`), with or
without a trial. The billing anchor is the first paid period's start (the trial's end, or the start)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.catalogue.models import PlanStatus
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.idempotency import fingerprint, replay
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.periods import Frequency
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Centre, Patient, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from ..models import Membership, MembershipPlan
from . import charging
from .invoicing import bill_next_period

MAX_FUTURE_START_DAYS = 366


@transaction.atomic
def subscribe(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    plan_id: int,
    frequency: str,
    centre_id: int,
    start_date: dt.date | None = None,
    payment_method_id: int | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Membership:
    """A new membership on the plan's current version. Starting today, its first period is billed at once
    (a free trial has no invoice); the charge of a stored method follows outside this transaction
    (`charge_first_invoice`, enqueued here)."""
    actor.require(Perm.SELL_MEMBERSHIP)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    digest = fingerprint(
        patient_id=patient_id,
        plan_id=plan_id,
        frequency=frequency,
        centre_id=centre_id,
        start_date=start_date,
        payment_method_id=payment_method_id,
    )
    if key and (existing := Membership.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="membership", request_hash=digest)
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    plan = scoped_get(MembershipPlan, tenant=tenant, pk=plan_id, field="plan_id")
    if plan.status != PlanStatus.ON_SALE:
        raise Conflict(
            f"membership plan {plan.code} is {plan.status}", code="membership_plan_not_on_sale", field="plan_id"
        )
    version = plan.versions.order_by("-number").first()
    frequency = validation.choice(frequency, Frequency, "frequency")
    price = version.price_for(frequency)
    if price is None:
        offered = ", ".join(str(f) for f in version.prices())
        raise InvalidInput(
            f"{version.name} is not offered {frequency} (offered: {offered})",
            code="frequency_not_offered",
            field="frequency",
        )
    today = local_date(now, centre)
    start = validation.date(start_date, "start_date", optional=True, parse=False) or today
    if start < today:
        raise InvalidInput("a membership cannot start before today", code="backdated", field="start_date")
    if start > today + dt.timedelta(days=MAX_FUTURE_START_DAYS):
        raise InvalidInput("a membership can start at most a year ahead", field="start_date")
    method = charging.check_payment_method(tenant=tenant, patient=patient, payment_method_id=payment_method_id)
    trial_end = version.trial_terms.end(start)
    if start > today:
        status = MembershipStatus.SCHEDULED
    else:
        status = MembershipStatus.TRIALING if trial_end else MembershipStatus.ACTIVE
    membership = Membership.objects.create(
        tenant=tenant,
        patient=patient,
        centre=centre,
        plan=plan,
        version=version,
        frequency=frequency,
        status=status,
        start_date=start,
        trial_end=trial_end,
        anchor=trial_end or start,
        price=price,
        payment_method=method,
        next_billing_date=start,
        status_changed_at=now,
        status_changed_by=actor.label,
        created_at=now,
        created_by=actor.label,
        idempotency_key=key,
        request_hash=digest,
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="membership.create",
        subject=membership,
        now=now,
        data={"plan": plan.code, "version": version.number, "frequency": str(frequency), "start": start.isoformat()},
    )
    if status is not MembershipStatus.SCHEDULED:
        bill_next_period(membership, actor=actor, now=now)
        charging.enqueue_open_invoices(membership)
    events.record(
        "membership.created",
        tenant=tenant,
        subject=membership,
        actor=actor,
        at=now,
        membership_id=membership.id,
        patient_id=patient.id,
        plan_id=plan.id,
        plan_version=version.number,
        frequency=str(frequency),
        status=membership.status,
        start_date=start.isoformat(),
        trial_end=trial_end.isoformat() if trial_end else None,
        next_billing_date=membership.next_billing_date.isoformat(),
        price=price,
        currency=tenant.currency,
    )
    return membership
