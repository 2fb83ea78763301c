"""HTTP routes of notifications (SPEC §12): the events feed, webhook endpoints and their deliveries,
patients' email preferences and the tenant's reminder settings. Mounted by punchcard.api."""

from __future__ import annotations

from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.errors import NotFound
from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE, errors
from punchcard.kernel.schemas import Id, Page, PageParams
from punchcard.tenancy.models import Patient
from punchcard.tenancy.selectors import scoped_get

from . import selectors, services, wire
from .models import OutboxEvent, WebhookEndpoint
from .schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    EventFilters,
    EventOut,
    EventPage,
    PreferencesIn,
    PreferencesOut,
    ReceiptEmailOut,
    ReminderSettingsIn,
    ReminderSettingsOut,
)
from .services.preferences import preferences_of, reminder_settings

router = Router(tags=["events and webhooks"])


@router.get("/events", response={200: EventPage, **READ})
def list_events(request, filters: Query[EventFilters]):
    """Every event of the tenant in the order it happened (newest last), after `after`: poll with the
    returned `next_cursor` to catch up without webhooks."""
    p = caller(request, Perm.READ)
    rows, cursor = selectors.events_after(p.tenant, type=filters.type, after=filters.after, limit=filters.limit)
    return EventPage(items=[EventOut(**wire.as_json(r)) for r in rows], next_cursor=cursor)


@router.get("/events/{event_id}", response={200: EventOut, **READ})
def get_event(request, event_id: str):
    p = caller(request, Perm.READ)
    row = OutboxEvent.objects.filter(tenant=p.tenant, event_id=event_id).first()
    if row is None:
        raise NotFound(f"no event {event_id}", field="event_id")
    return EventOut(**wire.as_json(row))


def _endpoint(p, endpoint_id: int) -> WebhookEndpoint:
    return scoped_get(
        WebhookEndpoint,
        tenant=p.tenant,
        pk=endpoint_id,
        field="endpoint_id",
        queryset=WebhookEndpoint.objects.filter(deleted_at=None),
    )


def _with_secret(endpoint) -> EndpointWithSecret:
    return EndpointWithSecret(**EndpointOut.of(endpoint).model_dump(), secret=endpoint.secret)


@router.post("/webhook-endpoints", response={201: EndpointWithSecret, **WRITE})
def create_endpoint(request, payload: EndpointIn):
    """Register an endpoint for some event types (`["*"]`: all). The response carries its `secret`, once."""
    p = caller(request)
    endpoint = services.create_endpoint(
        tenant=p.tenant,
        actor=p.actor,
        url=payload.url,
        event_types=payload.event_types,
        description=payload.description,
    )
    return Status(201, _with_secret(endpoint))


@router.get("/webhook-endpoints", response={200: Page[EndpointOut], **READ})
def list_endpoints(request, params: Query[PageParams]):
    p = caller(request, Perm.ADMIN)
    page = paginate(
        WebhookEndpoint.objects.filter(tenant=p.tenant, deleted_at=None), cursor=params.cursor, limit=params.limit
    )
    return Page[EndpointOut](items=[EndpointOut.of(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/webhook-endpoints/{endpoint_id}", response={200: EndpointOut, **READ})
def get_endpoint(request, endpoint_id: Id):
    p = caller(request, Perm.ADMIN)
    return EndpointOut.of(_endpoint(p, endpoint_id))


@router.patch("/webhook-endpoints/{endpoint_id}", response={200: EndpointOut, **WRITE})
def update_endpoint(request, endpoint_id: Id, payload: EndpointPatch):
    """Change the URL, event types or description; `enabled: true` re-enables a disabled endpoint."""
    p = caller(request)
    endpoint = services.update_endpoint(
        tenant=p.tenant, actor=p.actor, endpoint_id=endpoint_id, **payload.model_dump(exclude_unset=True)
    )
    return EndpointOut.of(endpoint)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", response={200: EndpointWithSecret, **WRITE})
def rotate_secret(request, endpoint_id: Id):
    """A new secret (shown once); for 24 hours deliveries carry signatures with the old one too."""
    p = caller(request)
    return _with_secret(services.rotate_secret(tenant=p.tenant, actor=p.actor, endpoint_id=endpoint_id))


@router.delete("/webhook-endpoints/{endpoint_id}", response={204: None, **WRITE})
def delete_endpoint(request, endpoint_id: Id):
    p = caller(request)
    services.delete_endpoint(tenant=p.tenant, actor=p.actor, endpoint_id=endpoint_id)
    return Status(204, None)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", response={200: Page[AttemptOut], **READ})
def list_deliveries(request, endpoint_id: Id, params: Query[PageParams]):
    """Every attempt, newest first: outcome, response code, duration, next retry."""
    p = caller(request, Perm.ADMIN)
    endpoint = _endpoint(p, endpoint_id)
    page = paginate(selectors.attempts_of(endpoint), cursor=params.cursor, limit=params.limit)
    return Page[AttemptOut](
        items=[
            AttemptOut(
                id=a.id,
                delivery_id=a.delivery_id,
                event_id=a.delivery.event.event_id,
                event_type=a.delivery.event.type,
                number=a.number,
                at=a.at,
                outcome=a.outcome,
                status_code=a.status_code,
                duration_ms=a.duration_ms,
                error=a.error,
                next_retry_at=a.next_retry_at,
                delivery_state=a.delivery.state,
            )
            for a in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.post("/deliveries/{delivery_id}/replay", response={202: DeliveryOut, **WRITE})
def replay_delivery(request, delivery_id: Id):
    """Send a delivery again now (its retry schedule starts over)."""
    p = caller(request)
    d = services.replay_delivery(tenant=p.tenant, actor=p.actor, delivery_id=delivery_id)
    return Status(
        202,
        DeliveryOut(
            id=d.id,
            endpoint_id=d.endpoint_id,
            event_id=d.event.event_id,
            state=d.state,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
        ),
    )


@router.post("/patients/{patient_id}/notification-preferences", response={200: PreferencesOut, **WRITE})
def set_preferences(request, patient_id: Id, payload: PreferencesIn):
    """Opt a patient in or out of email per category: `reminders` (expiring soon, low balance), `receipts`,
    `billing` (a membership renewal coming, a failed membership payment)."""
    p = caller(request)
    choices = services.set_notification_preferences(
        tenant=p.tenant, actor=p.actor, patient_id=patient_id, choices=payload.model_dump(exclude_none=True)
    )
    return PreferencesOut(patient_id=patient_id, **choices)


@router.get("/patients/{patient_id}/notification-preferences", response={200: PreferencesOut, **READ})
def get_preferences(request, patient_id: Id):
    p = caller(request, Perm.READ)
    patient = scoped_get(Patient, tenant=p.tenant, pk=patient_id, field="patient_id")
    return PreferencesOut(patient_id=patient.id, **preferences_of(patient))


@router.get("/reminder-settings", response={200: ReminderSettingsOut, **errors(401, 403)})
def get_reminder_settings(request):
    p = caller(request, Perm.READ)
    return ReminderSettingsOut(**reminder_settings(p.tenant))


@router.put("/reminder-settings", response={200: ReminderSettingsOut, **WRITE})
def put_reminder_settings(request, payload: ReminderSettingsIn):
    """Days before expiry for `package.expiring_soon`, the `package.low_balance` threshold, which events
    email patients (`package.expiring_soon`, `package.low_balance`, `package.sold` for a receipt)."""
    p = caller(request)
    return ReminderSettingsOut(
        **services.set_reminder_settings(tenant=p.tenant, actor=p.actor, **payload.model_dump(exclude_none=True))
    )


@router.post("/receipts/{receipt_id}/email", response={202: ReceiptEmailOut, **WRITE})
def email_receipt(request, receipt_id: Id):
    """Email the receipt (HTML, with the PDF attached) to the patient named on it, whatever their choice
    for automatic receipts: they asked for it."""
    p = caller(request)
    event = services.email_receipt(tenant=p.tenant, actor=p.actor, receipt_id=receipt_id)
    return Status(
        202, ReceiptEmailOut(event_id=event.id, receipt_id=receipt_id, patient_id=event.payload["patient_id"])
    )
