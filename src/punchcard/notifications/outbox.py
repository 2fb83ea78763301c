"""The outbox: every domain event becomes a row in the transaction of its change (a RECORDED listener),
and so does one delivery per webhook endpoint that wants it, and the work that will send them (a
django-tasks row): the change, its event and the promise to deliver it commit or roll back together."""

from __future__ import annotations

from punchcard import events

from . import tasks
from .event_types import EMAILABLE, ON_REQUEST, emailed
from .models import Delivery, OutboxEvent, WebhookEndpoint


def write(event: events.Event) -> None:
    """RECORDED listener on every event (in the recording transaction)."""
    row = OutboxEvent.objects.create(
        event_id=event.id,
        tenant_id=event.tenant_id,
        type=event.type,
        occurred_at=event.occurred_at,
        version=event.version,
        payload=event.payload,
    )
    endpoints = [
        e
        # A disabled endpoint still queues: re-enabled, it gets what it missed, in order.
        for e in WebhookEndpoint.objects.filter(tenant_id=event.tenant_id, deleted_at=None)
        if e.wants(event.type)
    ]
    if endpoints:
        Delivery.objects.bulk_create(
            [
                Delivery(tenant_id=event.tenant_id, endpoint=e, event=row, next_attempt_at=event.occurred_at)
                for e in endpoints
            ]
        )
        tasks.deliver_webhooks.enqueue(tenant_id=event.tenant_id)
    if (event.type in EMAILABLE or event.type in ON_REQUEST) and emailed(event.type, event.tenant_id):
        tasks.send_event_emails.enqueue(event_id=event.id, tenant_id=event.tenant_id)
