"""The registry of periodic work: each app registers its jobs in its AppConfig.ready.

    registry.register("expiry-sweep", tasks.expiry_sweep, DailyAt(dt.time(0, 5), zones=centre_zones))

A job's task is a django-tasks Task taking the slot's keyword arguments (`now`, an ISO instant, and for
daily jobs `zone` and `day`). Memberships' renewals will be one more registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str
    task: Any  # a django_tasks Task
    schedule: Any  # schedules.Every | schedules.DailyAt: anything with slots(now)


_jobs: dict[str, Job] = {}


def register(name: str, task, schedule) -> None:
    """Register (or re-register, harmlessly) the job `name`."""
    _jobs[name] = Job(name=name, task=task, schedule=schedule)


def jobs() -> list[Job]:
    return [_jobs[name] for name in sorted(_jobs)]
