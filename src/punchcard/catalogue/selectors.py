"""Reads of the catalogue: plans with their versions, lines, services and centres, tenant-scoped."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .models import Plan, PlanKind, PlanLine, PlanStatus, PlanVersion


def plans(tenant: Tenant) -> QuerySet[Plan]:
    """The tenant's package plans with everything a plan's page shows, prefetched (a membership's benefits
    are shown with their membership plan, not here)."""
    return with_versions(Plan.objects.filter(tenant=tenant, kind=PlanKind.PACKAGE))


def with_versions(queryset: QuerySet[Plan]) -> QuerySet[Plan]:
    """Plans with their versions, lines, services and centres prefetched."""
    lines = PlanLine.objects.prefetch_related("services").order_by("position", "id")
    versions = PlanVersion.objects.select_related("package_type").prefetch_related("centres", Prefetch("lines", lines))
    return queryset.prefetch_related(Prefetch("versions", versions))


def plan(tenant: Tenant, plan_id: int) -> Plan:
    return scoped_get(Plan, tenant=tenant, pk=plan_id, field="plan_id", queryset=plans(tenant))


def sold_online(tenant: Tenant, day) -> list:
    """The current versions of the plans patients may buy in the portal on `day` (on sale, sold online)."""
    found = plans(tenant).filter(status=PlanStatus.ON_SALE, sold_online=True).order_by("id")
    return [plan.current for plan in found if plan.current is not None and plan.current.on_sale(day)]
