"""Reads of the catalogue: plans with their versions, lines, services and centres, tenant-scoped."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .models import Plan, PlanLine, PlanVersion


def plans(tenant: Tenant) -> QuerySet[Plan]:
    """The tenant's plans with everything a plan's page shows, prefetched."""
    lines = PlanLine.objects.prefetch_related("services").order_by("position", "id")
    versions = PlanVersion.objects.select_related("package_type").prefetch_related("centres", Prefetch("lines", lines))
    return Plan.objects.filter(tenant=tenant).prefetch_related(Prefetch("versions", versions))


def plan(tenant: Tenant, plan_id: int) -> Plan:
    return scoped_get(Plan, tenant=tenant, pk=plan_id, field="plan_id", queryset=plans(tenant))
