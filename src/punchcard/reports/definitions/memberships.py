"""Membership revenue by month (SPEC §10.3): what was invoiced, what was earned, what is still owed in
service at each month's end. Figures come from the journal, so they agree with `punchcard reconcile`."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from punchcard.domain.errors import InvalidInput
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.memberships.models import Invoice
from punchcard.reports.queries import applied_filters
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def membership_revenue(tenant: Tenant, *, date_from: dt.date, date_to: dt.date, centre_id: int | None = None) -> Report:
    """Per calendar month of the period: invoices issued (not void) and their net, revenue recognised by
    day, and deferred membership revenue at the month's end (net invoiced less recognised, to date)."""
    postings = Posting.objects.filter(tenant=tenant, entry__date__lte=date_to)
    invoices = Invoice.objects.filter(tenant=tenant, issued_on__gte=date_from, issued_on__lte=date_to).exclude(
        status=InvoiceStatus.VOID
    )
    if centre_id:
        postings, invoices = postings.filter(centre_id=centre_id), invoices.filter(membership__centre_id=centre_id)
    recognised = {
        r["month"]: -r["s"]
        for r in postings.filter(account__role=Role.MEMBERSHIP_REVENUE, entry__date__gte=date_from)
        .annotate(month=TruncMonth("entry__date"))
        .values("month")
        .annotate(s=Sum("amount"))
    }
    deferred = postings.filter(account__role=Role.MEMBERSHIP_DEFERRED)
    balance = -(deferred.filter(entry__date__lt=date_from).aggregate(s=Sum("amount"))["s"] or 0)
    moved = {
        r["month"]: -r["s"]
        for r in deferred.filter(entry__date__gte=date_from)
        .annotate(month=TruncMonth("entry__date"))
        .values("month")
        .annotate(s=Sum("amount"))
    }
    issued = {
        r["month"]: (r["n"], r["net"])
        for r in invoices.annotate(month=TruncMonth("issued_on"))
        .values("month")
        .annotate(n=Count("id"), net=Sum("net"))
    }
    rows = []
    for month in _months(date_from, date_to):
        balance += moved.get(month, 0)
        count, net = issued.get(month, (0, 0))
        rows.append(
            {
                "month": month.strftime("%Y-%m"),
                "invoices": count,
                "invoiced": net or 0,
                "recognised": recognised.get(month, 0),
                "deferred": balance,
            }
        )
    notes = [
        "Net of tax. Void invoices are left out; recognition is by day over each paid period.",
        "A plan change's credit for unused days lowers the deferred column, not the invoiced one.",
    ]
    return Report(
        "membership-revenue",
        "Membership revenue by month",
        [
            Column("month", "Month"),
            Column("invoices", "Invoices", "int"),
            Column("invoiced", "Invoiced (net)", "money"),
            Column("recognised", "Recognised", "money"),
            Column("deferred", "Deferred at month end", "money"),
        ],
        rows,
        totals={
            "invoices": sum(r["invoices"] for r in rows),
            "invoiced": sum(r["invoiced"] for r in rows),
            "recognised": sum(r["recognised"] for r in rows),
        },
        filters=applied_filters(date_from=date_from, date_to=date_to, centre_id=centre_id),
        notes=notes,
    )


@register("membership-revenue", description="Membership invoices, revenue recognised and deferred, by month", order=95)
def membership_revenue_report(params: Params) -> Report:
    if params.plan_id:  # `plan` names a package plan; membership plans are not in the journal's postings
        raise InvalidInput("the membership revenue report takes no plan filter", field="plan")
    return membership_revenue(
        params.tenant, date_from=params.date_from, date_to=params.date_to, centre_id=params.centre_id
    )
