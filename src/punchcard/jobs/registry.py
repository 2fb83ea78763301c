"""The registry of periodic work: each app registers its jobs in its AppConfig.ready.

    registry.register("expiry-sweep", tasks.expiry_sweep, DailyAt(dt.time(0, 5), zones=centre_zones_for_job))

A job's task is a django-tasks Task taking the slot's keyword arguments (`now`, an ISO instant, and for
daily jobs `zone` and `day`) and an optional `tenant_id`: without it the run works for every tenant on
real time, with it for that tenant alone (`tenancy.selectors.tenants_for_job` says which, and how a task
uses it). A daily job's `zones` callable takes that tenant id too (None: every tenant). A sandbox's test
clock runs each job for its tenant as of each slot (tenancy.testclock); a job that holds no tenant's data
(the queue's housekeeping) registers with `per_tenant=False` and is left out of that.

A task returns what it did: a count, or counts by kind (membership billing: periods billed, invoices
charged); `counted` reads either as one number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str
    task: Any  # a django_tasks Task
    schedule: Any  # schedules.Every | schedules.DailyAt: anything with slots(now) and between(start, end)
    per_tenant: bool = True


_jobs: dict[str, Job] = {}


def register(name: str, task, schedule, *, per_tenant: bool = True) -> None:
    """Register (or re-register, harmlessly) the job `name`."""
    _jobs[name] = Job(name=name, task=task, schedule=schedule, per_tenant=per_tenant)


def counted(result: int | dict[str, int] | None) -> int:
    """A task's result as one count: the count itself, or the sum of counts by kind."""
    if isinstance(result, dict):
        return sum(result.values())
    return int(result or 0)


def jobs() -> list[Job]:
    return [_jobs[name] for name in sorted(_jobs)]
