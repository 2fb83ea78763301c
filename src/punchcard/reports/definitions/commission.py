"""Commission by staff member, on sales and on redeemed sessions, from the journal (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, OuterRef, Q, Subquery, When

from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.reports.queries import applied_filters, case, commission_model, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant


def commission(
    tenant: Tenant, *, date_from: dt.date, date_to: dt.date, centre_id: int | None = None, plan_id: int | None = None
) -> Report:
    """Commission by staff member for the period, from the journal (a reversal counts in its own period),
    split into commission on sales and on redeemed sessions."""
    model = commission_model()
    columns = [
        Column("staff", "Staff member"),
        Column("sales", "On sales", "money"),
        Column("redemptions", "On sessions", "money"),
        Column("credits", "Credits", "int"),
        Column("amount", "Total", "money"),
    ]
    filters = applied_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id)
    if model is None:  # pragma: no cover
        return Report(
            "commission",
            "Commission by staff member",
            columns,
            [],
            totals={"amount": 0},
            filters=filters,
            notes=["No commission model is installed: commission is zero."],
        )
    credits = model.objects.filter(tenant=tenant, id=OuterRef("entry__event_id"))
    postings = Posting.objects.filter(
        tenant=tenant,
        account__role=Role.COMMISSION_EXPENSE,
        entry__event_type__in=["commission", "commission_reversal"],
        entry__date__gte=date_from,
        entry__date__lte=date_to,
    ).annotate(
        staff_id=Subquery(credits.values("staff_id")),
        staff=Subquery(credits.values("staff__name")),
        event=Subquery(credits.values("event_type")),
    )
    if centre_id:
        postings = postings.filter(entry__centre_id=centre_id)
    if plan_id:
        postings = postings.filter(package__plan_version__plan_id=plan_id)
    aggregates = dict(
        sales=total(case(When(event="sale", then=F("amount")))),
        redemptions=total(case(When(event="redemption", then=F("amount")))),
        credits=Count("entry_id", filter=Q(entry__event_type="commission")),
        amount=total("amount"),
    )
    rows = [
        {"staff": r["staff"] or "(unknown)", **{k: r[k] for k in aggregates}}
        for r in postings.values("staff_id", "staff").annotate(**aggregates).order_by("staff", "staff_id")
    ]
    return Report(
        "commission",
        "Commission by staff member",
        columns,
        rows,
        totals=postings.aggregate(**aggregates),
        filters=filters,
        notes=["Centre: where the commission was booked (the sale's or the visit's)."],
    )


@register("commission", description="Commission by staff member", order=80)
def commission_report(params: Params) -> Report:
    return commission(params.tenant, **params.span)
