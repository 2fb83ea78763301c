"""Membership revenue recognised ratably by day over each paid period (SPEC §10.3), as of any date.

Idempotent: a period's recognised amount is kept on its row (under its lock) and each run posts only what
is earned through `as_of` beyond it; an earlier `as_of` posts nothing. Only paid periods earn: a period
whose invoice is still open earns nothing until it is paid, and then catches up at the next run.

A pause's days earn nothing (the pause stretched its period by as many days); a period stopped by an
immediate cancellation earns what was not refunded over its days up to the stop.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from punchcard import clock
from punchcard.domain import posting
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.recognition import to_recognise
from punchcard.ledger import services as journal

from ..models import MembershipPause, MembershipPeriod


@transaction.atomic
def _recognise_period(period_id: int, *, as_of: dt.date, now: dt.datetime) -> int:
    period = (
        MembershipPeriod.objects.select_for_update(no_key=True, of=("self",))
        .select_related("invoice", "membership__centre", "membership__patient", "tenant")
        .get(pk=period_id)
    )
    invoice = period.invoice
    end = min(period.end, period.stopped_on) if period.stopped_on else period.end
    gaps = [(p.start, p.back_on) for p in MembershipPause.objects.filter(membership_id=period.membership_id)]
    # What a change or a cancellation gave back to credit is not earned.
    amount = to_recognise(invoice.net - invoice.credited_net, period.start, end, as_of, period.recognised, gaps)
    if not amount:
        return 0
    membership = period.membership
    journal.record(
        tenant=period.tenant,
        kind="membership_recognition",
        event=("membership_period", period.id),
        at=now,
        date=min(as_of, period.last_day),
        centre=membership.centre,
        patient=membership.patient,
        memo=f"membership {membership.id} period {period.number} earned through {min(as_of, period.last_day)}",
        postings=posting.membership_recognition(value=amount),
    )
    period.recognised += amount
    period.save(update_fields=["recognised"])
    return amount


def recognise(*, as_of: dt.date, tenant_id: int | None = None, now: dt.datetime | None = None) -> int:
    """Recognise every paid period's revenue through `as_of` (each period in its own short transaction);
    the total recognised by this run, minor units."""
    now = now or clock.now()
    periods = MembershipPeriod.objects.filter(invoice__status=InvoiceStatus.PAID, start__lte=as_of).exclude(
        recognised__gte=F("invoice__net") - F("invoice__credited_net")
    )
    if tenant_id is not None:
        periods = periods.filter(tenant_id=tenant_id)
    return sum(
        _recognise_period(pk, as_of=as_of, now=now) for pk in periods.order_by("id").values_list("id", flat=True)
    )
