"""SPEC §10.2: proration of a mid-period change by whole days, with the tenant's day-count convention.

A change on day `d` of the period [start, end) splits it into the used part [start, d) and the unused
part [d, end): the change day belongs to the new terms. The credit is the old price's share of the
unused part, the charge the new price's share of it, each rounded half-up to the minor unit on its own,
so the two shares of one price add up to the price within one minor unit.

Conventions (how many days a span counts):
- `actual_end_excluded` (default): actual calendar days, the end day not counted — [1 Jan, 1 Feb) is 31;
- `actual_both_ends`: actual days counting both ends of the span, as "from 1 Jan to 1 Feb" reads: the
  period counts 32, the unused part from a change on 20 Jan counts 13 (20 Jan to 1 Feb);
- `thirty_day_months`: 30E/360 — every month has 30 days (a 31st counts as the 30th), a year 360.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from .errors import InvalidInput
from .money import div_round_half_up
from .periods import BillingPeriod


class DayCount(StrEnum):
    ACTUAL_END_EXCLUDED = "actual_end_excluded"
    ACTUAL_BOTH_ENDS = "actual_both_ends"
    THIRTY_DAY_MONTHS = "thirty_day_months"


def _thirty_360(start: dt.date, end: dt.date) -> int:
    d1, d2 = min(start.day, 30), min(end.day, 30)
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def days(start: dt.date, end: dt.date, convention: DayCount = DayCount.ACTUAL_END_EXCLUDED) -> int:
    """How many days the span from `start` to `end` counts under the convention (end ≥ start)."""
    if end < start:
        raise InvalidInput("a span ends on or after its start", field="end")
    convention = DayCount(convention)
    if convention is DayCount.ACTUAL_END_EXCLUDED:
        return (end - start).days
    if convention is DayCount.ACTUAL_BOTH_ENDS:
        return (end - start).days + 1
    return _thirty_360(start, end)


def share(amount: int, part: int, whole: int) -> int:
    """`amount` × part / whole, half-up to the minor unit (the whole price when part = whole)."""
    if whole <= 0 or not 0 <= part <= whole:
        raise InvalidInput(f"a share of {part} in {whole} days is not a part of the period", field="day")
    return div_round_half_up(amount * part, whole)


def unused_days(period: BillingPeriod, day: dt.date, convention: DayCount) -> tuple[int, int]:
    """(days from `day` to the period's end, days of the whole period), under the convention."""
    if not period.start <= day <= period.end:
        raise InvalidInput(f"{day.isoformat()} is outside the period", field="day")
    whole = days(period.start, period.end, convention)
    if day == period.end:
        return 0, whole
    return days(day, period.end, convention), whole


@dataclass(frozen=True)
class Proration:
    credit: int  # the unused part of the old price, credited
    charge: int  # the remaining part of the new price, charged
    unused_days: int
    period_days: int

    @property
    def net(self) -> int:
        """What the member owes for the change (negative: what is owed to them)."""
        return self.charge - self.credit


def prorate_change(
    *,
    old_price: int,
    new_price: int,
    period: BillingPeriod,
    day: dt.date,
    convention: DayCount = DayCount.ACTUAL_END_EXCLUDED,
) -> Proration:
    """Credit for the unused part of the old price and charge for the rest of the period at the new one."""
    part, whole = unused_days(period, day, convention)
    return Proration(
        credit=share(old_price, part, whole), charge=share(new_price, part, whole), unused_days=part, period_days=whole
    )


def prorate_sessions(sessions: int, *, period: BillingPeriod, day: dt.date, convention: DayCount) -> int:
    """Benefit sessions for the rest of a period, rounded down: an upgrade on the last day of a period does not
    grant the whole higher tier."""
    part, whole = unused_days(period, day, convention)
    return sessions * part // whole
