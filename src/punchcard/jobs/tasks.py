"""The queue's own housekeeping (daily): forget old due-slot claims and finished task results."""

from __future__ import annotations

import datetime as dt

from django_tasks import task
from django_tasks_db.models import DBTaskResult

from .tick import forget_before

KEEP = dt.timedelta(days=7)


@task()
def housekeeping(*, now: str, tenant_id: int | None = None, **_slot) -> int:
    """The queue's own rows belong to no tenant: a run for one tenant has nothing to do."""
    if tenant_id is not None:
        return 0
    before = dt.datetime.fromisoformat(now) - KEEP
    forgotten = forget_before(before=before)
    pruned, _ = DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=before).delete()
    return forgotten + pruned
