"""The reports' periodic work: fold the ledgers' new rows into the summaries (every five minutes)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from .summaries import fold_summaries


@task()
def report_summaries(*, now: str, **_slot) -> dict[str, int]:
    return fold_summaries(now=dt.datetime.fromisoformat(now))
