"""Centre settlement: what each selling centre owes each centre that redeemed its packages (SPEC §8.6)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q

from punchcard.reports.queries import applied_filters, redemptions_in, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant


def centre_settlement(
    tenant: Tenant, *, date_from: dt.date, date_to: dt.date, centre_id: int | None = None, plan_id: int | None = None
) -> Report:
    """SPEC §8.6: a session's value is revenue of the centre that delivered it, so for the period the
    centre that sold a package owes each centre that redeemed it elsewhere the value of those sessions."""
    qs = redemptions_in(tenant, date_from, date_to, None, plan_id).exclude(centre_id=F("package__sold_at_id"))
    if centre_id:
        qs = qs.filter(Q(centre_id=centre_id) | Q(package__sold_at_id=centre_id))
    rows = [
        {
            "owed_by": r["package__sold_at__code"],
            "owed_to": r["centre__code"],
            "redemptions": r["n"],
            "sessions": r["sessions"],
            "amount": r["value"],
        }
        for r in qs.values("package__sold_at__code", "centre__code")
        .annotate(n=Count("id"), sessions=total("sessions"), value=total("value"))
        .order_by("package__sold_at__code", "centre__code")
    ]
    gross = {(r["owed_by"], r["owed_to"]): r["amount"] for r in rows}
    net = []
    for (a, b), amount in sorted(gross.items()):
        back = gross.get((b, a), 0)
        if amount > back or (amount == back and a < b and amount):
            net.append({"from": a, "to": b, "amount": amount - back})
    return Report(
        "settlement",
        "Centre settlement",
        [
            Column("owed_by", "Selling centre owes"),
            Column("owed_to", "Redeeming centre"),
            Column("redemptions", "Redemptions", "int"),
            Column("sessions", "Sessions", "int"),
            Column("amount", "Amount", "money"),
        ],
        rows,
        totals=qs.aggregate(amount=total("value")),
        filters=applied_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
        notes=["Voided redemptions are excluded."],
        extra={"net": [n for n in net if n["amount"]]},
    )


@register("settlement", description="What each selling centre owes each redeeming centre (SPEC §8.6)", order=90)
def settlement_report(params: Params) -> Report:
    return centre_settlement(params.tenant, **params.span)
