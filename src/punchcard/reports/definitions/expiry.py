"""Expiry: packages about to expire with sessions left, and those that expired with sessions left (SPEC §11)."""

from __future__ import annotations

import datetime as dt

from django.db.models import BigIntegerField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from punchcard.domain import validation
from punchcard.packages.models import EntryKind, Package, SessionEntry
from punchcard.reports.queries import ZERO, applied_filters, day_start, reporting_zone
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.tenancy.models import Tenant


def expiry(
    tenant: Tenant,
    *,
    as_of: dt.date,
    days: int = 30,
    centre_id: int | None = None,
    plan_id: int | None = None,
    date_from: dt.date | None = None,
) -> Report:
    """As of the end of `as_of`: open packages expiring in the next `days` days with sessions left, and
    packages past their last valid day with sessions left (since `date_from`, when given) — whether or
    not the expiry sweep has forfeited them yet — with the value left (deferred, or breakage once swept).
    Balances come from the session ledger up to that moment, so a past date shows what was true then."""
    end = day_start(as_of + dt.timedelta(days=1), reporting_zone(tenant, centre_id))
    packages = Package.objects.filter(
        Q(closure__isnull=True) | Q(closed_at__gte=end), tenant=tenant, activated_at__lt=end
    )
    if centre_id:
        packages = packages.filter(sold_at_id=centre_id)
    if plan_id:
        packages = packages.filter(plan_version__plan_id=plan_id)
    ledger = SessionEntry.objects.filter(package_id=OuterRef("id"), at__lt=end).values("package_id")
    expired_kind = Q(kind=EntryKind.EXPIRE)
    remaining = Coalesce(
        Subquery(
            ledger.annotate(s=Sum(F("granted") - F("redeemed") - F("forfeited"))).values("s"),
            output_field=IntegerField(),
        ),
        Value(0),
    )
    value = Coalesce(Subquery(ledger.annotate(s=Sum("value")).values("s"), output_field=BigIntegerField()), ZERO)
    swept = Coalesce(
        Subquery(ledger.filter(expired_kind).annotate(s=Sum("forfeited")).values("s"), output_field=IntegerField()),
        Value(0),
    )
    swept_value = Coalesce(
        Subquery(ledger.filter(expired_kind).annotate(s=Sum("value")).values("s"), output_field=BigIntegerField()), ZERO
    )
    fields = ("id", "holder__name", "holder__external_ref", "plan_version__name", "sold_at__code", "expires_on")
    soon = (
        packages.filter(expires_on__gte=as_of, expires_on__lte=as_of + dt.timedelta(days=days))
        .annotate(left=remaining, worth=value)
        .filter(left__gt=0)
        .order_by("expires_on", "id")
    )
    gone = packages.filter(expires_on__lt=as_of)
    if date_from:
        gone = gone.filter(expires_on__gte=date_from)
    gone = (
        gone.annotate(left=remaining + swept, worth=value - swept_value).filter(left__gt=0).order_by("expires_on", "id")
    )
    rows = []
    for state, qs in (("expiring", soon), ("expired", gone)):
        rows += [
            {
                "state": state,
                "package": r["id"],
                "patient": f"{r['holder__name']} ({r['holder__external_ref']})",
                "plan": r["plan_version__name"],
                "centre": r["sold_at__code"],
                "expires_on": r["expires_on"],
                "sessions_left": r["left"],
                "value": r["worth"],
            }
            for r in qs.values(*fields, "left", "worth")
        ]
    totals = {}
    for state in ("expiring", "expired"):
        mine = [r for r in rows if r["state"] == state]
        totals.update(
            {
                state: len(mine),
                f"{state}_sessions": sum(r["sessions_left"] for r in mine),
                f"{state}_value": sum(r["value"] for r in mine),
            }
        )
    return Report(
        "expiry",
        f"Expiry as of {as_of.isoformat()}: expiring within {days} days, and expired",
        [
            Column("state", "State"),
            Column("package", "Package", "int"),
            Column("patient", "Patient"),
            Column("plan", "Plan"),
            Column("centre", "Centre"),
            Column("expires_on", "Last valid day", "date"),
            Column("sessions_left", "Sessions left", "int"),
            Column("value", "Value", "money"),
        ],
        rows,
        totals=totals,
        filters=applied_filters(as_of=as_of, days=days, centre_id=centre_id, plan_id=plan_id, date_from=date_from),
        notes=[
            "An expired package's value is breakage once the expiry sweep has run; before it, still deferred.",
            "The expiry date shown is today's; a later extension is not undone for past dates.",
        ],
    )


# As of a day, looking ahead: it takes no period, and `from` only bounds the expired list.
@register(
    "expiry",
    description="Packages expiring in the next N days with sessions left; expired with sessions left",
    order=50,
    period=False,
)
def expiry_report(params: Params) -> Report:
    days = validation.whole(30 if params.days is None else params.days, "days", low=0, high=3650)
    as_of = validation.date(params.as_of or None, "as_of", optional=True) or params.today
    return expiry(
        params.tenant,
        as_of=as_of,
        days=days,
        centre_id=params.centre_id,
        plan_id=params.plan_id,
        date_from=params.date_from,
    )
