"""Pausing and resuming a membership (SPEC §10.2).

A pause starts on the day it is asked for and lasts L days, to its resume day. No invoice is issued
while paused, and the clock stops: the period running when it began is stretched by L days (its pause
days earn nothing, domain.recognition), so the next billing date moves by L days and the billing anchor
restarts from it. Resuming early shortens the pause to the days it really lasted: the period's remaining
days are served from the resume day and the next billing date moves back by the days not used, so the
member pays for no day twice and gets no day free (SPEC: "the period restarts from the resume day,
prorated"). The daily billing run resumes a pause on its resume day, then bills as usual.
A pause fee, if the plan has one, is an invoice of one `fee` line, charged like any other.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain import validation
from punchcard.domain.errors import Conflict
from punchcard.domain.idempotency import fingerprint, replay
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_lifecycle import ensure_pause_allowed_this_year, resume_day
from punchcard.domain.membership_status import MembershipStatus, ensure_transition
from punchcard.domain.roles import SYSTEM, Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get

from ..models import Membership, MembershipPause, MembershipPeriod
from . import charging
from .invoicing import issue_fee_invoice
from .status import change_status, lock_membership


def ensure_nothing_owed(membership: Membership) -> None:
    """Refuse (`membership_invoice_open`) while an invoice of the membership is unpaid."""
    unpaid = membership.invoices.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE]).first()
    if unpaid is not None:
        raise Conflict(
            f"invoice {unpaid.number} is unpaid: pay it first",
            code="membership_invoice_open",
            invoice_id=unpaid.id,
        )


def _running_period(membership: Membership, today: dt.date) -> MembershipPeriod | None:
    """The membership's period that contains today, under its lock (README lock order 3c): the newest, as a
    change on a period's first day leaves the old period with the same dates."""
    return (
        MembershipPeriod.objects.select_for_update(no_key=True)
        .filter(membership=membership, start__lte=today, end__gt=today)
        .order_by("-number")
        .first()
    )


def _move_billing(membership: Membership, period: MembershipPeriod | None, days: int) -> None:
    """Move the next billing date (and the running period's end, which is it) by `days`; the anchor
    restarts from the new date, so the periods after it are whole periods from there."""
    delta = dt.timedelta(days=days)
    if period is not None:
        period.end += delta
        period.save(update_fields=["end"])
    membership.next_billing_date += delta
    membership.anchor = membership.next_billing_date


@transaction.atomic
def pause(
    *,
    tenant: Tenant,
    actor: Actor,
    membership_id: int,
    months: int | None = None,
    until: dt.date | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> MembershipPause:
    """Pause an active membership from today for `months` calendar months, or until the given day (the
    first day back), within the plan's pause rules."""
    actor.require(Perm.SELL_MEMBERSHIP)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    until = validation.date(until, "until", optional=True, parse=False)
    digest = fingerprint(membership_id=membership_id, months=months, until=until)
    if key and (existing := MembershipPause.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="pause", request_hash=digest)
    scoped_get(Membership, tenant=tenant, pk=membership_id, field="membership_id")
    membership = lock_membership(tenant, membership_id)
    ensure_transition(MembershipStatus(membership.status), MembershipStatus.PAUSED)
    today = local_date(now, membership.centre)
    rules = membership.version.policies.pause
    back = resume_day(rules, today, months=months, until=until)
    ensure_pause_allowed_this_year(rules, today, membership.pauses.values_list("start", flat=True))
    ensure_nothing_owed(membership)
    period = _running_period(membership, today)
    length = (back - today).days
    _move_billing(membership, period, length)
    change_status(membership, MembershipStatus.PAUSED, actor=actor, now=now, reason=f"paused until {back.isoformat()}")
    membership.save()
    fee = None
    if rules.fee:
        last = back - dt.timedelta(days=1)
        fee = issue_fee_invoice(
            membership,
            amount=rules.fee,
            description=f"{membership.version.name}: pause fee, {today.isoformat()} to {last.isoformat()}",
            actor=actor,
            now=now,
        )
    held = MembershipPause.objects.create(
        tenant=tenant,
        membership=membership,
        period=period,
        start=today,
        until=back,
        fee_invoice=fee,
        created_at=now,
        created_by=actor.label,
        idempotency_key=key,
        request_hash=digest,
    )
    charging.enqueue_open_invoices(membership)
    events.record(
        "membership.paused",
        tenant=tenant,
        subject=membership,
        actor=actor,
        at=now,
        membership_id=membership.id,
        patient_id=membership.patient_id,
        pause_id=held.id,
        start=today.isoformat(),
        until=back.isoformat(),
        days=length,
        next_billing_date=membership.next_billing_date.isoformat(),
        fee=fee.gross if fee else 0,
        currency=tenant.currency,
    )
    return held


def _resume(membership: Membership, held: MembershipPause, *, on: dt.date, actor: Actor, now: dt.datetime) -> None:
    """Bring a locked paused membership back on `on` (its planned resume day, or earlier)."""
    unused = (held.until - on).days
    if unused:
        period = None
        if held.period_id is not None:
            period = MembershipPeriod.objects.select_for_update(no_key=True).get(pk=held.period_id)
        _move_billing(membership, period, -unused)
    held.resumed_on = on
    held.save(update_fields=["resumed_on"])
    early = " early" if unused else ""
    change_status(membership, MembershipStatus.ACTIVE, actor=actor, now=now, reason=f"resumed{early} on {on}")
    membership.save()
    events.record(
        "membership.resumed",
        tenant=membership.tenant,
        subject=membership,
        actor=actor,
        at=now,
        membership_id=membership.id,
        patient_id=membership.patient_id,
        pause_id=held.id,
        resumed_on=on.isoformat(),
        early=bool(unused),
        paused_days=(on - held.start).days,
        next_billing_date=membership.next_billing_date.isoformat(),
    )


def open_pause(membership: Membership) -> MembershipPause:
    return membership.pauses.filter(resumed_on__isnull=True).order_by("-start", "-id").first()


@transaction.atomic
def resume(*, tenant: Tenant, actor: Actor, membership_id: int, now: dt.datetime | None = None) -> Membership:
    """Resume a paused membership today, before its pause ends: idempotent by nature (a repeat finds it
    active and is refused by the status table, so a retried request changes nothing twice)."""
    actor.require(Perm.SELL_MEMBERSHIP)
    now = now or clock.now()
    scoped_get(Membership, tenant=tenant, pk=membership_id, field="membership_id")
    membership = lock_membership(tenant, membership_id)
    ensure_transition(MembershipStatus(membership.status), MembershipStatus.ACTIVE)
    held = open_pause(membership)
    if membership.status != MembershipStatus.PAUSED or held is None:
        raise Conflict(
            f"a {membership.status} membership is not paused",
            code="membership_transition_not_allowed",
            status=membership.status,
            target=str(MembershipStatus.ACTIVE),
        )
    today = local_date(now, membership.centre)
    _resume(membership, held, on=min(today, held.until), actor=actor, now=now)
    return membership


def resume_if_due(membership: Membership, *, today: dt.date, now: dt.datetime) -> bool:
    """The daily run's automatic resume of a locked membership whose pause ends today (or ended)."""
    if membership.status != MembershipStatus.PAUSED:
        return False
    held = open_pause(membership)
    if held is None or held.until > today:
        return False
    _resume(membership, held, on=held.until, actor=SYSTEM, now=now)
    return True
