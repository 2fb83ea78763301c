"""Query pieces several reports share: zero-defaulted sums, the reporting zone and its day starts, the
redemptions of a period, sessions lost to the expiry sweep.

Every figure is an aggregate (Sum / Count / Case / Subquery) computed in the database; Python only lays
out the aggregated rows, so the reports stay fast at a million packages. Money is integer minor units;
percentages are integer basis points (10000 = 100 %).

Dates are local accounting dates: a journal entry's `date`, a redemption's `day`, a package's
`purchased_on`. The session ledger stores instants, so reports that read it cut days at midnight in the
reporting zone (the filtered centre's, else the tenant's first centre's).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.apps import apps
from django.db.models import BigIntegerField, Case, F, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from punchcard.packages.models import EntryKind, Redemption, SessionEntry
from punchcard.tenancy.models import Centre, Tenant

ZERO = Value(0, output_field=BigIntegerField())


def case(*whens: When) -> Case:
    """A CASE that is 0 where no branch matches."""
    return Case(*whens, default=ZERO, output_field=BigIntegerField())


def total(expr) -> Coalesce:
    """SUM(expr), 0 over no rows."""
    return Coalesce(Sum(expr, output_field=BigIntegerField()), ZERO, output_field=BigIntegerField())


def added(parts) -> dict:
    """Figures of several parts (a summary and its live tail) added key by key."""
    out: dict = {}
    for figures in parts:
        for key, value in figures.items():
            out[key] = out.get(key, 0) + value
    return out


def grouped(rows, paths: dict[str, str], figures: dict) -> list[dict]:
    """`rows` grouped by the dimensions (name → path), with the figures (name → aggregate) of each group."""
    found = rows.values(**{f"k_{name}": F(path) for name, path in paths.items()}).annotate(
        **{f"f_{name}": aggregate for name, aggregate in figures.items()}
    )
    return [
        {**{name: row[f"k_{name}"] for name in paths}, **{name: row[f"f_{name}"] or 0 for name in figures}}
        for row in found.order_by()
    ]


def merged(parts, dimensions, figures) -> list[dict]:
    """Grouped rows of several parts (a summary and its live tail) with the same dimensions, their figures
    added; groups that add up to nothing (a redemption folded, its void not yet) dropped; ordered by the
    dimensions, blanks last."""
    out: dict[tuple, dict] = {}
    for rows in parts:
        for row in rows:
            key = tuple(row[name] for name in dimensions)
            into = out.setdefault(key, {**{name: row[name] for name in dimensions}, **dict.fromkeys(figures, 0)})
            for name in figures:
                into[name] += row[name]
    kept = [row for row in out.values() if any(row[name] for name in figures)]
    return sorted(kept, key=lambda row: tuple((row[name] is None, row[name]) for name in dimensions))


def applied_filters(**kw) -> dict:
    """The filters as a report shows them: the ones set, dates as ISO text."""
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in kw.items() if v is not None}


def reporting_zone(tenant: Tenant, centre_id: int | None) -> zoneinfo.ZoneInfo:
    centre = Centre.objects.filter(tenant=tenant, **({"id": centre_id} if centre_id else {})).order_by("id").first()
    return centre.zone if centre else zoneinfo.ZoneInfo("UTC")


def day_start(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def redemptions_in(tenant: Tenant, date_from, date_to, centre_id, plan_id):
    """The period's redemptions, voided ones excluded."""
    qs = Redemption.objects.filter(tenant=tenant, voided_at__isnull=True, day__gte=date_from, day__lte=date_to)
    if centre_id:
        qs = qs.filter(centre_id=centre_id)
    if plan_id:
        qs = qs.filter(package__plan_version__plan_id=plan_id)
    return qs


def expired_by_sweep():
    """Per package: sessions forfeited by expiry (net of reinstatements)."""
    base = SessionEntry.objects.filter(package_id=OuterRef("id"), kind=EntryKind.EXPIRE).values("package_id")
    return Coalesce(Subquery(base.annotate(s=Sum("forfeited")).values("s"), output_field=IntegerField()), Value(0))


def commission_model():
    try:
        return apps.get_model("appointments", "CommissionCredit")
    except LookupError:  # pragma: no cover - appointments without commissions
        return None
