"""The kernel's periodic work: forget stored idempotent responses past their retention (hourly)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from .idempotency import purge_expired


@task()
def purge_idempotency_records(*, now: str, **_slot) -> int:
    return purge_expired(now=dt.datetime.fromisoformat(now))
