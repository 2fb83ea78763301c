"""The package reports (SPEC §11, §8.6), computed in the database.

Every figure is an aggregate (Sum / Count / Case / Subquery) over the journal, the session ledger,
orders and redemptions; Python only lays out the aggregated rows, so the reports stay fast at a
million packages. Money is integer minor units; percentages are integer basis points (10000 = 100 %).

Dates are local accounting dates: a journal entry's `date`, a redemption's `day`, a package's
`purchased_on`. The session ledger stores instants, so the liability's session roll-forward cuts
days at midnight in the reporting zone (the filtered centre's, else the tenant's first centre's).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek, TruncYear

from punchcard.billing.models import OrderLine, OrderLineKind, OrderStatus
from punchcard.claims.models import ClaimCode, ClaimStatus
from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages.models import EntryKind, Package, PackageLine, Redemption, SessionEntry
from punchcard.tenancy.models import Centre, Tenant

ZERO = Value(0, output_field=BigIntegerField())


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | money | bp (basis points) | date | days


@dataclass
class Report:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    totals: dict | None = None
    notes: list[str] = field(default_factory=list)
    filters: dict = field(default_factory=dict)
    currency: str = ""
    extra: dict = field(default_factory=dict)  # named figures besides the table (e.g. the roll-forward's)


def _case(*whens: When) -> Case:
    return Case(*whens, default=ZERO, output_field=BigIntegerField())


def _sum(expr) -> Coalesce:
    return Coalesce(Sum(expr, output_field=BigIntegerField()), ZERO, output_field=BigIntegerField())


def _filters(**kw) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in kw.items() if v is not None}


# ---------------------------------------------------------------- package sales

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
        list_value=_sum("list_total"),
        discount=_sum("discount"),
        net=_sum("net"),
        tax=_sum("tax"),
        gross=_sum("gross"),
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
        filters=_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id, period=period),
        notes=["Revenue is the sale price net of tax; it is deferred until sessions are used."],
    )


# ---------------------------------------------------------------- usage

USAGE_DIMENSIONS = {
    "service": ("service__name", "service", "Service"),
    "centre": ("centre__code", "centre", "Centre"),
    "practitioner": ("practitioner__name", "practitioner", "Practitioner"),
    "plan": ("package__plan_version__plan__code", "plan", "Plan"),
}


def _redemptions(tenant: Tenant, date_from, date_to, centre_id, plan_id):
    qs = Redemption.objects.filter(tenant=tenant, voided_at__isnull=True, day__gte=date_from, day__lte=date_to)
    if centre_id:
        qs = qs.filter(centre_id=centre_id)
    if plan_id:
        qs = qs.filter(package__plan_version__plan_id=plan_id)
    return qs


def usage(
    tenant: Tenant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    centre_id: int | None = None,
    plan_id: int | None = None,
    by: tuple[str, ...] = ("service",),
) -> Report:
    """Redemptions (voided ones excluded) by service, centre and/or practitioner."""
    dims = [USAGE_DIMENSIONS[d] for d in by]
    qs = _redemptions(tenant, date_from, date_to, centre_id, plan_id)
    aggregates = dict(redemptions=Count("id"), sessions=_sum("sessions"), value=_sum("value"))
    rows = [
        {**{d[1]: row[d[0]] if row[d[0]] is not None else "(none)" for d in dims}, **{k: row[k] for k in aggregates}}
        for row in qs.values(*[d[0] for d in dims]).annotate(**aggregates).order_by(*[d[0] for d in dims])
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
        totals=qs.aggregate(**aggregates),
        filters=_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
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


# ---------------------------------------------------------------- liability roll-forward

MONEY_BUCKETS = [  # (key, label, entry kinds, sign: + adds to the liability)
    ("sold", "Sold", {"sale"}, 1),
    ("claimed", "Claimed (codes → packages)", {"claim"}, 1),
    ("recognised", "Recognised (sessions used, net of voids)", {"redemption", "void"}, -1),
    ("breakage", "Breakage (expired, cancelled, removed)", {"breakage", "breakage_reversal", "adjustment"}, -1),
    ("refunded", "Refunded", {"refund"}, -1),
    ("upgraded", "Carried into upgrades", {"upgrade_credit"}, -1),
]


def reporting_zone(tenant: Tenant, centre_id: int | None) -> zoneinfo.ZoneInfo:
    centre = Centre.objects.filter(tenant=tenant, **({"id": centre_id} if centre_id else {})).order_by("id").first()
    return centre.zone if centre else zoneinfo.ZoneInfo("UTC")


def _day_start(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def _money_roll(postings, date_from: dt.date, date_to: dt.date) -> dict:
    """Opening, the movements by bucket, closing — liability positive (deferred revenue is a credit)."""
    cases = {
        f"m_{key}": _sum(
            _case(When(entry__kind__in=kinds, entry__date__gte=date_from, entry__date__lte=date_to, then=-F("amount")))
        )
        for key, _, kinds, _ in MONEY_BUCKETS
    }
    known = set().union(*(kinds for _, _, kinds, _ in MONEY_BUCKETS))
    figures = postings.aggregate(
        opening=_sum(_case(When(entry__date__lt=date_from, then=-F("amount")))),
        closing=_sum(_case(When(entry__date__lte=date_to, then=-F("amount")))),
        other=_sum(
            _case(
                When(~Q(entry__kind__in=known), entry__date__gte=date_from, entry__date__lte=date_to, then=-F("amount"))
            )
        ),
        **cases,
    )
    out = {"opening": figures["opening"]}
    for key, _, _, sign in MONEY_BUCKETS:
        out[key] = sign * figures[f"m_{key}"]  # movements shown as positive figures
    out["other"] = figures["other"]
    out["closing"] = figures["closing"]
    out["balanced"] = (
        out["opening"] + sum(sign * out[key] for key, _, _, sign in MONEY_BUCKETS) + out["other"] == out["closing"]
    )
    return out


def _session_roll(entries, start: dt.datetime, end: dt.datetime) -> dict:
    """Outstanding sessions (granted − redeemed − forfeited): opening, movements, closing."""
    refunded = Q(package__refund__isnull=False)
    upgraded = Q(package__closure="upgraded")
    in_period = Q(at__gte=start, at__lt=end)
    from_code = Q(package__order_line__claim_code__isnull=False, kind=EntryKind.GRANT)  # made by claiming a code
    outstanding = F("granted") - F("redeemed") - F("forfeited")
    figures = entries.aggregate(
        opening=_sum(_case(When(at__lt=start, then=outstanding))),
        closing=_sum(_case(When(at__lt=end, then=outstanding))),
        sold=_sum(_case(When(in_period & ~from_code, kind__in=[EntryKind.GRANT, EntryKind.TOP_UP], then=F("granted")))),
        claimed=_sum(_case(When(in_period & from_code, kind=EntryKind.GRANT, then=F("granted")))),
        adjusted=_sum(_case(When(in_period, kind=EntryKind.ADJUST, then=F("granted")))),
        recognised=_sum(_case(When(in_period, then=F("redeemed")))),
        breakage=_sum(
            _case(
                When(in_period, kind=EntryKind.EXPIRE, then=F("forfeited")),
                When(in_period & ~refunded & ~upgraded, kind=EntryKind.CANCEL, then=F("forfeited")),
            )
        ),
        refunded=_sum(_case(When(in_period & refunded, kind=EntryKind.CANCEL, then=F("forfeited")))),
        upgraded=_sum(_case(When(in_period & upgraded, kind=EntryKind.CANCEL, then=F("forfeited")))),
    )
    figures["balanced"] = (
        figures["opening"]
        + figures["sold"]
        + figures["claimed"]
        + figures["adjusted"]
        - figures["recognised"]
        - figures["breakage"]
        - figures["refunded"]
        - figures["upgraded"]
        == figures["closing"]
    )
    return figures


def liability(
    tenant: Tenant, *, date_from: dt.date, date_to: dt.date, centre_id: int | None = None, plan_id: int | None = None
) -> Report:
    """Deferred revenue and outstanding sessions, rolled forward from `date_from` to `date_to`:
    opening + sold − recognised − breakage − refunded (− carried into upgrades) = closing.

    Packages are attributed to the centre that sold them. Value held on unclaimed claim codes is a
    liability too (sold, then claimed into packages, expired or refunded): it has its own column.
    """
    deferred = Posting.objects.filter(tenant=tenant, account__role=Role.DEFERRED_REVENUE)
    packages_side = deferred.filter(package_line__isnull=False)
    codes_side = deferred.filter(package_line__isnull=True, entry__event_type="claim_code")
    entries = SessionEntry.objects.filter(tenant=tenant)
    if centre_id:
        packages_side = packages_side.filter(package__sold_at_id=centre_id)
        codes_side = codes_side.filter(entry__centre_id=centre_id)
        entries = entries.filter(package__sold_at_id=centre_id)
    if plan_id:
        packages_side = packages_side.filter(package__plan_version__plan_id=plan_id)
        codes_side = codes_side.filter(
            entry__event_id__in=ClaimCode.objects.filter(
                tenant=tenant, order_line__plan_version__plan_id=plan_id
            ).values("id")
        )
        entries = entries.filter(package__plan_version__plan_id=plan_id)
    packages_money = _money_roll(packages_side, date_from, date_to)
    codes_money = _money_roll(codes_side, date_from, date_to)
    zone = reporting_zone(tenant, centre_id)
    sessions = _session_roll(entries, _day_start(date_from, zone), _day_start(date_to + dt.timedelta(days=1), zone))
    rows = []
    session_key = {"sold", "claimed", "recognised", "breakage", "refunded", "upgraded"}
    rows.append(
        {
            "movement": "Opening balance",
            "sessions": sessions["opening"],
            "packages": packages_money["opening"],
            "codes": codes_money["opening"],
            "amount": packages_money["opening"] + codes_money["opening"],
        }
    )
    for key, label, _, sign in MONEY_BUCKETS:
        s = sessions[key] if key in session_key else 0
        p, c = packages_money[key], codes_money[key]  # claimed: +X on packages, −X on codes, 0 in total
        rows.append(
            {
                "movement": ("+ " if sign > 0 else "− ") + label,
                "sessions": s,
                "packages": p,
                "codes": c,
                "amount": p + c,
            }
        )
    if sessions["adjusted"]:
        rows.append(
            {
                "movement": "+ Sessions adjusted (goodwill / removed)",
                "sessions": sessions["adjusted"],
                "packages": 0,
                "codes": 0,
                "amount": 0,
            }
        )
    if packages_money["other"] or codes_money["other"]:
        rows.append(
            {
                "movement": "± Other",
                "sessions": 0,
                "packages": packages_money["other"],
                "codes": codes_money["other"],
                "amount": packages_money["other"] + codes_money["other"],
            }
        )
    closing = packages_money["closing"] + codes_money["closing"]
    rows.append(
        {
            "movement": "Closing balance",
            "sessions": sessions["closing"],
            "packages": packages_money["closing"],
            "codes": codes_money["closing"],
            "amount": closing,
        }
    )
    open_codes = ClaimCode.objects.filter(tenant=tenant, status=ClaimStatus.OPEN)
    notes = [
        f"Sessions are cut at midnight {zone.key}.",
        "Sessions are counted once granted: unclaimed codes hold money but no sessions yet.",
    ]
    balanced = packages_money["balanced"] and codes_money["balanced"] and sessions["balanced"]
    if not balanced:  # pragma: no cover - would mean the journal and the session ledger disagree
        notes.append("THE ROLL-FORWARD DOES NOT BALANCE: run `punchcard reconcile`.")
    return Report(
        "liability",
        "Liability roll-forward (deferred revenue)",
        [
            Column("movement", "Movement"),
            Column("sessions", "Sessions", "int"),
            Column("packages", "Packages", "money"),
            Column("codes", "Unclaimed codes", "money"),
            Column("amount", "Total", "money"),
        ],
        rows,
        filters=_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
        notes=notes,
        extra={
            "money": packages_money,
            "codes": codes_money,
            "sessions": sessions,
            "closing": closing,
            "balanced": balanced,
            "open_codes_now": open_codes.count(),
        },
    )


def deferred_balance(tenant: Tenant, as_of: dt.date) -> int:
    """The deferred-revenue account's balance at the end of `as_of` (positive = owed to patients)."""
    total = Posting.objects.filter(
        tenant=tenant, account__role=Role.DEFERRED_REVENUE, entry__date__lte=as_of
    ).aggregate(s=Sum("amount"))["s"]
    return -(total or 0)


# ---------------------------------------------------------------- expiry


def _expired_by_sweep():
    """Per package: sessions forfeited by expiry (net of reinstatements)."""
    base = SessionEntry.objects.filter(package_id=OuterRef("id"), kind=EntryKind.EXPIRE).values("package_id")
    return Coalesce(Subquery(base.annotate(s=Sum("forfeited")).values("s"), output_field=IntegerField()), Value(0))


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
    end = _day_start(as_of + dt.timedelta(days=1), reporting_zone(tenant, centre_id))
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
        filters=_filters(as_of=as_of, days=days, centre_id=centre_id, plan_id=plan_id, date_from=date_from),
        notes=[
            "An expired package's value is breakage once the expiry sweep has run; before it, still deferred.",
            "The expiry date shown is today's; a later extension is not undone for past dates.",
        ],
    )


# ---------------------------------------------------------------- completion


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
    swept_sessions = _expired_by_sweep()
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
        packages=Count("id"), fully_used=_sum("full"), pct_sum=_sum("pct_bp"), expired=_sum("expired_left")
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
        filters=_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
        notes=[
            "Percentages are rounded down to a hundredth of a per cent.",
            "Days to completion: from the start date to the last (non-voided) session.",
        ],
    )


# ---------------------------------------------------------------- profit and commission


def _commission_model():
    try:
        return apps.get_model("appointments", "CommissionCredit")
    except LookupError:  # pragma: no cover - appointments without commissions
        return None


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
        "revenue": -period_postings.filter(account__role__in=REVENUE_ROLES).aggregate(s=_sum("amount"))["s"],
        "cost": Redemption.objects.filter(
            tenant=tenant, package_id__in=chosen, voided_at__isnull=True, day__gte=date_from, day__lte=date_to
        ).aggregate(s=_sum(F("sessions") * F("service__delivery_cost")))["s"],
        "commission": period_postings.filter(account__role=Role.COMMISSION_EXPENSE).aggregate(s=_sum("amount"))["s"],
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
    notes = [] if _commission_model() else ["No commission model is installed: commissions are reported as zero."]
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
        filters=_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id, limit=limit),
        notes=notes,
    )


def commission(
    tenant: Tenant, *, date_from: dt.date, date_to: dt.date, centre_id: int | None = None, plan_id: int | None = None
) -> Report:
    """Commission by staff member for the period, from the journal (a reversal counts in its own period),
    split into commission on sales and on redeemed sessions."""
    model = _commission_model()
    columns = [
        Column("staff", "Staff member"),
        Column("sales", "On sales", "money"),
        Column("redemptions", "On sessions", "money"),
        Column("credits", "Credits", "int"),
        Column("amount", "Total", "money"),
    ]
    filters = _filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id)
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
        sales=_sum(_case(When(event="sale", then=F("amount")))),
        redemptions=_sum(_case(When(event="redemption", then=F("amount")))),
        credits=Count("entry_id", filter=Q(entry__event_type="commission")),
        amount=_sum("amount"),
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


# ---------------------------------------------------------------- centre settlement


def centre_settlement(
    tenant: Tenant, *, date_from: dt.date, date_to: dt.date, centre_id: int | None = None, plan_id: int | None = None
) -> Report:
    """SPEC §8.6: a session's value is revenue of the centre that delivered it, so for the period the
    centre that sold a package owes each centre that redeemed it elsewhere the value of those sessions."""
    qs = _redemptions(tenant, date_from, date_to, None, plan_id).exclude(centre_id=F("package__sold_at_id"))
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
        .annotate(n=Count("id"), sessions=_sum("sessions"), value=_sum("value"))
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
        totals=qs.aggregate(amount=_sum("value")),
        filters=_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
        notes=["Voided redemptions are excluded."],
        extra={"net": [n for n in net if n["amount"]]},
    )
