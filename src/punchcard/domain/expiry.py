"""SPEC §4.3: when a package stops being valid, computed on local calendar dates.

`last_valid_day` is the last local date on which the package can be used (validity ends at the end
of that day in the centre's zone). None means no expiry (or not fixed yet, for after-first-use rules
before the first use).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from .errors import InvalidInput

MAX_COUNT = 3650  # ten years of days; validity beyond that is a typo


class ExpiryKind(StrEnum):
    NONE = "none"
    AFTER_START = "after_start"  # N days/months after the start date
    AFTER_FIRST_USE = "after_first_use"  # N days/months after the first redemption
    FIXED_DATE = "fixed_date"
    END_OF_PERIOD = "end_of_period"  # end of the month/quarter/year of purchase (+ N periods)


class ExpiryUnit(StrEnum):
    DAYS = "days"
    MONTHS = "months"


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class ExpiryMode(StrEnum):
    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True)
class ExpiryRule:
    kind: ExpiryKind = ExpiryKind.NONE
    count: int = 0
    unit: ExpiryUnit = ExpiryUnit.DAYS
    fixed_date: dt.date | None = None
    period: Period = Period.MONTH

    def __post_init__(self):
        for name, enum in (("kind", ExpiryKind), ("unit", ExpiryUnit), ("period", Period)):
            try:
                object.__setattr__(self, name, enum(getattr(self, name)))
            except ValueError:
                raise InvalidInput(
                    f"expiry {name} must be one of {', '.join(e.value for e in enum)}", field=f"expiry.{name}"
                ) from None
        if isinstance(self.count, bool) or not isinstance(self.count, int) or not 0 <= self.count <= MAX_COUNT:
            raise InvalidInput(f"expiry count must be a whole number from 0 to {MAX_COUNT}", field="expiry.count")
        if self.kind in (ExpiryKind.AFTER_START, ExpiryKind.AFTER_FIRST_USE) and self.count < 1:
            raise InvalidInput("an expiry after N days or months needs N ≥ 1", field="expiry.count")
        if self.kind is ExpiryKind.FIXED_DATE and self.fixed_date is None:
            raise InvalidInput("a fixed-date expiry needs its date", field="expiry.fixed_date")
        if self.fixed_date is not None and (
            not isinstance(self.fixed_date, dt.date) or isinstance(self.fixed_date, dt.datetime)
        ):
            raise InvalidInput("expiry fixed_date must be a date", field="expiry.fixed_date")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["fixed_date"] = self.fixed_date.isoformat() if self.fixed_date else None
        return {k: str(v) if isinstance(v, StrEnum) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict) -> ExpiryRule:
        data = dict(data or {})
        unknown = set(data) - {"kind", "count", "unit", "fixed_date", "period"}
        if unknown:
            raise InvalidInput(f"unknown expiry field(s): {', '.join(sorted(map(str, unknown)))}", field="expiry")
        if isinstance(data.get("fixed_date"), str):
            try:
                data["fixed_date"] = dt.date.fromisoformat(data["fixed_date"])
            except ValueError:
                raise InvalidInput(
                    "expiry fixed_date must be an ISO date (YYYY-MM-DD)", field="expiry.fixed_date"
                ) from None
        return cls(**data)

    def describe(self) -> str:
        match self.kind:
            case ExpiryKind.NONE:
                return "no expiry"
            case ExpiryKind.AFTER_START:
                return f"{self.count} {self.unit} after the start date"
            case ExpiryKind.AFTER_FIRST_USE:
                return f"{self.count} {self.unit} after the first use"
            case ExpiryKind.FIXED_DATE:
                return f"on {self.fixed_date.isoformat()}"
            case ExpiryKind.END_OF_PERIOD:
                extra = f" + {self.count}" if self.count else ""
                return f"end of the {self.period} of purchase{extra}"


def _after(origin: dt.date, count: int, unit: ExpiryUnit) -> dt.date:
    # "90 days from 1 March" covers 1 March .. 29 May: the last valid day is origin + N − 1.
    if unit is ExpiryUnit.DAYS:
        return origin + dt.timedelta(days=count - 1)
    # Calendar months: 15 Jan + 1 month is valid through 14 Feb, the day before the anniversary. When the
    # anniversary does not exist (31 Jan + 1 month), the month's last day is the last valid day: 28 Feb.
    anniversary = origin + relativedelta(months=count)
    return anniversary if anniversary.day < origin.day else anniversary - dt.timedelta(days=1)


def _end_of_period(day: dt.date, period: Period, extra: int) -> dt.date:
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period]
    first_month = ((day.month - 1) // months) * months + 1
    period_start = dt.date(day.year, first_month, 1)
    return period_start + relativedelta(months=months * (extra + 1)) - dt.timedelta(days=1)


def last_valid_day(
    rule: ExpiryRule, *, start: dt.date, purchased_on: dt.date, first_used_on: dt.date | None
) -> dt.date | None:
    match rule.kind:
        case ExpiryKind.NONE:
            return None
        case ExpiryKind.AFTER_START:
            return _after(start, rule.count, rule.unit)
        case ExpiryKind.AFTER_FIRST_USE:
            return _after(first_used_on, rule.count, rule.unit) if first_used_on else None
        case ExpiryKind.FIXED_DATE:
            return rule.fixed_date
        case ExpiryKind.END_OF_PERIOD:
            return _end_of_period(purchased_on, rule.period, rule.count)
    raise AssertionError(rule.kind)


class Validity(StrEnum):
    NOT_STARTED = "not_started"
    VALID = "valid"
    IN_GRACE = "in_grace"
    EXPIRED = "expired"


def validity_on(
    day: dt.date, *, start: dt.date, last_day: dt.date | None, mode: ExpiryMode, grace_days: int
) -> Validity:
    if day < start:
        return Validity.NOT_STARTED
    if last_day is None or day <= last_day:
        return Validity.VALID
    if ExpiryMode(mode) is ExpiryMode.SOFT and day <= _plus_days(last_day, grace_days):
        return Validity.IN_GRACE
    return Validity.EXPIRED


def usable_until(*, last_day: dt.date | None, mode: ExpiryMode, grace_days: int) -> dt.date | None:
    """The last local date a redemption can happen, grace included."""
    if last_day is None:
        return None
    return _plus_days(last_day, grace_days) if ExpiryMode(mode) is ExpiryMode.SOFT else last_day


def _plus_days(day: dt.date, days: int) -> dt.date:
    """day + days, stopping at the end of the calendar rather than overflowing."""
    return day + dt.timedelta(days=days) if day <= dt.date.max - dt.timedelta(days=days) else dt.date.max
