"""The outbox: every domain event becomes a row in the transaction of its change (a RECORDED listener),
and so does one delivery per webhook endpoint that wants it, and the work that will send them (a
django-tasks row): the change, its event and the promise to deliver it commit or roll back together.

When the service writes in one statement (db.batched: packages' redemptions and holds on PostgreSQL),
the event's row and the read of the tenant's endpoints join that statement; deliveries and the task are
written after it only when an endpoint wants the event."""

from __future__ import annotations

from punchcard import db, events

from . import tasks
from .event_types import EMAILABLE, ON_REQUEST, emailed
from .models import Delivery, OutboxEvent, WebhookEndpoint


def _row(event: events.Event) -> dict:
    return {
        "event_id": event.id,
        "tenant_id": event.tenant_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "version": event.version,
        "payload": event.payload,
    }


def write(event: events.Event) -> None:
    """RECORDED listener on every event (in the recording transaction)."""
    batch = db.open_batch()
    if batch is not None:
        _join(batch, event)
        return
    row = OutboxEvent.objects.create(**_row(event))
    # A disabled endpoint still queues: re-enabled, it gets what it missed, in order.
    _fan_out(event, row.id, list(WebhookEndpoint.objects.filter(tenant_id=event.tenant_id, deleted_at=None)))


def _join(batch: db.Batch, event: events.Event) -> None:
    name = batch.unique("outbox")
    sql, params = db.insert_sql(OutboxEvent, [_row(event)])
    batch.add(name, sql, params)
    endpoints = f"{name}_endpoints"
    batch.add(
        endpoints,
        f"SELECT id, event_types FROM {WebhookEndpoint._meta.db_table} WHERE tenant_id = %s::bigint "
        "AND deleted_at IS NULL",
        [event.tenant_id],
        then=lambda results: _fan_out(
            event,
            results[name][0]["id"],
            [WebhookEndpoint(id=e["id"], event_types=e["event_types"]) for e in results[endpoints]],
        ),
    )


def _fan_out(event: events.Event, row_id: int, endpoints: list[WebhookEndpoint]) -> None:
    wanted = [e for e in endpoints if e.wants(event.type)]
    if wanted:
        Delivery.objects.bulk_create(
            [
                Delivery(
                    tenant_id=event.tenant_id, endpoint_id=e.id, event_id=row_id, next_attempt_at=event.occurred_at
                )
                for e in wanted
            ]
        )
        tasks.deliver_webhooks.enqueue(tenant_id=event.tenant_id)
    if (event.type in EMAILABLE or event.type in ON_REQUEST) and emailed(event.type, event.tenant_id):
        tasks.send_event_emails.enqueue(event_id=event.id, tenant_id=event.tenant_id)
