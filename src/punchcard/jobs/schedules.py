"""When a job is due: a schedule turns an instant into the due slots it covers, each a key and the
arguments its task gets. A slot is enqueued once, ever (jobs.models.Due).

`between(start, end, tenant_id=…)` is the same rule over a stretch of time, for a sandbox's test clock
(tenancy.testclock): the slots that fall due after `start` up to and including `end`, each with the
instant it falls due, for one tenant (a daily job's zones are then that tenant's). A `catch_up`
schedule's job does whatever is due as of its run, so an advance runs it once per step rather than once
per period.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

Slot = tuple[str, dict[str, Any]]
TimedSlot = tuple[dt.datetime, str, dict[str, Any]]  # (falls due at, key, the task's arguments)


def _instant(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat()


def utc_only(tenant_id: int | None = None) -> list[str]:
    """The zones of a job kept on the UTC day, whoever it works for."""
    return ["UTC"]


@dataclass(frozen=True)
class Every:
    """Every `minutes` minutes, aligned on the UTC clock: the slot is the start of the period."""

    minutes: int = 1
    catch_up: ClassVar[bool] = True  # under an advance: once per step, after the step's daily jobs

    def slots(self, now: dt.datetime) -> list[Slot]:
        period = self.minutes * 60
        utc = now.astimezone(dt.UTC)
        start = dt.datetime.fromtimestamp(int(utc.timestamp()) // period * period, dt.UTC)
        return [(start.strftime("%Y-%m-%dT%H:%MZ"), {"now": _instant(now)})]

    def between(self, start: dt.datetime, end: dt.datetime, *, tenant_id: int | None = None) -> list[TimedSlot]:
        """Once, at `end`, however many periods the stretch spans: an every-N job does whatever is due as
        of its run (a retry, a purge), so one run catches up on them all (a year is not 525,600 runs)."""
        if end <= start:
            return []
        key, kwargs = self.slots(end)[0]
        return [(end.astimezone(dt.UTC), key, kwargs)]


@dataclass(frozen=True)
class DailyAt:
    """Once a local day, at `at` local time, in each zone `zones(tenant_id)` names (e.g. every centre's
    zone, or with a tenant id that tenant's centres'): "today" is each zone's own. A tick after `at` on a
    zone's day enqueues that zone's day once."""

    at: dt.time
    zones: Callable[[int | None], Iterable[str]] = utc_only
    catch_up: ClassVar[bool] = False  # under an advance: each slot is a step of its own

    def slots(self, now: dt.datetime) -> list[Slot]:
        due = []
        for zone in sorted(set(self.zones(None))):
            local = now.astimezone(zoneinfo.ZoneInfo(zone))
            if local.time() >= self.at:
                day = local.date().isoformat()
                due.append((f"{zone}/{day}", {"now": _instant(now), "zone": zone, "day": day}))
        return due

    def between(self, start: dt.datetime, end: dt.datetime, *, tenant_id: int | None = None) -> list[TimedSlot]:
        """Each zone's days whose `at` falls after `start` and by `end`, in time order; each runs as of
        its own `at` instant."""
        due = []
        for zone in sorted(set(self.zones(tenant_id))):
            where = zoneinfo.ZoneInfo(zone)
            day, last = start.astimezone(where).date(), end.astimezone(where).date()
            while day <= last:
                at = dt.datetime.combine(day, self.at, tzinfo=where).astimezone(dt.UTC)
                if start < at <= end:
                    iso = day.isoformat()
                    due.append((at, f"{zone}/{iso}", {"now": _instant(at), "zone": zone, "day": iso}))
                day += dt.timedelta(days=1)
        return sorted(due, key=lambda slot: (slot[0], slot[1]))
