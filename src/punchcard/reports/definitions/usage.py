"""Usage: redemptions by service, centre, practitioner or plan; and one package's redemptions (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F

from punchcard.domain.errors import InvalidInput
from punchcard.packages.models import Redemption
from punchcard.packages.selectors import get_package
from punchcard.reports.models import UsageDay
from punchcard.reports.queries import applied_filters, grouped, merged, redemptions_in, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.reports.summaries import SESSION_ENTRIES, folded_to, redemption_entries, redemption_sign
from punchcard.tenancy.models import Tenant

USAGE_DIMENSIONS = {
    "service": ("service__name", "service", "Service"),
    "centre": ("centre__code", "centre", "Centre"),
    "practitioner": ("practitioner__name", "practitioner", "Practitioner"),
    "plan": ("package__plan_version__plan__code", "plan", "Plan"),
}
# The same dimensions in the daily summary (UsageDay) and in the session ledger's redeem/void entries.
FOLDED_PATHS = {
    "service": "service__name",
    "centre": "centre__code",
    "practitioner": "practitioner__name",
    "plan": "plan__code",
}
LIVE_PATHS = {
    "service": "redemption__service__name",
    "centre": "redemption__centre__code",
    "practitioner": "redemption__practitioner__name",
    "plan": "package__plan_version__plan__code",
}


def _folded_usage(tenant: Tenant, date_from, date_to, centre_id, plan_id, by) -> list[dict]:
    """Summaries up to the session ledger's watermark plus its redeem and void entries above it."""
    entered_to = folded_to(SESSION_ENTRIES)
    days = UsageDay.objects.filter(tenant=tenant, upto__lte=entered_to, day__gte=date_from, day__lte=date_to)
    live = redemption_entries().filter(
        tenant=tenant, id__gt=entered_to, redemption__day__gte=date_from, redemption__day__lte=date_to
    )
    if centre_id:
        days, live = days.filter(centre_id=centre_id), live.filter(redemption__centre_id=centre_id)
    if plan_id:
        days, live = days.filter(plan_id=plan_id), live.filter(package__plan_version__plan_id=plan_id)
    figures = ("redemptions", "sessions", "value")
    parts = [
        grouped(
            days,
            {k: FOLDED_PATHS[k] for k in by},
            dict(redemptions=total("redemptions"), sessions=total("sessions"), value=total("value")),
        ),
        grouped(
            live,
            {k: LIVE_PATHS[k] for k in by},
            dict(redemptions=total(redemption_sign()), sessions=total("redeemed"), value=total(-F("value"))),
        ),
    ]
    return merged(parts, by, figures)


def usage(
    tenant: Tenant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    centre_id: int | None = None,
    plan_id: int | None = None,
    by: tuple[str, ...] = ("service",),
    scan: bool = False,
) -> Report:
    """Redemptions (voided ones excluded) by service, centre and/or practitioner. From the daily summary
    and the session ledger above its watermark (reports.summaries); `scan` reads the redemptions alone."""
    dims = [USAGE_DIMENSIONS[d] for d in by]
    aggregates = dict(redemptions=Count("id"), sessions=total("sessions"), value=total("value"))
    if scan:
        qs = redemptions_in(tenant, date_from, date_to, centre_id, plan_id)
        found = qs.values(*[d[0] for d in dims]).annotate(**aggregates).order_by(*[d[0] for d in dims])
        found = [{**{d[1]: row[d[0]] for d in dims}, **{k: row[k] for k in aggregates}} for row in found]
        totals = qs.aggregate(**aggregates)
    else:
        found = _folded_usage(tenant, date_from, date_to, centre_id, plan_id, by)
        totals = {k: sum(row[k] for row in found) for k in aggregates}
    rows = [
        {**{d[1]: row[d[1]] if row[d[1]] is not None else "(none)" for d in dims}, **{k: row[k] for k in aggregates}}
        for row in found
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
        totals=totals,
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
