"""`tick`: enqueue what is due, exactly once however often or wherever it runs.

Each due slot is claimed by inserting its `Due` row; the unique (job, slot) constraint lets exactly one
of any number of concurrent ticks insert it, and the task is enqueued in the same transaction (the
django-tasks-db backend writes its row there too), so a slot is either claimed and enqueued or neither.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from punchcard import clock

from . import registry
from .models import Due


def tick(*, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """Enqueue every job's due slots not enqueued before. Returns the (job, slot) pairs enqueued now."""
    now = now or clock.now()
    enqueued = []
    for job in registry.jobs():
        for slot, kwargs in job.schedule.slots(now):
            if Due.objects.filter(job=job.name, slot=slot).exists():
                continue
            try:
                with transaction.atomic():
                    due = Due.objects.create(job=job.name, slot=slot, enqueued_at=now, task_id="")
                    result = job.task.enqueue(**kwargs)
                    due.task_id = str(result.id)
                    due.save(update_fields=["task_id"])
            except IntegrityError:
                continue  # another tick claimed this slot first
            enqueued.append((job.name, slot))
    return enqueued


def forget_before(*, before: dt.datetime) -> int:
    """Drop claims older than `before` (their slots can no longer come due again)."""
    deleted, _ = Due.objects.filter(enqueued_at__lt=before).delete()
    return deleted
