"""Package sales: count and revenue by plan, period, centre and staff member (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, DateField
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek, TruncYear

from punchcard.domain.errors import InvalidInput
from punchcard.ledger.models import JournalEntry
from punchcard.reports.models import SalesDay
from punchcard.reports.queries import applied_filters, grouped, merged, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.reports.summaries import JOURNAL_ENTRIES, folded_to, lines_sold_by, sold_lines
from punchcard.tenancy.models import Tenant

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth, "year": TruncYear}
SALES_DIMENSIONS = {
    "plan": ("plan_version__plan__code", "plan", "Plan"),
    "period": ("period", "period", "Period"),
    "centre": ("order__centre__code", "centre", "Centre"),
    "staff": ("order__credited_staff__name", "staff", "Staff"),
}


# The same dimensions in the daily summary (SalesDay).
FOLDED_PATHS = {"plan": "plan__code", "period": "period", "centre": "centre__code", "staff": "staff__name"}


def _folded_sales(tenant: Tenant, date_from, date_to, centre_id, plan_id, by, period, aggregates) -> list[dict]:
    """Summaries up to the journal's watermark plus the lines whose sale entry is above it."""
    entered_to = folded_to(JOURNAL_ENTRIES)
    days = SalesDay.objects.filter(tenant=tenant, upto__lte=entered_to, day__gte=date_from, day__lte=date_to)
    recent = JournalEntry.objects.filter(tenant=tenant, kind="sale", id__gt=entered_to)
    live = (
        sold_lines()
        .filter(lines_sold_by(recent), order__tenant=tenant)
        .filter(sold_on__gte=date_from, sold_on__lte=date_to)
    )
    if centre_id:
        days, live = days.filter(centre_id=centre_id), live.filter(order__centre_id=centre_id)
    if plan_id:
        days, live = days.filter(plan_id=plan_id), live.filter(plan_version__plan_id=plan_id)
    days = days.annotate(period=PERIODS[period]("day", output_field=DateField()))
    live = live.annotate(period=PERIODS[period]("sold_on", output_field=DateField()))
    folded = {k: total(k) for k in aggregates}  # the summary's columns are named after the figures
    parts = [
        grouped(days, {d: FOLDED_PATHS[d] for d in by}, folded),
        grouped(live, {d: SALES_DIMENSIONS[d][0] for d in by}, aggregates),
    ]
    return merged(parts, by, aggregates)


def package_sales(
    tenant: Tenant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    centre_id: int | None = None,
    plan_id: int | None = None,
    by: tuple[str, ...] = ("plan", "period", "centre", "staff"),
    period: str = "month",
    scan: bool = False,
) -> Report:
    """New packages sold (including upgrades and codes sold in bulk or as gifts): count and revenue.
    From the daily summary and the journal above its watermark (reports.summaries); `scan` reads the
    order lines alone."""
    dims = [SALES_DIMENSIONS[d] for d in by]
    aggregates = dict(
        packages=Count("id"),
        list_value=total("list_total"),
        discount=total("discount"),
        net=total("net"),
        tax=total("tax"),
        gross=total("gross"),
    )
    if scan:
        lines = sold_lines().filter(order__tenant=tenant, sold_on__gte=date_from, sold_on__lte=date_to)
        if centre_id:
            lines = lines.filter(order__centre_id=centre_id)
        if plan_id:
            lines = lines.filter(plan_version__plan_id=plan_id)
        lines = lines.annotate(period=PERIODS[period]("sold_on", output_field=DateField()))
        found = lines.values(*[d[0] for d in dims]).annotate(**aggregates).order_by(*[d[0] for d in dims])
        found = [{**{d[1]: row[d[0]] for d in dims}, **{k: row[k] for k in aggregates}} for row in found]
        totals = lines.aggregate(**aggregates)
    else:
        found = _folded_sales(tenant, date_from, date_to, centre_id, plan_id, by, period, aggregates)
        totals = {k: sum(row[k] for row in found) for k in aggregates}
    rows = [
        {
            **{d[1]: row[d[1]] if row[d[1]] is not None else ("(none)" if d[1] == "staff" else None) for d in dims},
            **{k: row[k] for k in aggregates},
        }
        for row in found
    ]
    money = [
        Column("list_value", "List value", "money"),
        Column("discount", "Discount", "money"),
        Column("net", "Revenue (net)", "money"),
        Column("tax", "Tax", "money"),
        Column("gross", "Gross", "money"),
    ]
    columns = [Column(d[1], d[2], "date" if d[1] == "period" else "text") for d in dims]
    return Report(
        "sales",
        "Package sales",
        columns + [Column("packages", "Packages", "int")] + money,
        rows,
        totals=totals,
        filters=applied_filters(
            date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id, period=period
        ),
        notes=["Revenue is the sale price net of tax; it is deferred until sessions are used."],
    )


@register("sales", description="Package sales: count and revenue by plan / period / centre / staff", order=10)
def sales_report(params: Params) -> Report:
    period = params.period or "month"
    if period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}", field="period")
    by = params.group_by(SALES_DIMENSIONS, default=("plan", "period", "centre", "staff"))
    return package_sales(params.tenant, **params.span, period=period, by=by)
