"""SPEC §10.3: a paid membership period's fee is earned ratably by day.

Through a day `as_of`, the days of [start, end) that have passed (as_of counted) earn their share of the
period's net fee, half-up to the minor unit; the last day earns the rest, so a period recognises exactly
its fee. A run recognises what is earned through `as_of` less what was recognised before, so running it
again, or for an earlier day, posts nothing. ₹3,000 for 1–30 June earns ₹100 a day: ₹1,000 through 10 June.
"""

from __future__ import annotations

import datetime as dt

from .proration import share


def days_passed(start: dt.date, end: dt.date, as_of: dt.date) -> int:
    """Days of [start, end) on or before `as_of` (0 before the start, all of them from the last day on)."""
    return max(0, min((as_of - start).days + 1, (end - start).days))


def earned_through(net: int, start: dt.date, end: dt.date, as_of: dt.date) -> int:
    """What the period's `net` fee has earned through `as_of` (the whole fee from its last day on)."""
    whole = (end - start).days
    return share(net, days_passed(start, end, as_of), whole)


def to_recognise(net: int, start: dt.date, end: dt.date, as_of: dt.date, recognised: int) -> int:
    """What a run as of `as_of` recognises now, given what was recognised before (never negative)."""
    return max(0, earned_through(net, start, end, as_of) - recognised)
