"""Accounting periods: calendar months in the tenant's zone, which an accountant closes once they have ended.

Nothing posts into a closed period. Every journal writer asks `posting_date` for the date to use: an entry
that belongs to a closed period (a late correction, a back-dated visit) is dated on the first day of the
first open period instead, keeps the day it belongs to in `original_date`, and says so in its memo; its
event (`event_type`, `event_id`) still names what caused it.

Closed periods run without a gap from the tenant's first month: closing a month closes every earlier open
month with it. Closing is audited and idempotent (closing a closed month changes nothing).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Min

from punchcard import clock
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from .models import AccountingPeriod, JournalEntry

# A month of the years 1900–2999, as the document states it (the dates' own range).
_PERIOD = re.compile(r"^(19\d{2}|2\d{3})-(0[1-9]|1[0-2])$")
PERIOD_PATTERN = _PERIOD.pattern


def parse_period(text, field: str = "period") -> dt.date:
    """'2026-10' → 1 October 2026 (the period's first day)."""
    match = _PERIOD.match(text.strip()) if isinstance(text, str) else None
    if match is None or not 1900 <= int(match[1]) <= 2999:
        raise InvalidInput(f"a period is a month written YYYY-MM (e.g. 2026-10), not {text!r}", field=field)
    return dt.date(int(match[1]), int(match[2]), 1)


def label(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def last_day(month: dt.date) -> dt.date:
    return next_month(month) - dt.timedelta(days=1)


def closed_through(tenant: Tenant) -> dt.date | None:
    """The last day of the latest closed period, or None when every period is open."""
    return closed_through_of(AccountingPeriod.objects.filter(tenant=tenant).aggregate(m=Max("month"))["m"])


def closed_through_of(latest_month: dt.date | None) -> dt.date | None:
    """`closed_through` from the latest closed month, as `LATEST_CLOSED_SQL` reads it."""
    return last_day(latest_month) if latest_month else None


# The latest closed month of the tenant given as a parameter: the read `closed_through` makes, for a write
# that reads everything it needs in one statement (packages' redemptions on PostgreSQL).
LATEST_CLOSED_SQL = f"(SELECT max(month) FROM {AccountingPeriod._meta.db_table} WHERE tenant_id = %s::bigint)"


def move_past(day: dt.date, cutoff: dt.date | None) -> tuple[dt.date, dt.date | None]:
    """(the date to post on, the original date if it was moved past `cutoff`, the last closed day)."""
    if cutoff is None or day > cutoff:
        return day, None
    return cutoff + dt.timedelta(days=1), day


def posting_date(tenant: Tenant, day: dt.date) -> tuple[dt.date, dt.date | None]:
    """(the date to post on, the original date if it was moved out of a closed period, else None)."""
    return move_past(day, closed_through(tenant))


def late_memo(memo: str, original: dt.date | None, limit: int = 300) -> str:
    """The memo of an entry moved out of a closed period names the day it belongs to."""
    if original is None:
        return memo[:limit]
    note = f" [late: belongs to {original.isoformat()}, in closed period {label(original.replace(day=1))}]"
    return memo[: limit - len(note)] + note


def first_month(tenant: Tenant) -> dt.date:
    """The tenant's first accounting period: the month it was created in, or of its earliest entry."""
    created = tenant.created_at.astimezone(tenant.zone).date().replace(day=1)
    earliest = JournalEntry.objects.filter(tenant=tenant).aggregate(d=Min("date"))["d"]
    return min(created, earliest.replace(day=1)) if earliest else created


@dataclass(frozen=True)
class PeriodState:
    month: dt.date
    closed: AccountingPeriod | None
    ended: bool

    @property
    def label(self) -> str:
        return label(self.month)

    @property
    def status(self) -> str:
        return "closed" if self.closed else "open"


def periods(tenant: Tenant, *, now=None) -> list[PeriodState]:
    """Every period from the tenant's first month through the current one, oldest first."""
    today = tenant.today(now or clock.now())
    closed = {p.month: p for p in AccountingPeriod.objects.filter(tenant=tenant)}
    month = min([first_month(tenant), *closed])
    out = []
    while month <= today.replace(day=1):
        out.append(PeriodState(month, closed.get(month), ended=last_day(month) < today))
        month = next_month(month)
    return out


def closed_labels(tenant: Tenant, date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[str]:
    """The closed periods (YYYY-MM) that overlap from..to (all of them without bounds)."""
    rows = AccountingPeriod.objects.filter(tenant=tenant)
    if date_to is not None:
        rows = rows.filter(month__lte=date_to)
    if date_from is not None:
        rows = rows.filter(month__gte=date_from.replace(day=1))
    return [label(m) for m in rows.order_by("month").values_list("month", flat=True)]


@transaction.atomic
def close_period(*, tenant: Tenant, actor: Actor, period: str, now=None) -> tuple[AccountingPeriod, list[str]]:
    """Close `period` (YYYY-MM) and every earlier open one; (its row, the periods this call closed)."""
    actor.require(Perm.CLOSE_PERIODS)
    now = now or clock.now()
    month = parse_period(period)
    today = tenant.today(now)
    if last_day(month) >= today:
        raise Conflict(
            f"{label(month)} has not ended: it can be closed from {next_month(month).isoformat()} ({tenant.zone.key})",
            code="period_not_ended",
            field="period",
        )
    first = first_month(tenant)
    if month < first:
        raise InvalidInput(
            f"{tenant.name}'s books begin in {label(first)}: there is nothing to close before that",
            field="period",
        )
    done = AccountingPeriod.objects.filter(tenant=tenant, month=month).first()
    if done is not None:
        return done, []  # closed already: nothing changes
    # From the books' first month: a month an entry reached after later ones were closed is closed too.
    start = first
    closed_now, row = [], None
    while start <= month:
        row, made = AccountingPeriod.objects.get_or_create(
            tenant=tenant, month=start, defaults={"closed_at": now, "closed_by": actor.label}
        )
        if made:
            entries = JournalEntry.objects.filter(tenant=tenant, date__gte=start, date__lte=last_day(start))
            audit(
                tenant=tenant,
                actor=actor,
                action="period.close",
                subject=row,
                now=now,
                data={"period": label(start), "entries": entries.count(), "asked": label(month)},
            )
            closed_now.append(label(start))
        start = next_month(start)
    return row, closed_now
