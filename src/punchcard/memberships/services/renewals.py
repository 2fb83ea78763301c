"""The daily billing run (SPEC §10.2), as of an instant, each membership on its own centre's day:

1. scheduled memberships whose start has come begin (trialing or active) and bill their first period; a
   pause whose resume day has come ends (the member is back that day);
2. every period whose start has come is billed in advance (a missed day catches up, period by period), at
   the plan and frequency a change scheduled for it asks, or at a newer version of the plan once its
   notice has run; a `cancelling` membership's only up to its end, and on that day it ends;
3. open invoices never charged are charged (one the desk collects, with no stored method, is past due
   from the day after its issue), and the retries the dunning schedule has made due; a failed
   last retry applies the plan's final action (cancel or suspend).

Each membership's billing is its own transaction under its lock; charges run after, outside any. Running
it twice, or two at once, bills and charges nothing twice (the period row is unique, the charge attempt
is claimed). `tenant_id` limits the run to one tenant (a sandbox's own clock runs it that way).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.roles import SYSTEM
from punchcard.tenancy.selectors import local_date

from ..models import Invoice, Membership
from . import charging
from .cancelling import end_if_due
from .changes import take_effect
from .invoicing import bill_next_period
from .pausing import resume_if_due
from .status import change_status, lock_membership

BILLABLE = (MembershipStatus.ACTIVE, MembershipStatus.TRIALING, MembershipStatus.PAST_DUE)
MAX_CATCH_UP = 400  # periods billed for one membership in one run: a bound on a bad date, not a business rule


def _billable(membership: Membership) -> bool:
    if membership.status == MembershipStatus.CANCELLING:
        return membership.next_billing_date < membership.cancel_on  # periods before its end only
    return membership.status in BILLABLE


def _memberships(tenant_id: int | None):
    rows = Membership.objects.all()
    return rows.filter(tenant_id=tenant_id) if tenant_id is not None else rows


@transaction.atomic
def bill_due(membership_id: int, *, now: dt.datetime) -> int:
    """Start and bill one membership as of `now`; the number of periods billed."""
    base = Membership.objects.select_related("tenant").get(pk=membership_id)
    membership = lock_membership(base.tenant, membership_id)
    today = local_date(now, membership.centre)
    if membership.status == MembershipStatus.SCHEDULED and membership.start_date <= today:
        target = MembershipStatus.TRIALING if membership.trial_end else MembershipStatus.ACTIVE
        change_status(membership, target, actor=SYSTEM, now=now, reason="start date reached")
        membership.save()
    resume_if_due(membership, today=today, now=now)
    billed = 0
    while (
        membership.next_billing_date is not None
        and _billable(membership)
        and membership.next_billing_date <= today
        and billed < MAX_CATCH_UP
    ):
        take_effect(membership, now=now)  # a change scheduled for the period end, or a new price, first
        if bill_next_period(membership, actor=SYSTEM, now=now) is None:
            break
        billed += 1
    end_if_due(membership, today=today, now=now)
    return billed


def run_billing(*, now: dt.datetime, tenant_id: int | None = None) -> dict[str, int]:
    """The whole run for every tenant (or one); counts of what it did."""
    horizon = now.date() + dt.timedelta(days=1)  # no zone is more than a day ahead of UTC
    due = (
        _memberships(tenant_id)
        .filter(
            Q(status=MembershipStatus.SCHEDULED, start_date__lte=horizon)
            | Q(status__in=(*BILLABLE, MembershipStatus.CANCELLING), next_billing_date__lte=horizon)
            | Q(status=MembershipStatus.CANCELLING, cancel_on__lte=horizon)
            | Q(status=MembershipStatus.PAUSED, pauses__resumed_on__isnull=True, pauses__until__lte=horizon)
        )
        .distinct()
    )
    billed = sum(bill_due(pk, now=now) for pk in due.order_by("id").values_list("id", flat=True))
    charged = collect_due(now=now, tenant_id=tenant_id)
    return {"billed": billed, "charged": charged}


def collect_due(*, now: dt.datetime, tenant_id: int | None = None) -> int:
    """Charge open invoices never attempted, and those whose retry day has come."""
    horizon = now.date() + dt.timedelta(days=1)
    invoices = Invoice.objects.filter(status=InvoiceStatus.OPEN).select_related("membership__centre", "tenant")
    if tenant_id is not None:
        invoices = invoices.filter(tenant_id=tenant_id)
    never_tried = invoices.filter(attempts__isnull=True)
    retry = invoices.filter(
        membership__next_retry_on__lte=horizon,
        membership__status__in=[MembershipStatus.PAST_DUE, MembershipStatus.TRIALING, MembershipStatus.ACTIVE],
    )
    done = 0
    for invoice in (never_tried | retry).distinct().order_by("id"):
        membership = invoice.membership
        today = local_date(now, membership.centre)
        retry_due = membership.next_retry_on is not None and membership.next_retry_on <= today
        if invoice.attempts.exists() and not retry_due:
            continue
        if membership.payment_method_id is None and invoice.issued_on >= today:
            continue  # collected at the desk: due on its day, past due only from the next
        if charging.collect(tenant=invoice.tenant, invoice_id=invoice.id, now=now) is not None:
            done += 1
    return done
