"""SPEC §5: may this person use N sessions of this service at this centre on this local date?

The checks run in a fixed order and the first that fails names its rule. Holds are checked
exactly like redemptions, against the appointment's date instead of today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import RuleViolation
from .expiry import ExpiryMode, Validity, validity_on
from .status import Closure


class Scope(StrEnum):
    SINGLE = "single"  # only the centre where it was sold
    LISTED = "listed"
    ALL = "all"


@dataclass(frozen=True)
class UsageCaps:
    per_day: int | None = None
    per_week: int | None = None  # ISO week, Monday to Sunday
    per_month: int | None = None
    min_gap_days: int | None = None  # whole days between two uses


@dataclass(frozen=True)
class PackageRules:
    closure: Closure | None
    start: dt.date
    last_day: dt.date | None
    mode: ExpiryMode
    grace_days: int
    scope: Scope
    sold_at_centre_id: int
    centre_ids: frozenset[int]
    blackout_dates: frozenset[dt.date]
    holder_id: int
    beneficiary_ids: frozenset[int]
    caps: UsageCaps = field(default_factory=UsageCaps)


@dataclass(frozen=True)
class LineBalance:
    line_id: int
    service_ids: frozenset[int]
    available: int


@dataclass(frozen=True)
class Use:
    """A session already used or held (not voided or released), for caps and gaps."""

    day: dt.date
    sessions: int


@dataclass(frozen=True)
class Request:
    day: dt.date
    centre_id: int
    service_id: int
    person_id: int
    sessions: int = 1


@dataclass(frozen=True)
class Decision:
    line_id: int
    in_grace: bool


def _refuse(code: str, message: str, **context):
    raise RuleViolation(message, code=code, **context)


def check_use(rules: PackageRules, lines: list[LineBalance], request: Request, uses: list[Use] = ()) -> Decision:
    if rules.closure:
        _refuse("package_closed", f"the package is {rules.closure}")
    validity = validity_on(
        request.day, start=rules.start, last_day=rules.last_day, mode=rules.mode, grace_days=rules.grace_days
    )
    if validity is Validity.NOT_STARTED:
        _refuse(
            "not_started",
            f"the package starts on {rules.start.isoformat()}, not before",
            starts_on=rules.start.isoformat(),
        )
    if validity is Validity.EXPIRED:
        _refuse(
            "expired",
            f"the package expired after {rules.last_day.isoformat()}",
            expired_after=rules.last_day.isoformat(),
        )
    if not _in_scope(rules, request.centre_id):
        _refuse("out_of_scope", "the package cannot be used at this centre")
    if request.day in rules.blackout_dates:
        _refuse("blackout_date", f"{request.day.isoformat()} is a blackout date for this package")
    if request.person_id != rules.holder_id and request.person_id not in rules.beneficiary_ids:
        _refuse("not_beneficiary", "this person is neither the holder nor a beneficiary of the package")
    eligible = [line for line in lines if request.service_id in line.service_ids]
    if not eligible:
        _refuse("service_not_eligible", "the package does not cover this service")
    line = next((line for line in eligible if line.available >= request.sessions), None)
    if line is None:
        best = max(line.available for line in eligible)
        _refuse(
            "insufficient_sessions",
            f"{request.sessions} session(s) asked, {best} available",
            available=best,
            requested=request.sessions,
        )
    _check_caps(rules.caps, request, uses)
    return Decision(line_id=line.line_id, in_grace=validity is Validity.IN_GRACE)


def _in_scope(rules: PackageRules, centre_id: int) -> bool:
    if rules.scope is Scope.ALL:
        return True
    if rules.scope is Scope.SINGLE:
        return centre_id == rules.sold_at_centre_id
    return centre_id in rules.centre_ids


def _check_caps(caps: UsageCaps, request: Request, uses: list[Use]) -> None:
    day = request.day
    week = day.isocalendar()[:2]
    windows = (
        (caps.per_day, "day", lambda d: d == day),
        (caps.per_week, "week", lambda d: d.isocalendar()[:2] == week),
        (caps.per_month, "month", lambda d: (d.year, d.month) == (day.year, day.month)),
    )
    for cap, name, same in windows:
        if cap is not None:
            used = sum(use.sessions for use in uses if same(use.day))
            if used + request.sessions > cap:
                _refuse(
                    "usage_cap",
                    f"at most {cap} session(s) per {name}; {used} already used or held",
                    cap=cap,
                    period=name,
                )
    if caps.min_gap_days:
        for use in uses:
            if abs((use.day - day).days) < caps.min_gap_days:
                _refuse(
                    "min_gap",
                    f"sessions must be at least {caps.min_gap_days} day(s) apart; one is on {use.day.isoformat()}",
                    min_gap_days=caps.min_gap_days,
                )
