"""SPEC §10.2: the rules of pausing and cancelling a membership. Pure: dates in, dates out.

A pause starts on the day it is asked for and ends on its resume day (the first day back); `months`
counts calendar months from the start, `until` names the resume day. Either way it must last from the
plan's shortest to its longest pause, counted in calendar months, and the member may have at most
`per_year` pauses starting in the twelve months up to today.

A cancellation takes effect no earlier than `earliest`: today plus the notice days, and not before the
minimum commitment's last period has ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum

from .errors import Conflict, InvalidInput
from .membership_terms import PauseRules
from .periods import Frequency, period_on, shifted


class CancelWhen(StrEnum):
    NOW = "now"
    PERIOD_END = "period_end"


def resume_day(
    rules: PauseRules, today: dt.date, *, months: int | None = None, until: dt.date | None = None
) -> dt.date:
    """The first day after a pause starting today, refused (with its code) outside the plan's rules."""
    if not rules.allowed:
        raise Conflict("the membership's plan does not allow pauses", code="pause_not_allowed")
    if (months is None) == (until is None):
        raise InvalidInput("a pause gives either months or until", field="months")
    if months is not None:
        if isinstance(months, bool) or not isinstance(months, int) or months < 1:
            raise InvalidInput("months is a whole number from 1", field="months")
        back, where = shifted(today, months=months), "months"
    else:
        if until <= today:
            raise InvalidInput("a pause ends after today", field="until")
        back, where = until, "until"
    shortest, longest = shifted(today, months=rules.min_months), shifted(today, months=rules.max_months)
    if back < shortest:
        raise Conflict(
            f"the shortest pause is {rules.min_months} month(s): until {shortest.isoformat()} at the earliest",
            code="pause_too_short",
            field=where,
            earliest=shortest.isoformat(),
        )
    if back > longest:
        raise Conflict(
            f"the longest pause is {rules.max_months} month(s): until {longest.isoformat()} at the latest",
            code="pause_too_long",
            field=where,
            latest=longest.isoformat(),
        )
    return back


def ensure_pause_allowed_this_year(rules: PauseRules, today: dt.date, earlier_starts: Iterable[dt.date]) -> None:
    """At most `per_year` pauses starting in the twelve months up to today."""
    year_ago = shifted(today, months=-12)
    taken = sum(1 for start in earlier_starts if start > year_ago)
    if taken >= rules.per_year:
        raise Conflict(
            f"{taken} pause(s) in the last twelve months; the plan allows {rules.per_year} a year",
            code="pause_limit_reached",
            taken=taken,
            per_year=rules.per_year,
        )


def first_billing_date_on_or_after(anchor: dt.date, frequency: Frequency, day: dt.date) -> dt.date:
    """The first period boundary (billing date) on or after `day`."""
    if day <= anchor:
        return anchor
    current = period_on(anchor, frequency, day)
    return current.start if current.start == day else current.end


def earliest_end(today: dt.date, *, notice_days: int, commitment_end: dt.date | None) -> dt.date:
    """The first day a cancellation asked for today may take effect (the membership's first day without it)."""
    earliest = today + dt.timedelta(days=notice_days)
    return max(earliest, commitment_end) if commitment_end else earliest
