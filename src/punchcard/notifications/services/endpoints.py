"""Webhook endpoints: register, change, rotate the secret, delete; replay a delivery by hand."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.kernel.signing import new_secret
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from .. import tasks
from ..event_types import EVENT_TYPES
from ..models import Delivery, DeliveryState, WebhookEndpoint
from ..targets import check_url

ROTATION_OVERLAP = dt.timedelta(hours=24)  # the old secret still signs for this long after a rotation
MAX_EVENT_TYPES = 50


def _event_types(value) -> list[str]:
    if not isinstance(value, list | tuple) or not value or len(value) > MAX_EVENT_TYPES:
        raise InvalidInput("event_types must list 1 to 50 event types (or ['*'])", field="event_types")
    unknown = [t for t in value if t != "*" and t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown event type {unknown[0]!r}", field="event_types")
    return sorted(set(value))


def _endpoint(tenant: Tenant, endpoint_id, *, lock: bool = False) -> WebhookEndpoint:
    queryset = WebhookEndpoint.objects.filter(deleted_at=None)
    if lock:
        queryset = queryset.select_for_update(no_key=True)
    return scoped_get(WebhookEndpoint, tenant=tenant, pk=endpoint_id, field="endpoint_id", queryset=queryset)


@transaction.atomic
def create_endpoint(
    *,
    tenant: Tenant,
    actor: Actor,
    url: str,
    event_types: list[str],
    description: str = "",
    now: dt.datetime | None = None,
) -> WebhookEndpoint:
    """A new endpoint with a fresh `whsec_…` secret (returned once, by this call's caller)."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=check_url(url, tenant=tenant, resolve=False),
        event_types=_event_types(event_types),
        description=validation.text(description, "description", max_length=500, required=False),
        secret=new_secret(),
        created_at=now,
    )
    audit(tenant=tenant, actor=actor, action="webhook.create", subject=endpoint, now=now, data={"url": endpoint.url})
    return endpoint


@transaction.atomic
def update_endpoint(
    *,
    tenant: Tenant,
    actor: Actor,
    endpoint_id: int,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    now: dt.datetime | None = None,
) -> WebhookEndpoint:
    """Change what was given; `enabled: true` re-enables an endpoint a 410 disabled."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    endpoint = _endpoint(tenant, endpoint_id, lock=True)
    if url is not None:
        endpoint.url = check_url(url, tenant=tenant, resolve=False)
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if description is not None:
        endpoint.description = validation.text(description, "description", max_length=500, required=False)
    if enabled is True:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    elif enabled is False and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = now, f"disabled by {actor.label}"
    endpoint.save()
    audit(tenant=tenant, actor=actor, action="webhook.update", subject=endpoint, now=now, data={"url": endpoint.url})
    return endpoint


@transaction.atomic
def rotate_secret(*, tenant: Tenant, actor: Actor, endpoint_id: int, now: dt.datetime | None = None):
    """A new secret; for 24 hours every delivery carries signatures with both the old and the new."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    endpoint = _endpoint(tenant, endpoint_id, lock=True)
    endpoint.previous_secret, endpoint.previous_until = endpoint.secret, now + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_until"])
    audit(tenant=tenant, actor=actor, action="webhook.rotate_secret", subject=endpoint, now=now)
    return endpoint


@transaction.atomic
def delete_endpoint(*, tenant: Tenant, actor: Actor, endpoint_id: int, now: dt.datetime | None = None) -> None:
    """No more deliveries; its attempts stay in the log."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    endpoint = _endpoint(tenant, endpoint_id, lock=True)
    endpoint.deleted_at = now
    endpoint.save(update_fields=["deleted_at"])
    audit(tenant=tenant, actor=actor, action="webhook.delete", subject=endpoint, now=now)


@transaction.atomic
def replay_delivery(*, tenant: Tenant, actor: Actor, delivery_id: int, now: dt.datetime | None = None) -> Delivery:
    """Send a delivery again, now, whatever became of it (the retry schedule starts over)."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    delivery = scoped_get(
        Delivery,
        tenant=tenant,
        pk=delivery_id,
        field="delivery_id",
        queryset=Delivery.objects.select_for_update(no_key=True, of=("self",)).select_related("endpoint"),
    )
    if delivery.endpoint.deleted_at is not None or delivery.endpoint.disabled_at is not None:
        raise Conflict("the endpoint is disabled; re-enable it to replay", code="endpoint_disabled")
    delivery.state, delivery.attempts, delivery.next_attempt_at = DeliveryState.PENDING, 0, now
    delivery.lease_until, delivery.lease_token = None, ""
    delivery.save(update_fields=["state", "attempts", "next_attempt_at", "lease_until", "lease_token"])
    audit(tenant=tenant, actor=actor, action="webhook.replay", subject=delivery, now=now)
    tasks.deliver_webhooks.enqueue(tenant_id=tenant.id)
    return delivery
