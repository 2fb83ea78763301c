"""Usage: redemptions by service, centre, practitioner or plan; and one package's redemptions (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count

from punchcard.domain.errors import InvalidInput
from punchcard.packages.models import Redemption
from punchcard.packages.selectors import get_package
from punchcard.reports.queries import applied_filters, redemptions_in, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant

USAGE_DIMENSIONS = {
    "service": ("service__name", "service", "Service"),
    "centre": ("centre__code", "centre", "Centre"),
    "practitioner": ("practitioner__name", "practitioner", "Practitioner"),
    "plan": ("package__plan_version__plan__code", "plan", "Plan"),
}


def usage(
    tenant: Tenant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    centre_id: int | None = None,
    plan_id: int | None = None,
    by: tuple[str, ...] = ("service",),
) -> Report:
    """Redemptions (voided ones excluded) by service, centre and/or practitioner."""
    dims = [USAGE_DIMENSIONS[d] for d in by]
    qs = redemptions_in(tenant, date_from, date_to, centre_id, plan_id)
    aggregates = dict(redemptions=Count("id"), sessions=total("sessions"), value=total("value"))
    rows = [
        {**{d[1]: row[d[0]] if row[d[0]] is not None else "(none)" for d in dims}, **{k: row[k] for k in aggregates}}
        for row in qs.values(*[d[0] for d in dims]).annotate(**aggregates).order_by(*[d[0] for d in dims])
    ]
    return Report(
        "usage",
        "Usage",
        [Column(d[1], d[2]) for d in dims]
        + [
            Column("redemptions", "Redemptions", "int"),
            Column("sessions", "Sessions", "int"),
            Column("value", "Revenue recognised", "money"),
        ],
        rows,
        totals=qs.aggregate(**aggregates),
        filters=applied_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
    )


def usage_detail(tenant: Tenant, *, package_id: int) -> Report:
    """One package's redemptions, voided ones included and marked."""
    qs = (
        Redemption.objects.filter(tenant=tenant, package_id=package_id)
        .order_by("day", "id")
        .values(
            "id",
            "day",
            "service__name",
            "centre__code",
            "practitioner__name",
            "person__name",
            "sessions",
            "value",
            "voided_at",
        )
    )
    rows = [
        {
            "redemption": r["id"],
            "day": r["day"],
            "service": r["service__name"],
            "centre": r["centre__code"],
            "practitioner": r["practitioner__name"] or "",
            "person": r["person__name"],
            "sessions": r["sessions"],
            "value": r["value"],
            "voided": "yes" if r["voided_at"] else "",
        }
        for r in qs
    ]
    return Report(
        "usage-detail",
        f"Redemptions of package {package_id}",
        [
            Column("redemption", "Redemption", "int"),
            Column("day", "Day", "date"),
            Column("service", "Service"),
            Column("centre", "Centre"),
            Column("practitioner", "Practitioner"),
            Column("person", "Person"),
            Column("sessions", "Sessions", "int"),
            Column("value", "Value", "money"),
            Column("voided", "Voided"),
        ],
        rows,
        filters={"package_id": package_id},
    )


@register("usage", description="Redemptions by service / centre / practitioner", order=20)
def usage_report(params: Params) -> Report:
    return usage(params.tenant, **params.span, by=params.group_by(USAGE_DIMENSIONS, default=("service",)))


# The period is checked (as for every report taking one) though the detail lists all of a package's uses.
@register("usage-detail", description="One package's redemptions (needs package)", order=30)
def usage_detail_report(params: Params) -> Report:
    if params.package_id in (None, ""):
        raise InvalidInput("usage-detail needs a package", field="package")
    package = get_package(params.tenant, params.package_id, field="package")
    return usage_detail(params.tenant, package_id=package.id)
