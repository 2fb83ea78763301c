"""The booking and its details: create or book an appointment with its package pre-selected, move it
(reschedule) and change who treats the patient.

- book_appointment: the appointment, and a hold for its LOCAL date at its centre on the pre-selected
  package (selectors.candidate_packages: soonest expiry first, no expiry last, then the oldest),
  on a chosen package (package_id=<id>; a refusal refuses the booking) or on none (package_id=None).
- reschedule_appointment: the hold moves to the new date/centre in the same transaction, every check
  re-made; a refusal (`reschedule_refused`) changes nothing.

Two bookings of one external id race on the unique (tenant, external_id) index: the second waits for
the first to commit, then answers like a repeat. Bookings on other appointments wait for nothing but
the package they hold.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput, RuleViolation
from punchcard.domain.idempotency import replay
from punchcard.domain.roles import Actor, Perm
from punchcard.packages import services as packages
from punchcard.packages.models import Hold
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import Appointment, AppointmentStatus
from .primitives import lock_appointment, place_best_hold, place_hold, save_appointment, state_conflict

AUTO = "auto"  # package_id=AUTO: pre-select the package by the documented rule


# ---------------------------------------------------------------- input


def checked_times(start, end) -> tuple[dt.datetime, dt.datetime | None]:
    """The appointment's start and optional end: aware date-times (or their ISO 8601 text), end ≥ start."""
    start = validation.instant(start, "start", parse=True)
    end = validation.instant(end, "end", optional=True, parse=True)
    if end is not None and end < start:
        raise InvalidInput("end is before start", field="end")
    return start, end


def checked_package_choice(value):
    if value is None or value == AUTO:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput("package_id must be a package id, null (no package) or 'auto'", field="package_id")
    return value


def _resolve(tenant: Tenant, *, patient_id, service_id, centre_id, practitioner_id, beneficiary_id):
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    service = scoped_get(Service, tenant=tenant, pk=service_id, field="service_id")
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    practitioner = (
        scoped_get(StaffMember, tenant=tenant, pk=practitioner_id, field="practitioner_id")
        if practitioner_id is not None
        else None
    )
    beneficiary = (
        scoped_get(Patient, tenant=tenant, pk=beneficiary_id, field="beneficiary_id")
        if beneficiary_id is not None
        else None
    )
    if beneficiary is not None and beneficiary.id == patient.id:
        beneficiary = None
    return patient, service, centre, practitioner, beneficiary


# ---------------------------------------------------------------- booking


def create_appointment(
    *,
    tenant: Tenant,
    actor: Actor,
    external_id: str,
    patient: Patient,
    service: Service,
    centre: Centre,
    start: dt.datetime,
    end: dt.datetime | None,
    practitioner: StaffMember | None = None,
    beneficiary: Patient | None = None,
    package_id=AUTO,
    status: str = AppointmentStatus.BOOKED,
    backdate_reason: str | None = None,
    now: dt.datetime,
    source_updated_at: dt.datetime | None = None,
    compare_existing: bool = True,
) -> tuple[Appointment, bool]:
    """The row and its package (inside the caller's transaction). Returns (appointment, created); an
    existing appointment comes back row-locked.

    status is BOOKED (a package is held as package_id says) or CANCELLED (an event about an appointment
    never seen booked: the record is kept, nothing is held)."""
    fields = dict(
        patient_id=patient.id,
        service_id=service.id,
        centre_id=centre.id,
        start=start,
        end=end,
        practitioner_id=practitioner.id if practitioner else None,
        beneficiary_id=beneficiary.id if beneficiary else None,
    )
    existing = Appointment.objects.select_for_update(no_key=True).filter(tenant=tenant, external_id=external_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                appointment = Appointment.objects.create(
                    tenant=tenant,
                    external_id=external_id,
                    status=status,
                    source_updated_at=source_updated_at,
                    created_at=now,
                    updated_at=now,
                    **fields,
                )
        except IntegrityError:  # booked at the same moment by another request: answer like a repeat
            existing = Appointment.objects.select_for_update(no_key=True).get(tenant=tenant, external_id=external_id)
    if existing is not None:
        if compare_existing:
            replay(existing, what="appointment", field="external_id", **fields)
        return existing, False
    appointment.tenant, appointment.centre, appointment.service = tenant, centre, service
    if status == AppointmentStatus.BOOKED:
        if package_id == AUTO:
            place_best_hold(appointment, actor=actor, now=now, backdate_reason=backdate_reason)
        elif package_id is not None:
            place_hold(appointment, package_id, actor=actor, now=now, backdate_reason=backdate_reason)
    if appointment.package_id:
        save_appointment(appointment, now, "package")
    audit(
        tenant=tenant,
        actor=actor,
        action="appointment.book",
        subject=appointment,
        now=now,
        reason=backdate_reason or "",
        data={
            "external_id": external_id,
            "package_id": appointment.package_id,
            "status": status,
            "day": selectors.appointment_day(appointment).isoformat(),
            **({"backdated": True} if backdate_reason else {}),
        },
    )
    return appointment, True


@transaction.atomic
def book_appointment(
    *,
    tenant: Tenant,
    actor: Actor,
    external_id: str,
    patient_id: int,
    service_id: int,
    centre_id: int,
    start: dt.datetime,
    end: dt.datetime | None = None,
    practitioner_id: int | None = None,
    beneficiary_id: int | None = None,
    package_id=AUTO,
    backdate_reason: str | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book an appointment. package_id: AUTO (default) pre-selects the patient's package by the rule and
    books without one when none can cover it; an id holds that package (a refusal refuses the booking);
    None books without a package. The same external id with the same details returns the first booking.

    A booking on a day before today at the centre is refused (`backdated`) unless a manager gives
    `backdate_reason`, which is audited with the booking and its hold."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    external_id = validation.text(external_id, "external_id", max_length=200)
    package_id = checked_package_choice(package_id)
    start, end = checked_times(start, end)
    patient, service, centre, practitioner, beneficiary = _resolve(
        tenant,
        patient_id=patient_id,
        service_id=service_id,
        centre_id=centre_id,
        practitioner_id=practitioner_id,
        beneficiary_id=beneficiary_id,
    )
    day, today = local_date(start, centre), local_date(now, centre)
    if day < today:
        if not (backdate_reason or "").strip():
            existing = Appointment.objects.filter(tenant=tenant, external_id=external_id).exists()
            if not existing:  # a repeat of a booking made earlier answers as before
                raise RuleViolation(
                    f"{day.isoformat()} is before today ({today.isoformat()}) at {centre.name}: "
                    "a manager can back-date the booking with a reason",
                    code="backdated",
                    field="start",
                )
        else:
            actor.require(Perm.ADJUST)
            backdate_reason = validation.reason(backdate_reason, field="backdate_reason")
    appointment, _ = create_appointment(
        tenant=tenant,
        actor=actor,
        external_id=external_id,
        patient=patient,
        service=service,
        centre=centre,
        start=start,
        end=end,
        practitioner=practitioner,
        beneficiary=beneficiary,
        package_id=package_id,
        backdate_reason=backdate_reason,
        now=now,
    )
    return appointment


# ---------------------------------------------------------------- moving it, who treats


def do_reschedule(
    appointment: Appointment,
    *,
    actor: Actor,
    now: dt.datetime,
    start: dt.datetime,
    end: dt.datetime | None,
    centre: Centre | None = None,
) -> str:
    """Move a booked appointment; a held package moves with it or the move is refused (nothing changes:
    the caller's transaction rolls back the released hold)."""
    if appointment.status != AppointmentStatus.BOOKED:
        raise state_conflict(appointment, "reschedule it")
    centre = centre or appointment.centre
    old_day, old_centre = selectors.appointment_day(appointment), appointment.centre
    old_start = appointment.start
    appointment.start, appointment.end, appointment.centre = start, end, centre
    new_day = selectors.appointment_day(appointment)
    hold = selectors.live_hold(appointment)
    moved = hold is not None and (hold.day != new_day or hold.centre_id != centre.id)
    if moved:
        packages.release_hold(
            tenant=appointment.tenant,
            actor=actor,
            hold_id=hold.id,
            now=now,
            reason=f"rescheduled from {old_day.isoformat()} to {new_day.isoformat()}",
        )
        try:
            place_hold(appointment, hold.package_id, actor=actor, now=now)
        except RuleViolation as refusal:
            raise Conflict(
                f"cannot move the appointment to {new_day.isoformat()}"
                f"{'' if centre.id == old_centre.id else ' at ' + centre.name}: {refusal.message}. Remove the "
                f"package from the appointment or change the package's expiry first",
                code="reschedule_refused",
                field="start",
                rule=refusal.code,
                package_id=hold.package_id,
                **refusal.context,
            ) from refusal
    save_appointment(appointment, now, "start", "end", "centre")
    audit(
        tenant=appointment.tenant,
        actor=actor,
        action="appointment.reschedule",
        subject=appointment,
        now=now,
        data={"from": old_start.isoformat(), "to": start.isoformat(), "centre_id": centre.id, "hold_moved": moved},
    )
    return f"rescheduled to {start.isoformat()}" + (f" (hold moved to {new_day.isoformat()})" if moved else "")


@transaction.atomic
def reschedule_appointment(
    *,
    tenant: Tenant,
    actor: Actor,
    appointment_id: int,
    start: dt.datetime,
    end: dt.datetime | None = None,
    centre_id: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move a booked appointment. Its package is re-checked at the new local date (and centre): past expiry,
    out of scope, a blackout date, a usage cap... refuse with `reschedule_refused` and change nothing."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    start, end = checked_times(start, end)
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id") if centre_id is not None else None
    appointment = lock_appointment(tenant, appointment_id)
    do_reschedule(appointment, actor=actor, now=now, start=start, end=end, centre=centre)
    return appointment


def set_practitioner(
    appointment: Appointment, practitioner: StaffMember | None, *, actor: Actor, now: dt.datetime
) -> None:
    """Who treats the patient; a pending hold follows, so the redemption credits the right practitioner."""
    if appointment.practitioner_id == (practitioner.id if practitioner else None):
        return
    old = appointment.practitioner_id
    appointment.practitioner = practitioner
    Hold.objects.filter(appointment=appointment, state="pending").update(practitioner=practitioner)
    save_appointment(appointment, now, "practitioner")
    audit(
        tenant=appointment.tenant,
        actor=actor,
        action="appointment.change_practitioner",
        subject=appointment,
        now=now,
        data={"from": old, "to": practitioner.id if practitioner else None},
    )


@transaction.atomic
def change_practitioner(
    *, tenant: Tenant, actor: Actor, appointment_id: int, practitioner_id: int | None, now: dt.datetime | None = None
) -> Appointment:
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    practitioner = (
        scoped_get(StaffMember, tenant=tenant, pk=practitioner_id, field="practitioner_id")
        if practitioner_id is not None
        else None
    )
    appointment = lock_appointment(tenant, appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        raise state_conflict(appointment, "change its practitioner")
    set_practitioner(appointment, practitioner, actor=actor, now=now)
    return appointment
