"""A rejected appointment event applied again, once its cause is fixed (the patient registered, the
package extended...), through the door it first came in by; the new attempt points at it."""

from __future__ import annotations

import datetime as dt

from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .events import ingest_event
from .fhir import ingest_fhir
from .models import AppointmentEvent, EventStatus

FHIR_VERSIONS = {"fhir-r4": "4.3", "fhir-r5": "5.0"}  # the source label → the version it was read as


def retry_event(*, tenant: Tenant, actor: Actor, event_id: int, now: dt.datetime | None = None) -> AppointmentEvent:
    """Apply a rejected event again (after the cause was fixed); the new attempt points at it."""
    actor.require(Perm.REDEEM)
    event = scoped_get(AppointmentEvent, tenant=tenant, pk=event_id, field="event_id")
    if event.status != EventStatus.REJECTED:
        raise InvalidInput(f"event {event.id} was {event.status}; only rejected events are retried", field="event_id")
    if event.source == "json":
        return ingest_event(tenant=tenant, actor=actor, payload=event.payload, now=now, retry_of=event)
    return ingest_fhir(
        tenant=tenant,
        actor=actor,
        resource=event.payload,
        fhir_version=FHIR_VERSIONS.get(event.source),
        now=now,
        retry_of=event,
    )
