"""The notifications' work for the job queue (django-tasks): deliver webhooks, send emails."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from punchcard import clock

from . import delivery
from .emails import sends

FOLLOW_UP = dt.timedelta(seconds=60)  # later retries are picked up by the once-a-minute tick


@task()
def deliver_webhooks(**_slot) -> int:
    """Send every due webhook delivery; if a retry comes due within the minute, run again then."""
    attempts = delivery.deliver_due()
    due = delivery.next_due()
    now = clock.now()
    if due is not None and now < due <= now + FOLLOW_UP:
        deliver_webhooks.using(run_after=clock.wall() + (due - now)).enqueue()
    return attempts


@task()
def send_event_emails(*, event_id: str) -> str:
    return sends.send_for_event(event_id)


@task()
def outbox_delivery(**_slot) -> int:
    """The tick's safety net: whatever is due (a retry, work a crashed worker left) is sent."""
    attempts = delivery.deliver_due()
    sends.retry_unsent()
    return attempts
