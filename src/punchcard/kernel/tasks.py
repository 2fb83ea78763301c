"""The kernel's periodic work: forget stored idempotent responses past their retention (hourly)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from punchcard.jobs import scope

from .idempotency import purge_expired


@task()
def purge_idempotency_records(*, now: str, tenant_id: int | None = None, **_slot) -> int:
    return purge_expired(now=dt.datetime.fromisoformat(now), tenant_ids=scope.tenant_ids(tenant_id))
