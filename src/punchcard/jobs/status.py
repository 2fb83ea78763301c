"""What the queue holds: counts by state and the latest work, for `punchcard jobs`."""

from __future__ import annotations

from django.db.models import Count
from django_tasks_db.models import DBTaskResult

STATES = ("READY", "RUNNING", "FAILED", "SUCCESSFUL")
LABELS = {"READY": "queued", "RUNNING": "running", "FAILED": "failed", "SUCCESSFUL": "done"}


def counts() -> dict[str, int]:
    found = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {LABELS[state]: found.get(state, 0) for state in STATES}


def recent(*, states: tuple[str, ...] = ("READY", "RUNNING", "FAILED"), limit: int = 50) -> list[dict]:
    rows = (
        DBTaskResult.objects.filter(status__in=states)
        .order_by("-enqueued_at")
        .values("id", "task_path", "status", "enqueued_at", "started_at", "finished_at", "run_after")[:limit]
    )
    return [{**row, "state": LABELS[row["status"]], "task": row["task_path"].rsplit(".", 1)[-1]} for row in rows]
