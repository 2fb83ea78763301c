"""Packages' periodic work for the job queue: the expiry sweep and the daily reminders, each once a day
at 00:05 in every centre's zone ("today" is each centre's own)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from punchcard.tenancy.models import Centre

from . import services

DAILY_AT = dt.time(0, 5)


def centre_zones() -> list[str]:
    return list(Centre.objects.values_list("timezone", flat=True).distinct())


@task()
def expiry_sweep(*, now: str, zone: str = "", day: str = "") -> int:
    """Every package past its last usable day at its own centre, as of the slot's instant."""
    return services.expire_due_packages(now=dt.datetime.fromisoformat(now))


@task()
def reminders(*, now: str, zone: str = "", day: str = "") -> int:
    """package.activated for future starts that have come, package.expiring_soon per the tenant's days."""
    return services.tell_due_notices(now=dt.datetime.fromisoformat(now))
