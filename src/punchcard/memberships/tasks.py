"""Memberships' periodic work for the job queue, daily at 00:05 in every centre's zone (each membership
on its own centre's day): billing and dunning, then recognition through the day before, then notices.

Each task takes an optional `tenant_id`: given, only that tenant is handled (a sandbox tenant's own
clock calls them that way); not given, every tenant on real time (`tenants_for_job`).
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from punchcard.tenancy.selectors import tenants_for_job

from . import services
from .services.charging import charge_invoice

DAILY_AT = dt.time(0, 5)

__all__ = [
    "DAILY_AT",
    "charge_invoice",
    "membership_billing",
    "membership_notices",
    "membership_recognition",
]


@task()
def membership_billing(*, now: str, zone: str = "", day: str = "", tenant_id: int | None = None) -> dict:
    """Start scheduled memberships, bill the periods that have begun, charge and retry (SPEC §10.2)."""
    at = dt.datetime.fromisoformat(now)
    done = {"billed": 0, "charged": 0}
    for tenant in tenants_for_job(tenant_id):
        for key, count in services.run_billing(now=at, tenant_id=tenant.id).items():
            done[key] += count
    return done


@task()
def membership_recognition(*, now: str, zone: str = "", day: str = "", tenant_id: int | None = None) -> int:
    """Revenue of paid periods through the day before the slot's day (days that have fully passed)."""
    instant = dt.datetime.fromisoformat(now)
    through = (dt.date.fromisoformat(day) if day else instant.date()) - dt.timedelta(days=1)
    return sum(services.recognise(as_of=through, tenant_id=t.id, now=instant) for t in tenants_for_job(tenant_id))


@task()
def membership_notices(*, now: str, zone: str = "", day: str = "", tenant_id: int | None = None) -> int:
    """Renewal upcoming (14 days before) and trial will end (3 days before)."""
    at = dt.datetime.fromisoformat(now)
    return sum(services.tell_due_notices(now=at, tenant_id=t.id) for t in tenants_for_job(tenant_id))
