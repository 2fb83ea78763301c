"""Appointment status events from the scheduling system drive the package (SPEC §5, auto-deduction).

Two doors, one path: `ingest_event` takes Punchcard's JSON, `appointments.fhir.ingest_fhir` a FHIR
Appointment resource (R4/R4B or R5). Both normalise to an `Incoming` and apply it:

    status (FHIR Appointment.status or ours)       → effect
    proposed, pending, booked, waitlist, rescheduled → booked: created with the pre-selected package held
    arrived, checked-in, fulfilled                  → arrived: the hold is posted (created first if unknown)
    noshow                                          → no-show with the tenant's default choice
    cancelled, entered-in-error                     → cancelled: the hold is released
    a changed start, end or centre on a booked one  → reschedule (re-checked; a refusal rejects the event)
    a changed practitioner                          → the pending hold follows (commission goes to them)
    a changed patient, beneficiary or service       → the hold is released and the package pre-selected again

Every event is stored (AppointmentEvent), whatever becomes of it:
- accepted: applied; `outcome` says what it did (or why it changed nothing, e.g. a booking event for an
  appointment already arrived — out-of-order delivery ends in the right state);
- duplicate: the same event (same dedupe key) was already applied; nothing changes;
- rejected: refused with a domain error (unknown_reference for an unknown patient, service, centre or
  practitioner; reschedule_refused; appointment_state...), kept with the error for review, and the
  error is raised to the caller with `event_id` in its context. `appointments.retry` applies it again later
  (e.g. once the patient exists); a redelivery of a rejected event is processed afresh.

Dedupe key: our JSON's `event_id` when given, else a SHA-256 of the canonical body; FHIR's
meta.versionId, else meta.lastUpdated, else a SHA-256 of the canonical resource. An event whose
`updated_at` (FHIR meta.lastUpdated) is older than the last one applied to the appointment is stale:
accepted and ignored.

Our JSON:
    {"event_id": "evt-81",                        optional; the dedupe key
     "external_id": "APT-1001",                   required: the scheduling system's appointment id
     "status": "booked",                          required: see the table above
     "patient": "P-1001",                         required: Patient.external_ref
     "beneficiary": "P-1002",                     optional: who attends, when not the patient
     "service": "physio",                         required: Service.code
     "centre": "bandra",                          Centre.code; optional when the tenant has one centre
     "start": "2026-03-10T10:00:00+05:30",        required, ISO 8601 with an offset
     "end": "2026-03-10T10:45:00+05:30",          optional
     "practitioner": 12,                          optional: StaffMember id ("12" or "Practitioner/12" too)
     "updated_at": "2026-03-01T09:00:00Z"}        optional: the scheduler's last-modified time
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DataError, IntegrityError, transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant

from . import references, services
from .models import Appointment, AppointmentEvent, AppointmentStatus, EventStatus
from .services.primitives import place_best_hold, release_live_hold, save_appointment

S = AppointmentStatus
STATUS_MAP: dict[str, str] = {
    "proposed": S.BOOKED,
    "pending": S.BOOKED,
    "booked": S.BOOKED,
    "waitlist": S.BOOKED,
    "rescheduled": S.BOOKED,
    "arrived": S.ARRIVED,
    "checked-in": S.ARRIVED,
    "fulfilled": S.ARRIVED,
    "noshow": S.NO_SHOW,
    "no-show": S.NO_SHOW,
    "no_show": S.NO_SHOW,
    "cancelled": S.CANCELLED,
    "entered-in-error": S.CANCELLED,
}
MAX_REF = 200


@dataclass(frozen=True)
class Incoming:
    """One event, normalised, before any reference is resolved."""

    source: str
    external_id: str
    status: str  # AppointmentStatus
    raw_status: str
    patient_ref: str
    service_codes: tuple[str, ...]
    centre_code: str | None
    start: dt.datetime
    end: dt.datetime | None
    practitioner_ref: str | None
    beneficiary_ref: str | None
    updated_at: dt.datetime | None
    dedupe_key: str


def normalise_status(value, field: str = "status") -> str:
    if not isinstance(value, str) or value.strip().lower() not in STATUS_MAP:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_MAP)}", field=field)
    return STATUS_MAP[value.strip().lower()]


def body_hash(body) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _text(payload: dict, name: str, *, required: bool = True) -> str | None:
    """A reference or id in the event: text (a number is taken as its digits); absent only if optional."""
    value = payload.get(name)
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return validation.text(value, name, max_length=MAX_REF)


def parse_json(payload) -> Incoming:
    if not isinstance(payload, dict):
        raise InvalidInput("an appointment event is a JSON object", field="body")
    start, end = services.checked_times(payload.get("start"), payload.get("end"))
    updated_at = validation.instant(payload.get("updated_at"), "updated_at", optional=True, parse=True)
    event_id = _text(payload, "event_id", required=False)
    return Incoming(
        source="json",
        external_id=_text(payload, "external_id"),
        status=normalise_status(payload.get("status")),
        raw_status=str(payload.get("status")),
        patient_ref=_text(payload, "patient"),
        service_codes=(_text(payload, "service"),),
        centre_code=_text(payload, "centre", required=False),
        start=start,
        end=end,
        practitioner_ref=_text(payload, "practitioner", required=False),
        beneficiary_ref=_text(payload, "beneficiary", required=False),
        updated_at=updated_at,
        dedupe_key=f"json:{event_id}" if event_id else f"json:sha256:{body_hash(payload)}",
    )


# ---------------------------------------------------------------- applying one event


def _rebook(appointment: Appointment, *, patient, beneficiary, service, actor: Actor, now: dt.datetime) -> str:
    """The scheduler changed who or what is booked: the hold goes, the package is pre-selected again."""
    release_live_hold(appointment, actor=actor, now=now, reason="appointment changed by the scheduling system")
    appointment.patient, appointment.beneficiary, appointment.service = patient, beneficiary, service
    appointment.package_id = None
    place_best_hold(appointment, actor=actor, now=now)
    save_appointment(appointment, now, "patient", "beneficiary", "service", "package")
    return "patient/service changed; " + (
        f"package {appointment.package_id} held" if appointment.package_id else "no package applies"
    )


def _apply(tenant: Tenant, actor: Actor, inc: Incoming, now: dt.datetime) -> tuple[Appointment, str]:
    patient = references.patient(tenant, inc.patient_ref, "patient")
    beneficiary = references.patient(tenant, inc.beneficiary_ref, "beneficiary") if inc.beneficiary_ref else None
    if beneficiary is not None and beneficiary.id == patient.id:
        beneficiary = None
    service = references.service(tenant, inc.service_codes)
    centre = references.centre(tenant, inc.centre_code)
    practitioner = references.practitioner(tenant, inc.practitioner_ref)

    appointment, created = services.create_appointment(
        tenant=tenant,
        actor=actor,
        external_id=inc.external_id,
        patient=patient,
        service=service,
        centre=centre,
        start=inc.start,
        end=inc.end,
        practitioner=practitioner,
        beneficiary=beneficiary,
        package_id=services.AUTO,
        status=S.CANCELLED if inc.status == S.CANCELLED else S.BOOKED,
        now=now,
        source_updated_at=inc.updated_at,
        compare_existing=False,
    )
    appointment.tenant = tenant
    notes = []
    if created:
        notes.append(
            "created"
            + (f" with package {appointment.package_id} held" if appointment.package_id else " without a package")
            if inc.status != S.CANCELLED
            else "created as cancelled"
        )
    else:
        if appointment.source_updated_at and inc.updated_at and inc.updated_at < appointment.source_updated_at:
            return appointment, (
                f"stale: modified {inc.updated_at.isoformat()}, before the update already applied "
                f"({appointment.source_updated_at.isoformat()}); ignored"
            )
        if appointment.status == S.BOOKED:
            if (appointment.patient_id, appointment.beneficiary_id, appointment.service_id) != (
                patient.id,
                beneficiary.id if beneficiary else None,
                service.id,
            ):
                notes.append(
                    _rebook(
                        appointment, patient=patient, beneficiary=beneficiary, service=service, actor=actor, now=now
                    )
                )
            if inc.status != S.CANCELLED and (
                appointment.start != inc.start or appointment.end != inc.end or appointment.centre_id != centre.id
            ):
                notes.append(
                    services.do_reschedule(
                        appointment, actor=actor, now=now, start=inc.start, end=inc.end, centre=centre
                    )
                )
            if appointment.practitioner_id != (practitioner.id if practitioner else None):
                services.set_practitioner(appointment, practitioner, actor=actor, now=now)
                notes.append("practitioner changed")
        elif (appointment.patient_id, appointment.service_id, appointment.start, appointment.centre_id) != (
            patient.id,
            service.id,
            inc.start,
            centre.id,
        ):
            notes.append(f"details not applied: the appointment is {appointment.status}")

    if inc.status == S.BOOKED:
        if not created and appointment.status != S.BOOKED:
            notes.append(
                f"a '{inc.raw_status}' event does not reopen an appointment that is {appointment.status}; status kept"
            )
    elif inc.status == S.ARRIVED:
        notes.append(services.do_arrive(appointment, actor=actor, now=now))
    elif inc.status == S.NO_SHOW:
        if appointment.status == S.NO_SHOW:
            notes.append("already a no-show")
        else:
            notes.append(services.do_no_show(appointment, actor=actor, now=now))  # the tenant's default
    elif inc.status == S.CANCELLED and not created:
        notes.append(
            services.do_cancel(
                appointment, actor=actor, now=now, reason=f"'{inc.raw_status}' from the scheduling system"
            )
        )

    if inc.updated_at and (appointment.source_updated_at is None or inc.updated_at > appointment.source_updated_at):
        appointment.source_updated_at = inc.updated_at
        save_appointment(appointment, now, "source_updated_at")
    return appointment, "; ".join(n for n in notes if n) or "no change"


# ---------------------------------------------------------------- the intake


def _record(
    *,
    tenant: Tenant,
    actor: Actor,
    source: str,
    payload,
    status: str,
    now: dt.datetime,
    key: str,
    external_id: str = "",
    event_status: str = "",
    appointment=None,
    outcome: str = "",
    error: DomainError | None = None,
    retry_of: AppointmentEvent | None = None,
) -> AppointmentEvent:
    return AppointmentEvent.objects.create(
        tenant=tenant,
        source=source,
        external_id=(external_id or "")[:200],
        event_status=(event_status or "")[:32],
        dedupe_key=key[:300],
        payload=payload if isinstance(payload, (dict, list)) else {"body": str(payload)},
        status=status,
        error_code=error.code if error else "",
        error_message=error.message if error else "",
        error_field=(error.field or "")[:100] if error else "",
        outcome=outcome,
        appointment=appointment,
        retry_of=retry_of,
        received_at=now,
        actor=actor.label,
    )


def _reject(error: DomainError, **fields) -> None:
    """Keep a refused event for review, in its own (sub)transaction, and name it in the error."""
    with transaction.atomic():
        event = _record(status=EventStatus.REJECTED, error=error, **fields)
    error.context["event_id"] = event.id


def ingest(
    *,
    tenant: Tenant,
    actor: Actor,
    source: str,
    payload,
    parse: Callable[[object], Incoming],
    now: dt.datetime | None = None,
    retry_of: AppointmentEvent | None = None,
    fallback_external_id: str = "",
) -> AppointmentEvent:
    """Apply one event exactly once; returns its AppointmentEvent (accepted or duplicate) or raises the
    refusal after keeping the event as rejected.

    Call it outside a transaction that rolls back on error (the API view must not wrap it in one), or
    the kept rejection would be rolled back with everything else.
    """
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    base = dict(tenant=tenant, actor=actor, payload=payload, now=now, retry_of=retry_of)
    try:
        inc = parse(payload)
    except DomainError as error:
        raw = payload.get("status") if isinstance(payload, dict) else ""
        _reject(
            error,
            source=source,
            key=f"{source}:sha256:{body_hash(payload)}",
            external_id=fallback_external_id,
            event_status=str(raw or ""),
            **base,
        )
        raise
    fields = dict(
        source=inc.source, key=inc.dedupe_key, external_id=inc.external_id, event_status=inc.raw_status, **base
    )
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                original = AppointmentEvent.objects.filter(
                    tenant=tenant, dedupe_key=inc.dedupe_key[:300], status=EventStatus.ACCEPTED
                ).first()
                if original is not None:
                    return _record(
                        status=EventStatus.DUPLICATE,
                        appointment=original.appointment,
                        outcome=f"duplicate of event {original.id}; nothing changed",
                        **fields,
                    )
                appointment, outcome = _apply(tenant, actor, inc, now)
                return _record(status=EventStatus.ACCEPTED, appointment=appointment, outcome=outcome, **fields)
        except IntegrityError:
            # The same event (or the same new appointment) applied at this moment by another delivery:
            # everything here rolled back; look again, it is now a duplicate or an existing appointment.
            if attempt == 2:
                raise
        except DomainError as error:
            _reject(error, **fields)
            raise
        except (DataError, OverflowError):
            # A value that passed every check and still cannot be stored: kept for review like any refusal.
            refusal = InvalidInput("a value in the event is out of range or cannot be stored", field="body")
            _reject(refusal, **fields)
            raise refusal from None
    raise AssertionError("unreachable")


def ingest_event(
    *,
    tenant: Tenant,
    actor: Actor,
    payload: dict,
    now: dt.datetime | None = None,
    retry_of: AppointmentEvent | None = None,
) -> AppointmentEvent:
    """Punchcard's JSON appointment event (see the module docstring for its fields)."""
    external_id = payload.get("external_id") if isinstance(payload, dict) else ""
    return ingest(
        tenant=tenant,
        actor=actor,
        source="json",
        payload=payload,
        parse=parse_json,
        now=now,
        retry_of=retry_of,
        fallback_external_id=external_id if isinstance(external_id, str) else "",
    )
