"""Reads of the catalogue: plans with their versions, lines, services and centres, tenant-scoped."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .models import Plan, PlanKind, PlanLine, PlanVersion


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
