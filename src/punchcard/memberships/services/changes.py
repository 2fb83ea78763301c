"""Plan changes (SPEC §10.2): an upgrade or downgrade (by rank in the plan's tier group) or a change of
billing frequency, effective now or at the period end.

Now: the unused part of the paid period goes back to the patient's credit, and the rest of the period at
the new plan is charged — both prorated by whole days with the tenant's day-count convention, half-up
(`domain.proration`). The charge is an invoice at once (the plan bills prorations `now`; the credit pays
first, the stored method the rest, through the ordinary charging path) or a line of the next invoice
(`next_invoice`). A frequency change now starts a new period of the new frequency today, billed at once.
At the period end: the change is scheduled and the daily run applies it when the next period starts, which
is then billed at the new plan and frequency.

A preview and the change itself both go through `quote`, so the preview is exactly what the change writes.
Price changes (a newer version of the member's own plan) reach a member at a period start too, from
`take_effect` (when: `prices.newer_version`; the notice is in `notices`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from punchcard import clock, events
from punchcard.billing.selectors import credit_balance
from punchcard.catalogue.models import PlanStatus
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.idempotency import fingerprint, replay
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.periods import BillingPeriod, Frequency, period, period_on
from punchcard.domain.proration import DayCount, prorate_change, prorate_sessions, share
from punchcard.domain.roles import SYSTEM, Actor, Perm
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from ..models import (
    ChangeEffective,
    ChangeStatus,
    Invoice,
    InvoiceLineKind,
    Membership,
    MembershipChange,
    MembershipPeriod,
    MembershipPlan,
    MembershipPlanVersion,
    PeriodKind,
)
from . import charging
from .invoicing import LineQuote, issue_invoice, line_of, pending_prorations
from .prices import newer_version
from .status import lock_membership

DAY_COUNT_SETTING = "membership_day_count"  # the tenant's settings key; default actual_end_excluded


class ChangeKind:
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    FREQUENCY = "frequency_change"


def day_count(tenant: Tenant) -> DayCount:
    """The tenant's day-count convention for prorations (SPEC §10.2), `actual_end_excluded` unless set."""
    value = (tenant.settings or {}).get(DAY_COUNT_SETTING) or DayCount.ACTUAL_END_EXCLUDED
    return validation.choice(value, DayCount, DAY_COUNT_SETTING)


@dataclass(frozen=True)
class ChangeQuote:
    """What a change does, before it is made: the figures a preview shows and the change writes."""

    kind: str
    effective: str
    effective_on: dt.date
    from_version: MembershipPlanVersion
    to_version: MembershipPlanVersion
    from_frequency: str
    to_frequency: str
    price: int  # the new plan's price per period at the new frequency
    proration_billing: str
    convention: str
    new_period: BillingPeriod  # the period (or rest of one) the new terms start with
    credited_invoice: Invoice | None = None
    credit: LineQuote | None = None  # the unused part of the paid period, to credit
    unused_days: int = 0
    period_days: int = 0
    lines: list[LineQuote] = field(default_factory=list)  # the invoice lines the change produces
    invoiced_now: bool = False  # the lines are an invoice at once (else: on the next period's invoice)
    credit_applied: int = 0  # of an invoice at once, what the patient's credit pays
    sessions: list[dict] = field(default_factory=list)  # the new plan's benefits for `new_period`

    @property
    def charge(self) -> int:
        return sum(line.gross for line in self.lines) if self.effective == ChangeEffective.NOW else 0

    @property
    def due_now(self) -> int:
        return self.charge - self.credit_applied if self.invoiced_now else 0


def _target(membership: Membership, plan_id: int, frequency: str | None) -> tuple[MembershipPlanVersion, Frequency]:
    plan = scoped_get(MembershipPlan, tenant=membership.tenant, pk=plan_id, field="plan_id")
    same_plan = plan.id == membership.plan_id
    if not same_plan and plan.status != PlanStatus.ON_SALE:
        raise Conflict(
            f"membership plan {plan.code} is {plan.status}", code="membership_plan_not_on_sale", field="plan_id"
        )
    # The member keeps their own version on a frequency change; a new plan is taken at its current version.
    version = membership.version if same_plan else plan.versions.order_by("-number").first()
    frequency = validation.choice(frequency or membership.frequency, Frequency, "frequency")
    if version.price_for(frequency) is None:
        offered = ", ".join(str(f) for f in version.prices())
        raise InvalidInput(
            f"{version.name} is not offered {frequency} (offered: {offered})",
            code="frequency_not_offered",
            field="frequency",
        )
    return version, frequency


def _kind(membership: Membership, version: MembershipPlanVersion, frequency: Frequency) -> str:
    old, new = membership.plan, version.plan
    if old.id == new.id:
        if frequency == membership.frequency:
            raise Conflict(
                f"the membership is already on {version.name}, {frequency}",
                code="change_nothing_to_change",
                field="plan_id",
            )
        return ChangeKind.FREQUENCY
    if old.tier_group_id is None or old.tier_group_id != new.tier_group_id:
        raise Conflict(
            f"{new.code} is not in the tier group of {old.code}: a change moves up or down one tier group",
            code="change_other_tier_group",
            field="plan_id",
        )
    return ChangeKind.UPGRADE if new.rank > old.rank else ChangeKind.DOWNGRADE


def _benefits(version: MembershipPlanVersion, *, within: BillingPeriod | None, day: dt.date, convention) -> list[dict]:
    """The version's benefit lines, prorated down for the rest of a period (`within`), or whole."""
    if not version.benefits_id:
        return []
    out = []
    for line in version.benefits.lines.all():
        sessions = line.sessions
        if within is not None:
            sessions = prorate_sessions(sessions, period=within, day=day, convention=convention)
        out.append({"service_ids": sorted(s.id for s in line.services.all()), "sessions": sessions})
    return out


def _describe_rest(version, frequency, span: BillingPeriod, part: int, whole: int) -> str:
    return (
        f"{version.name} ({frequency}), {span.start.isoformat()} to {span.last_day.isoformat()}: "
        f"rest of the period, {part} of {whole} days"
    )


def _describe_period(version, frequency, span: BillingPeriod) -> str:
    return f"{version.name} ({frequency}), {span.start.isoformat()} to {span.last_day.isoformat()}"


def current_period(membership: Membership, today: dt.date) -> MembershipPeriod | None:
    """The period `today` falls in (the newest, where a change on a period's first day replaced it)."""
    return membership.periods.filter(start__lte=today, end__gt=today).order_by("-number").first()


def quote(
    membership: Membership, *, plan_id: int, frequency: str | None, effective: str | None, today: dt.date
) -> ChangeQuote:
    """What changing `membership` to the plan and frequency would do, as of `today`; refused when it may not."""
    if membership.status != MembershipStatus.ACTIVE:
        raise Conflict(
            f"only an active membership changes plan; this one is {membership.status}",
            code="membership_not_active",
            status=membership.status,
        )
    version, frequency = _target(membership, plan_id, frequency)
    kind = _kind(membership, version, frequency)
    # SPEC §10.2: upgrades apply at once, downgrades (and frequency changes) at the period end unless asked.
    default = ChangeEffective.NOW if kind == ChangeKind.UPGRADE else ChangeEffective.PERIOD_END
    effective = validation.choice(effective or default, ChangeEffective, "effective").value
    if membership.changes.filter(status=ChangeStatus.SCHEDULED).exists():
        raise Conflict("a change is already scheduled for the period end", code="change_already_scheduled")
    convention = day_count(membership.tenant)
    price = version.price_for(frequency)
    base = dict(
        kind=kind,
        effective=effective,
        from_version=membership.version,
        to_version=version,
        from_frequency=str(membership.frequency),
        to_frequency=str(frequency),
        price=price,
        proration_billing=str(version.proration_billing),
        convention=str(convention),
    )
    if effective == ChangeEffective.PERIOD_END:
        start = membership.next_billing_date
        if frequency != membership.frequency:
            span = period(start, frequency, 0)  # the new frequency anchors on the day it starts
        else:
            span = period_on(membership.anchor, frequency, start)
        fee = line_of(version, InvoiceLineKind.PERIOD_FEE, _describe_period(version, frequency, span), price)
        waiting = [LineQuote(**line) for change in pending_prorations(membership) for line in change.lines]
        return ChangeQuote(
            **base,
            effective_on=start,
            new_period=span,
            lines=[fee, *waiting],  # the next invoice's lines, with any proration waiting for it
            sessions=_benefits(version, within=None, day=start, convention=convention),
        )
    current = current_period(membership, today)
    if current is None or current.kind == PeriodKind.TRIAL:
        raise Conflict("the membership has no paid period today", code="membership_not_active")
    invoice = Invoice.objects.filter(period=current).first()
    if invoice is None and pending_prorations(membership).exists():
        raise Conflict(
            "this period's last change waits for the next invoice: change again from the next period",
            code="change_proration_pending",
        )
    if invoice is not None and invoice.status != InvoiceStatus.PAID:
        raise Conflict(f"invoice {invoice.number} of this period is not paid", code="change_invoice_unpaid")
    if membership.pauses.filter(period=current).exists():
        # Its end was stretched by the pause, whose days are no service days: a day-count proration of
        # the stretched period would credit and charge the wrong share.
        raise Conflict(
            "this period was paused: change at the period end (effective period_end)", code="change_in_paused_period"
        )
    old = BillingPeriod(0, current.start, current.end)
    proration = prorate_change(
        old_price=invoice.gross if invoice else 0, new_price=price, period=old, day=today, convention=convention
    )
    part, whole = proration.unused_days, proration.period_days
    credit = None
    if invoice is not None and proration.credit:
        credit_tax = share(invoice.tax, part, whole)
        credit = LineQuote(
            "credit",
            f"{membership.version.name} ({membership.frequency}), {today.isoformat()} to "
            f"{old.last_day.isoformat()}: unused, {part} of {whole} days, to credit",
            proration.credit - credit_tax,
            credit_tax,
            proration.credit,
        )
    if frequency != membership.frequency:
        span = period(today, frequency, 0)
        lines = [line_of(version, InvoiceLineKind.PERIOD_FEE, _describe_period(version, frequency, span), price)]
        invoiced_now, within = True, None
    else:
        span = BillingPeriod(current.number, today, current.end)
        rest = _describe_rest(version, frequency, span, part, whole)
        lines = [line_of(version, InvoiceLineKind.PRORATION, rest, proration.charge)] if proration.charge else []
        invoiced_now, within = version.proration_billing == "now" and bool(lines), old
    credit_applied = 0
    if invoiced_now and lines:
        balance = credit_balance(membership.tenant, membership.patient_id) + (credit.gross if credit else 0)
        credit_applied = min(balance, sum(line.gross for line in lines))
    return ChangeQuote(
        **base,
        effective_on=today,
        new_period=span,
        credited_invoice=invoice if credit else None,
        credit=credit,
        unused_days=part,
        period_days=whole,
        lines=lines,
        invoiced_now=invoiced_now,
        credit_applied=credit_applied,
        sessions=_benefits(version, within=within, day=today, convention=convention),
    )


def preview_change(
    *,
    tenant: Tenant,
    actor: Actor,
    membership_id: int,
    plan_id: int,
    frequency: str | None = None,
    effective: str | None = None,
    now: dt.datetime | None = None,
) -> ChangeQuote:
    """The change's invoice lines, credit and sessions, writing nothing."""
    actor.require(Perm.SELL_MEMBERSHIP)
    now = now or clock.now()
    membership = scoped_get(
        Membership,
        tenant=tenant,
        pk=membership_id,
        field="membership_id",
        queryset=Membership.objects.select_related("version", "plan", "centre", "tenant"),
    )
    return quote(
        membership, plan_id=plan_id, frequency=frequency, effective=effective, today=local_date(now, membership.centre)
    )


@transaction.atomic
def change_membership(
    *,
    tenant: Tenant,
    actor: Actor,
    membership_id: int,
    plan_id: int,
    frequency: str | None = None,
    effective: str | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> MembershipChange:
    """Make the change `preview_change` shows: at once, or scheduled for the period end."""
    actor.require(Perm.SELL_MEMBERSHIP)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    digest = fingerprint(membership_id=membership_id, plan_id=plan_id, frequency=frequency, effective=effective)
    if key and (existing := MembershipChange.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="membership change", request_hash=digest)
    found = scoped_get(Membership, tenant=tenant, pk=membership_id, field="membership_id")
    membership = lock_membership(tenant, found.id)
    today = local_date(now, membership.centre)
    q = quote(membership, plan_id=plan_id, frequency=frequency, effective=effective, today=today)
    change = MembershipChange.objects.create(
        tenant=tenant,
        membership=membership,
        kind=q.kind,
        from_version=q.from_version,
        to_version=q.to_version,
        from_frequency=q.from_frequency,
        to_frequency=q.to_frequency,
        effective=q.effective,
        effective_on=q.effective_on,
        status=ChangeStatus.SCHEDULED if q.effective == ChangeEffective.PERIOD_END else ChangeStatus.APPLIED,
        proration_billing=q.proration_billing,
        convention=q.convention,
        credited_invoice=q.credited_invoice,
        credit_description=q.credit.description if q.credit else "",
        credit_net=q.credit.net if q.credit else 0,
        credit_tax=q.credit.tax if q.credit else 0,
        charge=q.charge,
        unused_days=q.unused_days,
        period_days=q.period_days,
        lines=[line.to_dict() for line in q.lines],
        sessions=q.sessions,
        created_at=now,
        created_by=actor.label,
        applied_at=now if q.effective == ChangeEffective.NOW else None,
        idempotency_key=key,
        request_hash=digest,
    )
    if q.effective == ChangeEffective.NOW:
        _apply_now(membership, change, q, actor=actor, now=now)
    audit(
        tenant=tenant,
        actor=actor,
        action="membership.change",
        subject=membership,
        now=now,
        data={
            "change_id": change.id,
            "kind": q.kind,
            "effective": q.effective,
            "effective_on": q.effective_on.isoformat(),
            "to_plan": q.to_version.plan.code,
            "to_frequency": q.to_frequency,
        },
    )
    _event(membership, change, actor=actor, now=now)
    return change


def _apply_now(membership: Membership, change: MembershipChange, q: ChangeQuote, *, actor: Actor, now) -> None:
    if q.credit is not None:
        _credit_unused(membership, change, q, now=now)
    _switch(membership, q.to_version, q.to_frequency, anchor=q.new_period.start)
    if q.to_frequency != q.from_frequency:
        membership.next_billing_date = q.new_period.end
    membership.save()
    number = (membership.periods.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    rest = MembershipPeriod.objects.create(
        tenant=membership.tenant,
        membership=membership,
        number=number,
        kind=PeriodKind.CHANGE,
        start=q.new_period.start,
        end=q.new_period.end,
    )
    if q.invoiced_now and q.lines:
        change.invoice = issue_invoice(membership, period=rest, lines=q.lines, actor=actor, now=now)
        change.save(update_fields=["invoice"])
        charging.enqueue_open_invoices(membership)


def _credit_unused(membership: Membership, change: MembershipChange, q: ChangeQuote, *, now) -> None:
    """The unused part of the paid period to the patient's credit; the period ends on the change's day."""
    invoice = Invoice.objects.select_for_update(no_key=True, of=("self",)).get(pk=q.credited_invoice.pk)
    paid = MembershipPeriod.objects.select_for_update(no_key=True, of=("self",)).get(pk=invoice.period_id)
    Patient.objects.select_for_update(no_key=True).filter(pk=membership.patient_id).first()
    credit = q.credit
    deferred_left = invoice.net - invoice.credited_net - paid.recognised
    deferred = min(credit.net, max(deferred_left, 0))
    # Recognition may have earned some of the credited days already (30-day months credit more than the
    # actual days left): that much revenue is given back with the credit.
    revenue = credit.net - deferred
    day = local_date(now, membership.centre)
    journal.record(
        tenant=membership.tenant,
        kind="membership_change_credit",
        event=("membership_change_credit", change.id),
        at=now,
        date=day,
        centre=membership.centre,
        patient=membership.patient,
        memo=f"membership invoice {invoice.number}: {credit.description}"[:300],
        postings=posting.membership_unused_to_credit(deferred=deferred, revenue=revenue, tax=credit.tax),
    )
    invoice.credited_net += credit.net
    invoice.credited_tax += credit.tax
    invoice.save(update_fields=["credited_net", "credited_tax"])
    paid.recognised -= revenue
    if day > paid.start:  # on its first day the period keeps its dates and, wholly credited, earns nothing
        paid.end = day
    paid.save(update_fields=["recognised", "end"])


def _switch(membership: Membership, version: MembershipPlanVersion, frequency: str, *, anchor: dt.date) -> None:
    if frequency != membership.frequency:
        membership.anchor = anchor
    membership.plan_id, membership.version, membership.frequency = version.plan_id, version, str(frequency)
    membership.price = version.price_for(frequency)


def _event(membership: Membership, change: MembershipChange, *, actor: Actor, now) -> None:
    events.record(
        "membership.changed",
        tenant=membership.tenant,
        subject=membership,
        actor=actor,
        at=now,
        membership_id=membership.id,
        patient_id=membership.patient_id,
        change_id=change.id,
        kind=change.kind,
        status=change.status,
        effective=change.effective,
        effective_on=change.effective_on.isoformat(),
        from_plan_id=change.from_version.plan_id,
        from_plan_version=change.from_version.number,
        to_plan_id=change.to_version.plan_id,
        to_plan_version=change.to_version.number,
        from_frequency=change.from_frequency,
        to_frequency=change.to_frequency,
        credit=change.credit_net + change.credit_tax,
        charge=change.charge,
        invoice_id=change.invoice_id,
        currency=membership.tenant.currency,
    )


def take_effect(membership: Membership, *, now: dt.datetime) -> None:
    """Before the daily run bills the period at the next billing date (the membership locked): a change
    scheduled for it applies, or else a newer version of the plan whose notice has run."""
    start = membership.next_billing_date
    if start is None or (membership.trial_end is not None and start < membership.trial_end):
        return
    change = membership.changes.filter(status=ChangeStatus.SCHEDULED, effective_on__lte=start).first()
    if change is not None:
        _switch(membership, change.to_version, change.to_frequency, anchor=start)
        membership.save()
        change.status, change.applied_at = ChangeStatus.APPLIED, now
        change.save(update_fields=["status", "applied_at"])
        audit(
            tenant=membership.tenant,
            actor=SYSTEM,
            action="membership.change_applied",
            subject=membership,
            now=now,
            data={"change_id": change.id, "effective_on": start.isoformat()},
        )
        _event(membership, change, actor=SYSTEM, now=now)
        return
    version = newer_version(membership, start)
    if version is not None:
        old_price = membership.price
        _switch(membership, version, membership.frequency, anchor=membership.anchor)
        membership.save()
        audit(
            tenant=membership.tenant,
            actor=SYSTEM,
            action="membership.new_version",
            subject=membership,
            now=now,
            data={"version": version.number, "from": old_price, "to": membership.price, "from_day": start.isoformat()},
        )
