"""Tenant-scoped reads the API lists and shows, with the joins each response needs.

Every function takes the tenant first and filters by it; an id of another tenant answers like a
missing one (tenancy.selectors.scoped_get). Kept here rather than in the apps' selectors because
they are shaped by what the HTTP responses render.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet

from punchcard import clock
from punchcard.billing.models import Order, OrderLine
from punchcard.catalogue.models import Plan, PlanLine, PlanVersion
from punchcard.domain.status import CLOSED, PackageStatus
from punchcard.packages import selectors as package_selectors
from punchcard.packages.models import Hold, Package, Redemption, SessionEntry
from punchcard.packages.selectors import PackageSummary, summarize
from punchcard.tenancy.models import Centre, Patient, Tenant
from punchcard.tenancy.selectors import scoped_get

# ---------------------------------------------------------------- catalogue


def plans(tenant: Tenant) -> QuerySet[Plan]:
    lines = PlanLine.objects.prefetch_related("services").order_by("position", "id")
    versions = PlanVersion.objects.select_related("package_type").prefetch_related("centres", Prefetch("lines", lines))
    return Plan.objects.filter(tenant=tenant).prefetch_related(Prefetch("versions", versions))


def plan(tenant: Tenant, plan_id: int) -> Plan:
    return scoped_get(Plan, tenant=tenant, pk=plan_id, field="plan_id", queryset=plans(tenant))


# ---------------------------------------------------------------- billing


def orders(tenant: Tenant) -> QuerySet[Order]:
    lines = OrderLine.objects.select_related("plan_version").prefetch_related("packages").order_by("id")
    return (
        Order.objects.filter(tenant=tenant)
        .select_related("patient", "centre", "credited_staff")
        .prefetch_related(Prefetch("lines", lines), "payments")
    )


def order(tenant: Tenant, order_id: int) -> Order:
    return scoped_get(Order, tenant=tenant, pk=order_id, field="order_id", queryset=orders(tenant))


def _start_of_local_day(day: dt.date, centre: Centre) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=centre.zone)


def filter_orders(
    tenant: Tenant, *, patient=None, centre=None, status=None, placed_from=None, placed_to=None
) -> QuerySet[Order]:
    qs = orders(tenant)
    if patient is not None:
        qs = qs.filter(patient=scoped_get(Patient, tenant=tenant, pk=patient, field="patient"))
    if centre is not None:
        qs = qs.filter(centre=scoped_get(Centre, tenant=tenant, pk=centre, field="centre"))
    if status is not None:
        qs = qs.filter(status=status)
    if placed_from is not None or placed_to is not None:
        # "Placed on day D" is local to each order's centre: one range per centre of the tenant.
        by_centre = Q(pk__in=[])
        for c in Centre.objects.filter(tenant=tenant):
            window = Q(centre=c)
            if placed_from is not None:
                window &= Q(created_at__gte=_start_of_local_day(placed_from, c))
            if placed_to is not None:
                window &= Q(created_at__lt=_start_of_local_day(placed_to + dt.timedelta(days=1), c))
            by_centre |= window
        qs = qs.filter(by_centre)
    return qs


# ---------------------------------------------------------------- packages


def packages(tenant: Tenant) -> QuerySet[Package]:
    return (
        Package.objects.filter(tenant=tenant)
        .select_related("plan_version__plan", "holder", "sold_at", "credited_staff", "order_line")
        .prefetch_related("lines")
    )


def package(tenant: Tenant, package_id: int) -> Package:
    return scoped_get(Package, tenant=tenant, pk=package_id, field="package_id", queryset=packages(tenant))


def summaries(rows: list[Package], *, now: dt.datetime | None = None) -> list[PackageSummary]:
    now = now or clock.now()
    return [summarize(p, now=now, lines=sorted(p.lines.all(), key=lambda line: line.id)) for p in rows]


def filter_packages(
    tenant: Tenant, *, patient=None, status=None, centre=None, plan=None, purchased_from=None, purchased_to=None
) -> QuerySet[Package]:
    qs = packages(tenant)
    if patient is not None:
        qs = qs.filter(holder=scoped_get(Patient, tenant=tenant, pk=patient, field="patient"))
    if centre is not None:
        qs = qs.filter(sold_at=scoped_get(Centre, tenant=tenant, pk=centre, field="centre"))
    if plan is not None:
        qs = qs.filter(plan_version__plan=scoped_get(Plan, tenant=tenant, pk=plan, field="plan"))
    if purchased_from is not None:
        qs = qs.filter(purchased_on__gte=purchased_from)
    if purchased_to is not None:
        qs = qs.filter(purchased_on__lte=purchased_to)
    if status is not None:
        # Closures are stored, so those statuses filter exactly in SQL; open statuses depend on the
        # day and the balance and are narrowed here, then decided per row in Python.
        qs = qs.filter(closure=status.value) if status in CLOSED else qs.filter(closure__isnull=True)
    return qs


def packages_of_patient(tenant: Tenant, patient: Patient) -> QuerySet[Package]:
    """Held by the patient, or shared with them (a current beneficiary)."""
    return packages(tenant).filter(id__in=package_selectors.package_ids_of_patient(tenant, patient.id))


def status_is(status: PackageStatus):
    return lambda summary: summary.status.status == status


def redemptions(tenant: Tenant) -> QuerySet[Redemption]:
    return Redemption.objects.filter(tenant=tenant).select_related(
        "service", "centre", "person", "practitioner", "void_approver"
    )


def redemption(tenant: Tenant, redemption_id: int) -> Redemption:
    return scoped_get(Redemption, tenant=tenant, pk=redemption_id, field="redemption_id", queryset=redemptions(tenant))


def holds(tenant: Tenant) -> QuerySet[Hold]:
    return Hold.objects.filter(tenant=tenant).select_related(
        "service", "centre", "person", "practitioner", "redemption"
    )


def hold(tenant: Tenant, hold_id: int) -> Hold:
    return scoped_get(Hold, tenant=tenant, pk=hold_id, field="hold_id", queryset=holds(tenant))


def history(tenant: Tenant, package: Package) -> QuerySet[SessionEntry]:
    return SessionEntry.objects.filter(tenant=tenant, package=package).select_related(
        "line", "redemption__person", "hold__person"
    )
