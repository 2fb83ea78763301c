"""Send an event's email to its patient once: the send is recorded (unique per event and recipient)
before it leaves, outside any transaction; a send that died midway is retried when its lease runs out."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from punchcard import clock
from punchcard.tenancy.models import Patient

from ..event_types import EMAILABLE, ON_REQUEST
from ..models import EmailSend, EmailState, NotificationPreference, OutboxEvent
from . import render, transport

logger = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 5


def opted_out(patient: Patient, category: str) -> bool:
    return NotificationPreference.objects.filter(patient=patient, category=category, opted_out=True).exists()


def _claim(row: OutboxEvent, patient: Patient | None, recipient: str, category: str, now: dt.datetime):
    """The EmailSend to work on now, or None (sent, skipped, or being sent by someone else)."""
    skip = patient is None or not recipient or opted_out(patient, category)
    with transaction.atomic():
        try:
            with transaction.atomic():
                send = EmailSend.objects.create(
                    tenant_id=row.tenant_id,
                    event=row,
                    recipient=recipient,
                    patient=patient,
                    category=category,
                    state=EmailState.SKIPPED if skip else EmailState.SENDING,
                    attempts=0 if skip else 1,
                    lease_until=None if skip else now + LEASE,
                )
            return None if skip else send
        except IntegrityError:
            pass
        send = EmailSend.objects.select_for_update(no_key=True).get(event=row, recipient=recipient)
        if send.state != EmailState.SENDING or (send.lease_until and send.lease_until > now):
            return None
        if send.attempts >= MAX_ATTEMPTS:
            send.state = EmailState.FAILED
            send.save(update_fields=["state"])
            return None
        send.attempts += 1
        send.lease_until = now + LEASE
        send.save(update_fields=["attempts", "lease_until"])
        return send


def send_for_event(event_id: str) -> str:
    """Email the event's patient if the tenant emails this event and the patient has not opted out."""
    if connection.in_atomic_block:
        raise RuntimeError("email is never sent from inside a transaction")
    row = OutboxEvent.objects.select_related("tenant").get(event_id=event_id)
    category = EMAILABLE.get(row.type) or ON_REQUEST.get(row.type)
    if category is None:
        return "not an emailed event"
    patient = Patient.objects.filter(tenant_id=row.tenant_id, id=row.payload.get("patient_id")).first()
    recipient = (patient.email if patient else "").strip().lower()
    send = _claim(row, patient, recipient, category, clock.now())
    if send is None:
        return "nothing to send"
    try:
        email = render.render(row, tenant=row.tenant, patient=patient)
        where = transport.deliver(
            render.message(email, to=recipient, name=patient.name, tenant=row.tenant, event_id=row.event_id),
            name=f"{row.event_id}-{send.id}",
        )
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        EmailSend.objects.filter(id=send.id).update(error=f"{type(exc).__name__}: {exc}"[:500], lease_until=clock.now())
        logger.warning("email for %s to %s failed: %s", row.event_id, recipient, exc)
        return "failed"
    EmailSend.objects.filter(id=send.id).update(
        state=EmailState.SENT, sent_at=clock.now(), subject=email.subject[:300], lease_until=None, error=""
    )
    return f"sent to {where}"


def retry_unsent(*, now: dt.datetime | None = None, tenants=None) -> int:
    """Sends left midway (a crash, an SMTP error) whose lease ran out (of `tenants`, or anyone's): try them again."""
    now = now or clock.now()
    stuck = EmailSend.objects.filter(state=EmailState.SENDING).filter(Q(lease_until__lte=now) | Q(lease_until=None))
    if tenants is not None:
        stuck = stuck.filter(tenant__in=tenants)
    event_ids = list(stuck.values_list("event__event_id", flat=True).distinct()[:100])
    for event_id in event_ids:
        send_for_event(event_id)
    return len(event_ids)
