"""Webhook delivery (Standard Webhooks): at least once, in event order per endpoint, never lost.

A worker claims the oldest pending delivery of an endpoint (nothing older pending for it) by taking a
lease with a conditional update, so two workers never send the same attempt; sends it outside any
transaction, signed with the endpoint's secret (and the previous one during a rotation); then records
the attempt. A worker that dies between sending and recording leaves the lease to run out: the delivery
is sent again, never lost. 2xx is delivered; 410 disables the endpoint; anything else (or no answer in
PUNCHCARD_WEBHOOK_TIMEOUT seconds) is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h,
24 h, then failed.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from punchcard import clock
from punchcard.domain.errors import InvalidInput
from punchcard.kernel.signing import sign

from . import wire
from .models import Attempt, Delivery, DeliveryState, WebhookEndpoint
from .targets import check_url

BACKOFF = tuple(
    dt.timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
)  # after attempt 1, 2, …; after the 10th failed attempt the delivery has failed
USER_AGENT = "Punchcard-Webhooks/1"


def timeout() -> float:
    return settings.WEBHOOK_TIMEOUT


def lease() -> dt.timedelta:
    """How long a claimed delivery is a worker's: past the timeout, with room to record the outcome."""
    return dt.timedelta(seconds=2 * timeout() + 1)


def _claimable(now: dt.datetime, tenants=None):
    older = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"), state=DeliveryState.PENDING, event_id__lt=OuterRef("event_id")
    )
    due = (
        Delivery.objects.filter(
            state=DeliveryState.PENDING,
            endpoint__disabled_at__isnull=True,
            endpoint__deleted_at__isnull=True,
            next_attempt_at__lte=now,
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .exclude(Exists(older))
        .order_by("event_id", "id")
    )
    return due if tenants is None else due.filter(tenant__in=tenants)


def claim(now: dt.datetime, tenants=None) -> tuple[Delivery, str] | None:
    """Take the lease on one due delivery (of `tenants`, a queryset, or anyone's), or None if none is free."""
    for delivery_id in list(_claimable(now, tenants).values_list("id", flat=True)[:20]):
        token = uuid.uuid4().hex
        won = (
            Delivery.objects.filter(id=delivery_id, state=DeliveryState.PENDING)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .update(lease_until=now + lease(), lease_token=token)
        )
        if won:
            return Delivery.objects.select_related("endpoint", "event", "tenant").get(id=delivery_id), token
    return None


def signature(endpoint: WebhookEndpoint, *, msg_id: str, at: dt.datetime, body: str, now: dt.datetime) -> str:
    """`v1,<base64>` with the current secret, and the previous one alongside while a rotation overlaps."""
    signatures = [sign(endpoint.secret, msg_id=msg_id, at=at, body=body)]
    if endpoint.previous_secret and endpoint.previous_until and endpoint.previous_until > now:
        signatures.append(sign(endpoint.previous_secret, msg_id=msg_id, at=at, body=body))
    return " ".join(signatures)


def send(delivery: Delivery, now: dt.datetime) -> tuple[int | None, str, int]:
    """POST the event. Returns (status code or None, error, duration in ms). Never inside a transaction."""
    endpoint, body = delivery.endpoint, wire.body(delivery.event)
    sent_at = clock.wall()  # the receiver checks this against its own clock
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.event.event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature(endpoint, msg_id=delivery.event.event_id, at=sent_at, body=body, now=now),
    }
    started = time.monotonic()
    try:
        check_url(endpoint.url, tenant=delivery.tenant)
        response = requests.post(
            endpoint.url, data=body.encode(), headers=headers, timeout=timeout(), allow_redirects=False
        )
        code, error = response.status_code, ""
        response.close()
    except InvalidInput as exc:
        code, error = None, f"refused: {exc.message}"
    except requests.Timeout:
        code, error = None, f"no answer within {timeout():g} s"
    except requests.RequestException as exc:
        code, error = None, f"{type(exc).__name__}: {exc}"[:500]
    return code, error, int((time.monotonic() - started) * 1000)


@transaction.atomic
def record(delivery: Delivery, token: str, *, code: int | None, error: str, duration_ms: int, now: dt.datetime):
    """The attempt's outcome. If the lease was lost meanwhile (it ran out and another worker took the
    delivery), the attempt is logged but the delivery is left to its new owner."""
    current = Delivery.objects.select_for_update(no_key=True).get(id=delivery.id)
    owned = current.lease_token == token and current.state == DeliveryState.PENDING
    number = current.attempts + 1
    next_retry = None
    if code is not None and 200 <= code < 300:
        outcome = "delivered"
    elif code == 410:
        outcome = "disabled"
    elif number > len(BACKOFF):
        outcome = "failed"
    else:
        outcome = "retry"
        next_retry = now + BACKOFF[number - 1]
    Attempt.objects.create(
        tenant_id=current.tenant_id,
        delivery=current,
        number=number,
        at=now,
        duration_ms=duration_ms,
        status_code=code,
        outcome=outcome,
        error=error[:500],
        next_retry_at=next_retry if owned else None,
    )
    if not owned:
        return outcome
    current.attempts, current.last_status_code = number, code
    current.lease_until, current.lease_token = None, ""
    if outcome == "delivered":
        current.state, current.delivered_at = DeliveryState.DELIVERED, now
    elif outcome in {"disabled", "failed"}:
        current.state = DeliveryState.FAILED
    else:
        current.next_attempt_at = next_retry
    current.save()
    if outcome == "disabled":
        WebhookEndpoint.objects.filter(id=current.endpoint_id, disabled_at=None).update(
            disabled_at=now, disabled_reason="the endpoint answered 410 Gone"
        )
    return outcome


def deliver_due(*, limit: int = 200, tenants=None) -> int:
    """Send due deliveries (of `tenants`, a queryset, or anyone's) until none is free (or `limit` were
    attempted). Returns attempts made."""
    attempts = 0
    while attempts < limit:
        now = clock.now()
        claimed = claim(now, tenants)
        if claimed is None:
            break
        delivery, token = claimed
        code, error, duration = send(delivery, now)
        record(delivery, token, code=code, error=error, duration_ms=duration, now=clock.now())
        attempts += 1
    return attempts


def next_due(*, tenants=None) -> dt.datetime | None:
    """When the next pending delivery (of `tenants`, or anyone's) comes due (for scheduling the next run)."""
    pending = Delivery.objects.filter(state=DeliveryState.PENDING, endpoint__disabled_at__isnull=True)
    if tenants is not None:
        pending = pending.filter(tenant__in=tenants)
    row = pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    return row
