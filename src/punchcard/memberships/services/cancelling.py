"""Cancelling a membership (SPEC §10.2), and withdrawing a cancellation asked for at the period end.

`when` is `now` or `period_end`; not given, the plan's cancellation policy decides. Both honour the
plan's notice days and minimum commitment, which set the earliest day the membership may end:
- `period_end`: the membership is `cancelling` until the first period end on or after that day (the
  periods before it are still billed), then the daily run makes it `ended`; never billed again.
- `now`: only on a plan that cancels immediately, and refused (with `context.earliest`) before the
  earliest day. It is `cancelled` at once: open invoices are voided (what was paid on them is credit),
  the running period stops today (its days from today on earn nothing), and with `refund_unused` the
  unused days of the paid period go back to the patient's credit (SPEC §8, credit first), reversing
  their deferred revenue and tax.
Not bound by notice or commitment: a trial (cancelled before it converts, it is never charged), a
membership that has not started, and one whose renewal is unpaid (past due or suspended: cancelled at
once, its unpaid period voided as the dunning's final action would).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain import posting
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_lifecycle import CancelWhen, earliest_end, first_billing_date_on_or_after
from punchcard.domain.membership_status import FINAL, MembershipStatus, ensure_transition
from punchcard.domain.membership_terms import Cancellation
from punchcard.domain.periods import Frequency, billing_date, period_on
from punchcard.domain.proration import share
from punchcard.domain.recognition import service_days, service_days_passed
from punchcard.domain.roles import SYSTEM, Actor, Perm
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from ..models import ChangeStatus, Invoice, Membership, MembershipPeriod, PeriodKind
from .charging import void_invoice
from .status import change_status, lock_membership

M = MembershipStatus
WHEN = tuple(str(w) for w in CancelWhen)
BOUND = (M.ACTIVE, M.PAUSED, M.CANCELLING)  # the statuses notice and minimum commitment bind (out of trial)
UNPAID = (M.PAST_DUE, M.SUSPENDED)


def commitment_end(membership: Membership) -> dt.date | None:
    """The end of the minimum commitment's last paid period (None without one)."""
    periods = membership.version.minimum_commitment_periods
    if not periods:
        return None
    paid = list(membership.periods.filter(kind=PeriodKind.PAID).order_by("number").values_list("end", flat=True))
    if len(paid) >= periods:
        return paid[periods - 1]
    frequency = Frequency(membership.frequency)
    upcoming = period_on(membership.anchor, frequency, membership.next_billing_date).index
    return billing_date(membership.anchor, frequency, upcoming + periods - len(paid))


def _bound(membership: Membership, today: dt.date) -> bool:
    in_trial = membership.trial_end is not None and today < membership.trial_end
    return membership.status in BOUND and not in_trial


def _earliest(membership: Membership, today: dt.date) -> dt.date:
    """The first day the membership may be without it, refusals aside; today for what is not bound."""
    if not _bound(membership, today):
        return today
    version = membership.version
    return earliest_end(today, notice_days=version.notice_days, commitment_end=commitment_end(membership))


def _refuse_before(membership: Membership, today: dt.date, earliest: dt.date) -> None:
    version = membership.version
    if today + dt.timedelta(days=version.notice_days) < earliest:
        raise Conflict(
            f"the plan's minimum commitment of {version.minimum_commitment_periods} period(s) runs until "
            f"{earliest.isoformat()}",
            code="minimum_commitment",
            field="when",
            earliest=earliest.isoformat(),
        )
    raise Conflict(
        f"the plan's notice period is {version.notice_days} day(s): "
        f"it can end on {earliest.isoformat()} at the earliest",
        code="notice_period",
        field="when",
        earliest=earliest.isoformat(),
    )


def _refund_unused(
    membership: Membership, period: MembershipPeriod, invoice: Invoice, today: dt.date, *, actor: Actor, now
) -> int:
    """Give the unused days (today on) of a locked paid period back as credit; what was given, gross."""
    if invoice.status != InvoiceStatus.PAID:
        return 0
    gaps = [(p.start, p.back_on) for p in membership.pauses.all()]
    whole = service_days(period.start, period.end, gaps)
    if whole == 0:
        return 0
    unused = whole - service_days_passed(period.start, period.end, today - dt.timedelta(days=1), gaps)
    net = min(share(invoice.net, unused, whole), invoice.net - invoice.credited_net - period.recognised)
    tax = min(share(invoice.tax, unused, whole), invoice.tax - invoice.credited_tax)
    if not net + tax:
        return 0
    journal.record(
        tenant=invoice.tenant,
        kind="membership_refund",
        event=("membership_refund", invoice.id),
        at=now,
        date=today,
        centre=invoice.centre,
        patient=invoice.patient,
        memo=f"membership invoice {invoice.number}: {unused} unused day(s) of {whole} to credit",
        postings=posting.membership_unused_to_credit(deferred=net, revenue=0, tax=tax),
    )
    invoice.credited_net += net
    invoice.credited_tax += tax
    invoice.save(update_fields=["credited_net", "credited_tax"])
    audit(
        tenant=invoice.tenant,
        actor=actor,
        action="invoice.refund_to_credit",
        subject=invoice,
        now=now,
        data={"unused_days": unused, "period_days": whole, "net": net, "tax": tax},
    )
    return net + tax


def _cancel_now(membership: Membership, today: dt.date, *, refund_unused: bool, actor: Actor, now, reason: str):
    for unpaid in membership.invoices.select_for_update(no_key=True).filter(status=InvoiceStatus.OPEN).order_by("id"):
        void_invoice(unpaid, actor=actor, now=now, reason=reason)
    held = membership.pauses.filter(resumed_on__isnull=True).first()
    unserved = dt.timedelta(0)
    if held is not None:  # the pause ends with the membership: its days up to today stay unearned
        held.resumed_on = max(today, held.start)
        held.save(update_fields=["resumed_on"])
        unserved = held.until - held.resumed_on  # the stretch the pause gave the period, never to be served
    # The newest: a change on a period's first day leaves the old period with the same dates.
    running_id = (
        MembershipPeriod.objects.filter(membership=membership, start__lte=today, end__gt=today)
        .order_by("-number")
        .values_list("id", flat=True)
        .first()
    )
    refunded = 0
    if running_id is not None:
        # Lock order 3c: the period's invoice, then the period.
        invoice = Invoice.objects.select_for_update(no_key=True).filter(period_id=running_id).first()
        running = MembershipPeriod.objects.select_for_update(no_key=True).get(pk=running_id)
        if held is not None and held.period_id == running.id:
            running.end -= unserved  # as an early resume does: the unused days are the period's own
        if refund_unused and invoice is not None:
            refunded = _refund_unused(membership, running, invoice, today, actor=actor, now=now)
        running.stopped_on = today
        running.save(update_fields=["stopped_on", "end"])
    change_status(membership, M.CANCELLED, actor=actor, now=now, reason=reason)
    membership.next_billing_date, membership.cancel_on = None, None
    membership.failed_on, membership.next_retry_on = None, None
    membership.save()
    events.record(
        "membership.cancelled",
        tenant=membership.tenant,
        subject=membership,
        actor=actor,
        at=now,
        membership_id=membership.id,
        patient_id=membership.patient_id,
        cancelled_on=today.isoformat(),
        refunded_to_credit=refunded,
        currency=membership.tenant.currency,
        reason=reason,
    )


def _withdraw_scheduled_change(membership: Membership, *, actor: Actor, now) -> None:
    """A plan change waiting for the period end never takes effect once the membership is cancelled: else a
    `cancelling` membership would be billed at the new plan (a whole year, for a change to annual)."""
    for change in membership.changes.filter(status=ChangeStatus.SCHEDULED):
        change.status = ChangeStatus.WITHDRAWN
        change.save(update_fields=["status"])
        audit(
            tenant=membership.tenant,
            actor=actor,
            action="membership.change_withdrawn",
            subject=membership,
            now=now,
            data={"change_id": change.id, "effective_on": change.effective_on.isoformat()},
        )


@transaction.atomic
def cancel(
    *,
    tenant: Tenant,
    actor: Actor,
    membership_id: int,
    when: str | None = None,
    refund_unused: bool = False,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Membership:
    """Cancel now or at the period end, per the plan's policy (see the module's doc)."""
    actor.require(Perm.SELL_MEMBERSHIP)
    if refund_unused:
        actor.require(Perm.REFUND)
    now = now or clock.now()
    if when is not None and when not in WHEN:
        raise InvalidInput("when is now or period_end", field="when")
    if not isinstance(refund_unused, bool):
        raise InvalidInput("refund_unused is true or false", field="refund_unused")
    scoped_get(Membership, tenant=tenant, pk=membership_id, field="membership_id")
    membership = lock_membership(tenant, membership_id)
    status = M(membership.status)
    today = local_date(now, membership.centre)
    policy = membership.version.cancellation
    if status in FINAL:
        ensure_transition(status, M.CANCELLED)  # refused: nothing changes it any more
    if status in (M.SCHEDULED, *UNPAID):
        when = "now"  # nothing running to wait for
    when = when or ("now" if policy == Cancellation.IMMEDIATE else "period_end")
    reason = reason or "cancelled at the member's request"
    _withdraw_scheduled_change(membership, actor=actor, now=now)
    if when == "period_end":
        if refund_unused:
            raise InvalidInput("a cancellation at the period end leaves no unused days", field="refund_unused")
        earliest = _earliest(membership, today)
        ends = membership.next_billing_date
        if earliest > ends:
            ends = first_billing_date_on_or_after(membership.anchor, Frequency(membership.frequency), earliest)
        change_status(membership, M.CANCELLING, actor=actor, now=now, reason=f"{reason}; ends {ends.isoformat()}")
        membership.cancel_on = ends
        membership.save()
        return membership
    if _bound(membership, today) and policy != Cancellation.IMMEDIATE:
        raise Conflict(
            "the plan cancels at the period end only", code="immediate_cancellation_not_allowed", field="when"
        )
    earliest = _earliest(membership, today)
    if earliest > today:
        _refuse_before(membership, today, earliest)
    _cancel_now(membership, today, refund_unused=refund_unused, actor=actor, now=now, reason=reason)
    return membership


@transaction.atomic
def keep(*, tenant: Tenant, actor: Actor, membership_id: int, now: dt.datetime | None = None) -> Membership:
    """Withdraw a cancellation asked for at the period end: the membership renews as before."""
    actor.require(Perm.SELL_MEMBERSHIP)
    now = now or clock.now()
    scoped_get(Membership, tenant=tenant, pk=membership_id, field="membership_id")
    membership = lock_membership(tenant, membership_id)
    today = local_date(now, membership.centre)
    if membership.status != M.CANCELLING:
        raise Conflict(
            f"a {membership.status} membership has no cancellation to withdraw",
            code="membership_transition_not_allowed",
            status=membership.status,
            target=str(M.ACTIVE),
        )
    in_trial = membership.trial_end is not None and today < membership.trial_end
    target = M.TRIALING if in_trial else M.ACTIVE
    change_status(membership, target, actor=actor, now=now, reason="cancellation withdrawn")
    membership.cancel_on = None
    membership.save()
    return membership


def end_if_due(membership: Membership, *, today: dt.date, now: dt.datetime) -> bool:
    """The daily run's end of a locked `cancelling` membership whose last period is over."""
    if membership.status != M.CANCELLING or membership.cancel_on is None or membership.cancel_on > today:
        return False
    change_status(membership, M.ENDED, actor=SYSTEM, now=now, reason="cancelled at the period end")
    membership.next_billing_date = None
    membership.save()
    events.record(
        "membership.ended",
        tenant=membership.tenant,
        subject=membership,
        actor=SYSTEM,
        at=now,
        membership_id=membership.id,
        patient_id=membership.patient_id,
        status=M.ENDED.value,
        reason="cancelled",
        ended_on=membership.cancel_on.isoformat(),
    )
    return True
