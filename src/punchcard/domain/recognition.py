"""SPEC §10.3: a paid membership period's fee is earned ratably by day.

Through a day `as_of`, the days of [start, end) that have passed (as_of counted) earn their share of the
period's net fee, half-up to the minor unit; the last day earns the rest, so a period recognises exactly
its fee. A run recognises what is earned through `as_of` less what was recognised before, so running it
again, or for an earlier day, posts nothing. ₹3,000 for 1–30 June earns ₹100 a day: ₹1,000 through 10 June.

A pause stops the clock: its days (`gaps`, each [first day, resume day)) earn nothing, and the period,
which the pause made longer by as many days, earns its fee over its service days only. A period with no
service days left (cancelled on its first day) has earned its whole fee from its start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .proration import share

Gap = tuple[dt.date, dt.date]


def days_passed(start: dt.date, end: dt.date, as_of: dt.date) -> int:
    """Days of [start, end) on or before `as_of` (0 before the start, all of them from the last day on)."""
    return max(0, min((as_of - start).days + 1, (end - start).days))


def service_days_passed(start: dt.date, end: dt.date, as_of: dt.date, gaps: Iterable[Gap] = ()) -> int:
    """Days of [start, end) on or before `as_of` outside every gap (gaps do not overlap one another)."""
    passed = days_passed(start, end, as_of)
    for first, resume in gaps:
        lo, hi = max(first, start), min(resume, end)
        if hi > lo:
            passed -= days_passed(lo, hi, as_of)
    return passed


def service_days(start: dt.date, end: dt.date, gaps: Iterable[Gap] = ()) -> int:
    """The days of [start, end) outside every gap."""
    return service_days_passed(start, end, end, gaps)


def earned_through(net: int, start: dt.date, end: dt.date, as_of: dt.date, gaps: Iterable[Gap] = ()) -> int:
    """What the period's `net` fee has earned through `as_of` (the whole fee from its last day on)."""
    gaps = tuple(gaps)
    whole = service_days(start, end, gaps)
    if whole == 0:
        return net if as_of >= start else 0
    return share(net, service_days_passed(start, end, as_of, gaps), whole)


def to_recognise(
    net: int, start: dt.date, end: dt.date, as_of: dt.date, recognised: int, gaps: Iterable[Gap] = ()
) -> int:
    """What a run as of `as_of` recognises now, given what was recognised before (never negative)."""
    return max(0, earned_through(net, start, end, as_of, gaps) - recognised)
