"""When a job is due: a schedule turns an instant into the due slots it covers, each a key and the
arguments its task gets. A slot is enqueued once, ever (jobs.models.Due)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Slot = tuple[str, dict[str, Any]]


def _instant(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class Every:
    """Every `minutes` minutes, aligned on the UTC clock: the slot is the start of the period."""

    minutes: int = 1

    def slots(self, now: dt.datetime) -> list[Slot]:
        period = self.minutes * 60
        utc = now.astimezone(dt.UTC)
        start = dt.datetime.fromtimestamp(int(utc.timestamp()) // period * period, dt.UTC)
        return [(start.strftime("%Y-%m-%dT%H:%MZ"), {"now": _instant(now)})]


@dataclass(frozen=True)
class DailyAt:
    """Once a local day, at `at` local time, in each zone `zones()` names (e.g. every centre's zone):
    "today" is each zone's own. A tick after `at` on a zone's day enqueues that zone's day once."""

    at: dt.time
    zones: Callable[[], Iterable[str]] = lambda: ["UTC"]

    def slots(self, now: dt.datetime) -> list[Slot]:
        due = []
        for zone in sorted(set(self.zones())):
            local = now.astimezone(zoneinfo.ZoneInfo(zone))
            if local.time() >= self.at:
                day = local.date().isoformat()
                due.append((f"{zone}/{day}", {"now": _instant(now), "zone": zone, "day": day}))
        return due
