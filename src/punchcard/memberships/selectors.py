"""Reads of memberships, tenant-scoped: plans with their versions, memberships with where they stand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from punchcard import clock
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get

from .models import (
    Invoice,
    Membership,
    MembershipChange,
    MembershipPeriod,
    MembershipPlan,
    MembershipPlanVersion,
    TierGroup,
)
from .services.invoicing import next_period_bounds
from .services.prices import price_from

ENDED = ("cancelled", "ended")


def tier_groups(tenant: Tenant) -> QuerySet[TierGroup]:
    return TierGroup.objects.filter(tenant=tenant).prefetch_related("plans")


def tier_group(tenant: Tenant, group_id) -> TierGroup:
    return scoped_get(TierGroup, tenant=tenant, pk=group_id, field="tier_group_id", queryset=tier_groups(tenant))


def membership_plans(tenant: Tenant) -> QuerySet[MembershipPlan]:
    versions = MembershipPlanVersion.objects.select_related("benefits").prefetch_related("benefits__lines__services")
    return (
        MembershipPlan.objects.filter(tenant=tenant)
        .select_related("tier_group")
        .prefetch_related(Prefetch("versions", versions.order_by("-number")))
    )


def membership_plan(tenant: Tenant, plan_id) -> MembershipPlan:
    return scoped_get(MembershipPlan, tenant=tenant, pk=plan_id, field="plan_id", queryset=membership_plans(tenant))


def memberships(tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("version", "plan", "patient", "centre")


def membership(tenant: Tenant, membership_id) -> Membership:
    return scoped_get(Membership, tenant=tenant, pk=membership_id, field="membership_id", queryset=memberships(tenant))


def invoices(tenant: Tenant) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(tenant=tenant)
        .select_related("membership__version", "patient", "centre", "period", "tenant")
        .prefetch_related("lines", "payments")
    )


def invoice(tenant: Tenant, invoice_id) -> Invoice:
    return scoped_get(Invoice, tenant=tenant, pk=invoice_id, field="invoice_id", queryset=invoices(tenant))


def change(tenant: Tenant, change_id) -> MembershipChange:
    queryset = MembershipChange.objects.select_related("from_version", "to_version", "invoice")
    return scoped_get(MembershipChange, tenant=tenant, pk=change_id, field="change_id", queryset=queryset)


@dataclass(frozen=True)
class Standing:
    """Where a membership stands today: its current period, the next billing date and amount, what is owed."""

    today: dt.date
    current: MembershipPeriod | None
    next_billing_date: dt.date | None
    next_amount: int | None
    owed: int
    scheduled: MembershipChange | None = None  # a change waiting for the period end
    paused_until: dt.date | None = None


def standing(membership: Membership, now: dt.datetime | None = None) -> Standing:
    today = local_date(now or clock.now(), membership.centre)
    # The newest: a change on a period's first day starts its rest of the period with the same start.
    current = membership.periods.filter(start__lte=today, end__gt=today).order_by("-number").first()
    next_amount = None
    scheduled = membership.changes.filter(status="scheduled").select_related("to_version").first()
    if membership.next_billing_date is not None and membership.status not in ENDED:
        kind, start, _, next_amount = next_period_bounds(membership)
        if kind == "paid":  # at a scheduled change's plan, or a new price whose notice has run
            next_amount = price_from(membership, start)
    owed = sum(i.due for i in membership.invoices.filter(status__in=["open", "uncollectible"]))
    paused_until = None
    if membership.status == "paused":
        paused_until = membership.pauses.filter(resumed_on__isnull=True).values_list("until", flat=True).first()
    return Standing(today, current, membership.next_billing_date, next_amount, owed, scheduled, paused_until)
