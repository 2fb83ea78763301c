"""Package sales: count and revenue by plan, period, centre and staff member (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, DateField, OuterRef, Subquery
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek, TruncYear

from punchcard.billing.models import OrderLine, OrderLineKind, OrderStatus
from punchcard.domain.errors import InvalidInput
from punchcard.ledger.models import JournalEntry
from punchcard.reports.queries import applied_filters, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth, "year": TruncYear}
SALES_DIMENSIONS = {
    "plan": ("plan_version__plan__code", "plan", "Plan"),
    "period": ("period", "period", "Period"),
    "centre": ("order__centre__code", "centre", "Centre"),
    "staff": ("order__credited_staff__name", "staff", "Staff"),
}


def _sale_date():
    """The local date a line was sold: its sale journal entry (packages at activation, codes at payment)."""
    entries = JournalEntry.objects.filter(tenant_id=OuterRef("order__tenant_id"), kind="sale")
    direct = entries.filter(event_type="order_line", event_id=OuterRef("id")).values("date")[:1]
    by_code = entries.filter(event_type="claim_code", event_id=OuterRef("claim_code__id")).values("date")[:1]
    return Coalesce(Subquery(direct, output_field=DateField()), Subquery(by_code, output_field=DateField()))


def package_sales(
    tenant: Tenant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    centre_id: int | None = None,
    plan_id: int | None = None,
    by: tuple[str, ...] = ("plan", "period", "centre", "staff"),
    period: str = "month",
) -> Report:
    """New packages sold (including upgrades and codes sold in bulk or as gifts): count and revenue."""
    lines = (
        OrderLine.objects.filter(
            order__tenant=tenant,
            kind__in=[OrderLineKind.PACKAGE, OrderLineKind.UPGRADE],
            order__status__in=[OrderStatus.PAID, OrderStatus.PAY_LATER],
        )
        .annotate(sold_on=_sale_date())
        .filter(sold_on__gte=date_from, sold_on__lte=date_to)
    )
    if centre_id:
        lines = lines.filter(order__centre_id=centre_id)
    if plan_id:
        lines = lines.filter(plan_version__plan_id=plan_id)
    lines = lines.annotate(period=PERIODS[period]("sold_on", output_field=DateField()))
    dims = [SALES_DIMENSIONS[d] for d in by]
    aggregates = dict(
        packages=Count("id"),
        list_value=total("list_total"),
        discount=total("discount"),
        net=total("net"),
        tax=total("tax"),
        gross=total("gross"),
    )
    rows = list(lines.values(*[d[0] for d in dims]).annotate(**aggregates).order_by(*[d[0] for d in dims]))
    rows = [
        {
            **{d[1]: row[d[0]] if row[d[0]] is not None else ("(none)" if d[1] == "staff" else None) for d in dims},
            **{k: row[k] for k in aggregates},
        }
        for row in rows
    ]
    totals = lines.aggregate(**aggregates)
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
