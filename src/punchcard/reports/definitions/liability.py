"""The liability roll-forward: deferred revenue and outstanding sessions from one day to another (SPEC §11).

opening + sold − recognised − breakage − refunded (− carried into upgrades) = closing, for the packages
and, in a column of their own, for the value held on unclaimed claim codes.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, Sum, When

from punchcard.claims.models import ClaimCode, ClaimStatus
from punchcard.domain.posting import Role
from punchcard.ledger import services as journal
from punchcard.ledger.models import Posting
from punchcard.packages.models import EntryKind, SessionEntry
from punchcard.reports.models import MoneyDay, SessionInterval
from punchcard.reports.queries import added, applied_filters, case, day_start, reporting_zone, total
from punchcard.reports.registry import Column, Params, Report, register
from punchcard.reports.summaries import POSTINGS, SESSION_ENTRIES, folded_to, session_cause
from punchcard.tenancy.models import Tenant

MONEY_BUCKETS = [  # (key, label, entry kinds, sign: + adds to the liability)
    ("imported", "Imported (unused, from the previous system)", {"opening_balance"}, 1),
    ("sold", "Sold", {"sale"}, 1),
    ("claimed", "Claimed (codes → packages)", {"claim"}, 1),
    ("recognised", "Recognised (sessions used, net of voids)", {"redemption", "void"}, -1),
    ("breakage", "Breakage (expired, cancelled, removed)", {"breakage", "breakage_reversal", "adjustment"}, -1),
    ("refunded", "Refunded", {"refund"}, -1),
    ("upgraded", "Carried into upgrades", {"upgrade_credit"}, -1),
]


def _money_figures(rows, date_from: dt.date, date_to: dt.date) -> dict:
    """The roll-forward's sums over rows with a `day`, an entry `kind` and an `amount`: postings (annotated)
    or their daily summary (MoneyDay), which add up the same way."""
    cases = {
        f"m_{key}": total(case(When(kind__in=kinds, day__gte=date_from, day__lte=date_to, then=-F("amount"))))
        for key, _, kinds, _ in MONEY_BUCKETS
    }
    known = set().union(*(kinds for _, _, kinds, _ in MONEY_BUCKETS))
    return rows.aggregate(
        opening=total(case(When(day__lt=date_from, then=-F("amount")))),
        closing=total(case(When(day__lte=date_to, then=-F("amount")))),
        other=total(case(When(~Q(kind__in=known), day__gte=date_from, day__lte=date_to, then=-F("amount")))),
        **cases,
    )


def _money_roll(parts, date_from: dt.date, date_to: dt.date) -> dict:
    """Opening, the movements by bucket, closing — liability positive (deferred revenue is a credit)."""
    figures = added(_money_figures(rows, date_from, date_to) for rows in parts)
    out = {"opening": figures["opening"]}
    for key, _, _, sign in MONEY_BUCKETS:
        out[key] = sign * figures[f"m_{key}"]  # movements shown as positive figures
    out["other"] = figures["other"]
    out["closing"] = figures["closing"]
    out["balanced"] = (
        out["opening"] + sum(sign * out[key] for key, _, _, sign in MONEY_BUCKETS) + out["other"] == out["closing"]
    )
    return out


def _session_figures(rows, start: dt.datetime, end: dt.datetime) -> dict:
    """Outstanding sessions (granted − redeemed − forfeited) over rows with an instant `at`, a `kind` and a
    `cause` (reports.summaries.session_cause): session entries, or their quarter hours (SessionInterval)."""
    in_period = Q(at__gte=start, at__lt=end)
    outstanding = F("granted") - F("redeemed") - F("forfeited")
    return rows.aggregate(
        opening=total(case(When(at__lt=start, then=outstanding))),
        closing=total(case(When(at__lt=end, then=outstanding))),
        sold=total(
            case(When(in_period & ~Q(cause="code"), kind__in=[EntryKind.GRANT, EntryKind.TOP_UP], then=F("granted")))
        ),
        claimed=total(case(When(in_period, kind=EntryKind.GRANT, cause="code", then=F("granted")))),
        adjusted=total(case(When(in_period, kind=EntryKind.ADJUST, then=F("granted")))),
        # An imported package comes in with what it had left: its grant less the sessions used before the move.
        imported=total(case(When(in_period, kind=EntryKind.IMPORT, then=F("granted") - F("redeemed")))),
        recognised=total(case(When(in_period & ~Q(kind=EntryKind.IMPORT), then=F("redeemed")))),
        breakage=total(
            case(
                When(in_period, kind=EntryKind.EXPIRE, then=F("forfeited")),
                When(in_period, kind=EntryKind.CANCEL, cause="", then=F("forfeited")),
            )
        ),
        refunded=total(case(When(in_period, kind=EntryKind.CANCEL, cause="refund", then=F("forfeited")))),
        upgraded=total(case(When(in_period, kind=EntryKind.CANCEL, cause="upgrade", then=F("forfeited")))),
    )


def _session_roll(parts, start: dt.datetime, end: dt.datetime) -> dict:
    figures = added(_session_figures(rows, start, end) for rows in parts)
    figures["balanced"] = (
        figures["opening"]
        + figures["imported"]
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
    tenant: Tenant,
    *,
    date_from: dt.date,
    date_to: dt.date,
    centre_id: int | None = None,
    plan_id: int | None = None,
    scan: bool = False,
) -> Report:
    """Deferred revenue and outstanding sessions, rolled forward from `date_from` to `date_to`:
    opening + sold − recognised − breakage − refunded (− carried into upgrades) = closing.

    Packages are attributed to the centre that sold them. Value held on unclaimed claim codes is a
    liability too (sold, then claimed into packages, expired or refunded): it has its own column.
    The figures are the summaries up to their watermarks plus the ledgers above them
    (reports.summaries); `scan` reads the ledgers alone, from the first row.
    """
    posted_to = 0 if scan else folded_to(POSTINGS)
    entered_to = 0 if scan else folded_to(SESSION_ENTRIES)
    deferred = Posting.objects.filter(tenant=tenant, account__role=Role.DEFERRED_REVENUE, id__gt=posted_to).annotate(
        day=F("entry__date"), kind=F("entry__kind")
    )
    packages_side = deferred.filter(package_line__isnull=False)
    codes_side = deferred.filter(package_line__isnull=True, entry__event_type="claim_code")
    entries = SessionEntry.objects.filter(tenant=tenant, id__gt=entered_to).annotate(cause=session_cause())
    days = MoneyDay.objects.filter(
        tenant=tenant, account_id=journal.accounts(tenant)[Role.DEFERRED_REVENUE], upto__lte=posted_to
    )
    package_days, code_days = days.filter(side="package"), days.filter(side="code")
    quarters = SessionInterval.objects.filter(tenant=tenant, upto__lte=entered_to).annotate(at=F("start"))
    if centre_id:
        packages_side = packages_side.filter(package__sold_at_id=centre_id)
        codes_side = codes_side.filter(entry__centre_id=centre_id)
        entries = entries.filter(package__sold_at_id=centre_id)
        package_days, code_days = package_days.filter(centre_id=centre_id), code_days.filter(centre_id=centre_id)
        quarters = quarters.filter(centre_id=centre_id)
    if plan_id:
        packages_side = packages_side.filter(package__plan_version__plan_id=plan_id)
        codes_side = codes_side.filter(
            entry__event_id__in=ClaimCode.objects.filter(
                tenant=tenant, order_line__plan_version__plan_id=plan_id
            ).values("id")
        )
        entries = entries.filter(package__plan_version__plan_id=plan_id)
        package_days, code_days = package_days.filter(plan_id=plan_id), code_days.filter(plan_id=plan_id)
        quarters = quarters.filter(plan_id=plan_id)
    live = ([packages_side], [codes_side], [entries])
    packages, codes, sessions = (
        live if scan else ([packages_side, package_days], [codes_side, code_days], [entries, quarters])
    )
    packages_money = _money_roll(packages, date_from, date_to)
    codes_money = _money_roll(codes, date_from, date_to)
    zone = reporting_zone(tenant, centre_id)
    sessions = _session_roll(sessions, day_start(date_from, zone), day_start(date_to + dt.timedelta(days=1), zone))
    rows = []
    session_key = {"imported", "sold", "claimed", "recognised", "breakage", "refunded", "upgraded"}
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
        if key == "imported" and not (s or p or c):
            continue  # a clinic that never imported sees no such row
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
        filters=applied_filters(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id),
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


@register(
    "liability",
    description="Deferred revenue and sessions roll-forward: opening + sold − recognised − breakage − refunded"
    " = closing",
    order=40,
)
def liability_report(params: Params) -> Report:
    return liability(params.tenant, **params.span)
