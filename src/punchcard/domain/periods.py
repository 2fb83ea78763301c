"""SPEC §10.2: a membership's billing periods, on local calendar dates.

The **billing anchor** is the start date. Every billing date is the anchor plus a whole number of
months counted from the anchor itself (never from the previous billing date), so a day the month lacks
falls on the month's last day and the next month gets the anchor's day back: anchored 31 Jan →
28/29 Feb → 31 Mar → 30 Apr. A period runs from its billing date up to, not including, the next one.

Pure: dates in, dates out; the caller says which day "today" is at the centre.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from .errors import InvalidInput

MAX_PERIODS = 12 * 200  # two hundred years of months: past that an index is a bug


class Frequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.value]


class LengthUnit(StrEnum):
    DAYS = "days"
    MONTHS = "months"


@dataclass(frozen=True)
class BillingPeriod:
    """[start, end): `end` is the next billing date; `index` counts periods from the anchor (0 = first)."""

    index: int
    start: dt.date
    end: dt.date

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def billing_date(anchor: dt.date, frequency: Frequency, index: int) -> dt.date:
    """The start of period `index` (0 is the anchor itself)."""
    if not 0 <= index <= MAX_PERIODS:
        raise InvalidInput(f"a period index is between 0 and {MAX_PERIODS}", field="index")
    return anchor + relativedelta(months=Frequency(frequency).months * index)


def period(anchor: dt.date, frequency: Frequency, index: int) -> BillingPeriod:
    return BillingPeriod(index, billing_date(anchor, frequency, index), billing_date(anchor, frequency, index + 1))


def period_on(anchor: dt.date, frequency: Frequency, day: dt.date) -> BillingPeriod:
    """The period that contains `day` (refused before the anchor: nothing is billed yet)."""
    if day < anchor:
        raise InvalidInput(f"{day.isoformat()} is before the billing anchor {anchor.isoformat()}", field="day")
    months = Frequency(frequency).months
    # A first guess from whole months between the dates, then at most one step either way.
    index = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months
    index = max(index, 0)
    while billing_date(anchor, frequency, index) > day:
        index -= 1
    while billing_date(anchor, frequency, index + 1) <= day:
        index += 1
    return period(anchor, frequency, index)


def shifted(day: dt.date, *, months: int = 0, days: int = 0) -> dt.date:
    """A date moved by calendar months (a missing day becomes the month's last) and then by days:
    a pause of two months moves the next billing date by two calendar months."""
    return day + relativedelta(months=months) + dt.timedelta(days=days)


def length_end(start: dt.date, length: int, unit: LengthUnit) -> dt.date:
    """The first day after a length counted from `start` (a trial of 14 days, or of 1 month)."""
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= 3650:
        raise InvalidInput("a length is a whole number from 0 to 3650", field="length")
    if LengthUnit(unit) is LengthUnit.DAYS:
        return start + dt.timedelta(days=length)
    return start + relativedelta(months=length)
