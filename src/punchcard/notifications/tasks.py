"""The notifications' work for the job queue (django-tasks): deliver webhooks, send emails.

Work queued for one event names its tenant and runs as of that tenant's clock (a sandbox's test clock,
else real time): a sandbox's webhooks and email still go out at once, dated by its own clock; its retries
come due only as its clock advances. The once-a-minute `outbox_delivery` job works for the tenants on real
time, or, under a sandbox's advance, for that sandbox as of the step (tenancy.selectors.tenants_for_job).
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from punchcard import clock
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import own_clock, tenants_for_job

from . import delivery
from .emails import sends

FOLLOW_UP = dt.timedelta(seconds=60)  # later retries are picked up by the once-a-minute tick


def _clock_of(tenant_id: int | None) -> dt.datetime | None:
    tenant = Tenant.objects.filter(pk=tenant_id).first() if tenant_id is not None else None
    return own_clock(tenant) if tenant is not None else None


@task()
def deliver_webhooks(*, tenant_id: int | None = None, **_slot) -> int:
    """Send the tenant's due webhook deliveries (without a tenant: every tenant on real time's); if a retry
    comes due within the minute, run again then (not on a sandbox's clock: it moves only when advanced)."""
    own = _clock_of(tenant_id)
    with clock.tenant_time(own):
        tenants = tenants_for_job(tenant_id)
        attempts = delivery.deliver_due(tenants=tenants)
        due = delivery.next_due(tenants=tenants)
        now = clock.now()
    if own is None and due is not None and now < due <= now + FOLLOW_UP:
        deliver_webhooks.using(run_after=clock.wall() + (due - now)).enqueue(tenant_id=tenant_id)
    return attempts


@task()
def send_event_emails(*, event_id: str, tenant_id: int | None = None) -> str:
    with clock.tenant_time(_clock_of(tenant_id)):
        return sends.send_for_event(event_id)


@task()
def outbox_delivery(*, tenant_id: int | None = None, **_slot) -> int:
    """The tick's safety net: whatever is due (a retry, work a crashed worker left) is sent, as of the run."""
    tenants = tenants_for_job(tenant_id)
    attempts = delivery.deliver_due(tenants=tenants)
    sends.retry_unsent(tenants=tenants)
    return attempts
