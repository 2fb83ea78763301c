"""Completion: how fully the packages bought in a period were used, how fast, and how many expired (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from punchcard.packages.models import Package, PackageLine, Redemption
from punchcard.reports.queries import applied_filters, expired_by_sweep, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant


def completion(
    tenant: Tenant, *, date_from: dt.date, date_to: dt.date, centre_id: int | None = None, plan_id: int | None = None
) -> Report:
    """Of the packages bought in the period: % fully used, average completion, median days from start to the
    last session for those fully used, and the expiry rate (expired with sessions left)."""
    packages = Package.objects.filter(tenant=tenant, purchased_on__gte=date_from, purchased_on__lte=date_to)
    if centre_id:
        packages = packages.filter(sold_at_id=centre_id)
    if plan_id:
        packages = packages.filter(plan_version__plan_id=plan_id)
    lines = PackageLine.objects.filter(package_id=OuterRef("id")).values("package_id")
    granted = Coalesce(Subquery(lines.annotate(s=Sum("granted")).values("s"), output_field=IntegerField()), Value(0))
    redeemed = Coalesce(Subquery(lines.annotate(s=Sum("redeemed")).values("s"), output_field=IntegerField()), Value(0))
    swept_sessions = expired_by_sweep()
    last_use = Subquery(
        Redemption.objects.filter(package_id=OuterRef("id"), voided_at__isnull=True)
        .values("package_id")
        .annotate(m=Max("day"))
        .values("m"),
        output_field=DateField(),
    )
    cohort = packages.annotate(g=granted, r=redeemed, swept=swept_sessions).annotate(
        pct_bp=Case(
            When(g__gt=0, then=ExpressionWrapper(F("r") * 10000 / F("g"), output_field=IntegerField())),
            default=Value(0),
        ),
        full=Case(When(g__gt=0, r__gte=F("g"), then=Value(1)), default=Value(0)),
        expired_left=Case(When(swept__gt=0, then=Value(1)), default=Value(0)),
    )
    figures = cohort.aggregate(
        packages=Count("id"), fully_used=total("full"), pct_sum=total("pct_bp"), expired=total("expired_left")
    )
    n = figures["packages"]
    done = (
        cohort.filter(full=1)
        .annotate(last=last_use)
        .annotate(took=ExpressionWrapper(F("last") - F("start_date"), output_field=DurationField()))
        .order_by("took", "id")
    )
    median_days = None
    if figures["fully_used"]:
        k = figures["fully_used"]
        middle = list(done.values_list("took", flat=True)[(k - 1) // 2 : k // 2 + 1])
        days = [m.days if isinstance(m, dt.timedelta) else int(m) for m in middle]
        median_days = sum(days) / len(days) if len(days) > 1 else days[0]
    row = {
        "packages": n,
        "fully_used": figures["fully_used"],
        "fully_used_bp": (figures["fully_used"] * 10000 // n) if n else 0,
        "average_completion_bp": (figures["pct_sum"] // n) if n else 0,
        "median_days_to_completion": median_days,
        "expired_with_sessions_left": figures["expired"],
        "expiry_rate_bp": (figures["expired"] * 10000 // n) if n else 0,
    }
    return Report(
        "completion",
        "Completion",
        [
            Column("packages", "Packages bought", "int"),
            Column("fully_used", "Fully used", "int"),
            Column("fully_used_bp", "% fully used", "bp"),
            Column("average_completion_bp", "Average completion", "bp"),
            Column("median_days_to_completion", "Median days to completion", "days"),
            Column("expired_with_sessions_left", "Expired with sessions left", "int"),
            Column("expiry_rate_bp", "Expiry rate", "bp"),
        ],
        [row],
        filters=applied_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
        notes=[
            "Percentages are rounded down to a hundredth of a per cent.",
            "Days to completion: from the start date to the last (non-voided) session.",
        ],
    )


@register(
    "completion", description="% fully used, average completion, median days to completion, expiry rate", order=60
)
def completion_report(params: Params) -> Report:
    return completion(params.tenant, **params.span)
