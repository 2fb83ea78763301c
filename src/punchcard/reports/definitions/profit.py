"""Per-package profit: revenue − delivery cost − commission, for a period (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import BigIntegerField, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from punchcard.domain import validation
from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.packages.models import Package, Redemption
from punchcard.reports.queries import ZERO, applied_filters, commission_model, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant

REVENUE_ROLES = [Role.PACKAGE_REVENUE, Role.BREAKAGE_REVENUE, Role.REFUND_ADJUSTMENTS]


def package_profit(
    tenant: Tenant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    centre_id: int | None = None,
    plan_id: int | None = None,
    limit: int | None = None,
) -> Report:
    """Per package, for the period: revenue (recognised + breakage + refund adjustments, from the journal)
    − delivery cost of the sessions redeemed (service delivery cost × sessions, voids excluded)
    − commission expense (from the journal, reversals netted)."""
    packages = Package.objects.filter(tenant=tenant)
    if centre_id:
        packages = packages.filter(sold_at_id=centre_id)
    if plan_id:
        packages = packages.filter(plan_version__plan_id=plan_id)
    in_period = dict(entry__date__gte=date_from, entry__date__lte=date_to)
    postings = Posting.objects.filter(package_id=OuterRef("id"), **in_period).values("package_id")
    revenue = Coalesce(
        Subquery(
            postings.filter(account__role__in=REVENUE_ROLES).annotate(s=Sum("amount")).values("s"),
            output_field=BigIntegerField(),
        ),
        ZERO,
    )
    commission = Coalesce(
        Subquery(
            postings.filter(account__role=Role.COMMISSION_EXPENSE).annotate(s=Sum("amount")).values("s"),
            output_field=BigIntegerField(),
        ),
        ZERO,
    )
    cost = Coalesce(
        Subquery(
            Redemption.objects.filter(
                package_id=OuterRef("id"), voided_at__isnull=True, day__gte=date_from, day__lte=date_to
            )
            .values("package_id")
            .annotate(s=Sum(F("sessions") * F("service__delivery_cost")))
            .values("s"),
            output_field=BigIntegerField(),
        ),
        ZERO,
    )
    qs = (
        packages.annotate(revenue=-revenue, cost=cost, commission=commission)
        .annotate(profit=F("revenue") - F("cost") - F("commission"))
        .filter(~Q(revenue=0) | ~Q(cost=0) | ~Q(commission=0))
        .order_by("id")
    )
    # Totals straight from the postings and redemptions of the same packages (one aggregate each).
    chosen = packages.values("id")
    period_postings = Posting.objects.filter(tenant=tenant, package_id__in=chosen, **in_period)
    totals = {
        "packages": qs.count(),
        "revenue": -period_postings.filter(account__role__in=REVENUE_ROLES).aggregate(s=total("amount"))["s"],
        "cost": Redemption.objects.filter(
            tenant=tenant, package_id__in=chosen, voided_at__isnull=True, day__gte=date_from, day__lte=date_to
        ).aggregate(s=total(F("sessions") * F("service__delivery_cost")))["s"],
        "commission": period_postings.filter(account__role=Role.COMMISSION_EXPENSE).aggregate(s=total("amount"))["s"],
    }
    totals["profit"] = totals["revenue"] - totals["cost"] - totals["commission"]
    values = qs.values(
        "id", "holder__name", "plan_version__name", "sold_at__code", "revenue", "cost", "commission", "profit"
    )
    rows = [
        {
            "package": r["id"],
            "patient": r["holder__name"],
            "plan": r["plan_version__name"],
            "centre": r["sold_at__code"],
            "revenue": r["revenue"],
            "delivery_cost": r["cost"],
            "commission": r["commission"],
            "profit": r["profit"],
        }
        for r in (values[:limit] if limit else values)
    ]
    notes = [] if commission_model() else ["No commission model is installed: commissions are reported as zero."]
    return Report(
        "profit",
        "Per-package profit",
        [
            Column("package", "Package", "int"),
            Column("patient", "Patient"),
            Column("plan", "Plan"),
            Column("centre", "Centre"),
            Column("revenue", "Revenue", "money"),
            Column("delivery_cost", "Delivery cost", "money"),
            Column("commission", "Commission", "money"),
            Column("profit", "Profit", "money"),
        ],
        rows,
        totals={**totals, "delivery_cost": totals.pop("cost")},
        filters=applied_filters(
            date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id, limit=limit
        ),
        notes=notes,
    )


@register("profit", description="Per-package profit: revenue − delivery cost − commission", order=70)
def profit_report(params: Params) -> Report:
    limit = validation.whole(params.limit, "limit", low=1, high=100_000, optional=True)
    return package_profit(params.tenant, **params.span, limit=limit)
