"""Appointments drive the package (SPEC §5). Every write: one function, one transaction.

Flows, each on a row-locked appointment (lock order: appointment, then its package, as the package
services take it):

- book_appointment: the appointment, and a hold for its LOCAL date at its centre on the pre-selected
  package (selectors.candidate_packages: soonest expiry first, no expiry last, then the oldest),
  on a chosen package (package_id=<id>; a refusal refuses the booking) or on none (package_id=None).
- apply_package / remove_package: before arrival only; after it, `package_not_removable` (void).
- arrive: the hold is posted as a redemption (post_hold), then the visit is billed: co-pay + commission.
- reschedule_appointment: the hold moves to the new date/centre in the same transaction, every check
  re-made; a refusal (`reschedule_refused`) changes nothing.
- record_no_show: option "redeem" (billed exactly like an arrival) or "fee" (hold released, a
  configured no-show fee charged); undo_no_show restores the booking (void / fee reversal + hold again).
- cancel_appointment: releases the hold.
- undo_arrival: a manager voids the arrival's redemption and the appointment is booked again.
- configure_no_show_fees / set_commission_rate: the tenant's settings these flows read.

Status events from the scheduling system go through appointments.events (ingest_event, ingest_fhir).
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.domain.errors import Conflict, InvalidInput, RuleViolation
from punchcard.domain.money import check_amount
from punchcard.domain.roles import Actor, Perm
from punchcard.packages import services as packages
from punchcard.packages.models import Hold
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from . import charges, selectors
from .models import Appointment, AppointmentStatus, ChargeKind, NoShowChoice

AUTO = "auto"  # package_id=AUTO: pre-select the package by the documented rule
_UNSET = object()
MAX_TEXT = 2000


# ---------------------------------------------------------------- validation and primitives


def _external_id(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("external_id is required text", field="external_id")
    value = value.strip()
    if len(value) > 200:
        raise InvalidInput("external_id is longer than 200 characters", field="external_id")
    return value


def _instant(value, field: str, *, required: bool = True) -> dt.datetime | None:
    if value is None and not required:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 date-time", field=field) from None
    if not isinstance(value, dt.datetime):
        raise InvalidInput(f"{field} must be a date-time", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} needs a time zone offset", field=field)
    return value


def _times(start, end) -> tuple[dt.datetime, dt.datetime | None]:
    start = _instant(start, "start")
    end = _instant(end, "end", required=False)
    if end is not None and end < start:
        raise InvalidInput("end is before start", field="end")
    return start, end


def _reason(reason, *, required: bool = False) -> str:
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise InvalidInput("reason must be text", field="reason")
    reason = reason.strip()
    if required and not reason:
        raise InvalidInput("a reason is required", field="reason")
    if len(reason) > MAX_TEXT:
        raise InvalidInput(f"reason is longer than {MAX_TEXT} characters", field="reason")
    return reason


def _package_choice(value):
    if value is None or value == AUTO:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput("package_id must be a package id, null (no package) or 'auto'", field="package_id")
    return value


def lock_appointment(tenant: Tenant, appointment_id) -> Appointment:
    return scoped_get(
        Appointment,
        tenant=tenant,
        pk=appointment_id,
        field="appointment_id",
        queryset=Appointment.objects.select_for_update(no_key=True),
    )


def _save(appointment: Appointment, now: dt.datetime, *fields: str) -> None:
    appointment.updated_at = now
    appointment.save(update_fields=[*fields, "updated_at"])


def _state_error(appointment: Appointment, doing: str) -> Conflict:
    return Conflict(
        f"appointment {appointment.external_id} is {appointment.get_status_display().lower()}; cannot {doing}",
        code="appointment_state",
        status=appointment.status,
    )


def _not_removable(appointment: Appointment, redemption, doing: str = "remove the package") -> Conflict:
    return Conflict(
        f"cannot {doing}: a session of package {redemption.package_id} was already redeemed for "
        f"appointment {appointment.external_id} (redemption {redemption.id}); the package cannot be "
        "removed after arrival — a manager must void the redemption (undo the arrival) instead",
        code="package_not_removable",
        field="package_id",
        redemption_id=redemption.id,
        package_id=redemption.package_id,
    )


# ---------------------------------------------------------------- holds on the appointment's date


def _place(appointment: Appointment, package_id: int, *, actor: Actor, now: dt.datetime) -> Hold:
    hold = packages.place_hold(
        tenant=appointment.tenant,
        actor=actor,
        package_id=package_id,
        service_id=appointment.service_id,
        centre_id=appointment.centre_id,
        day=selectors.appointment_day(appointment),
        person_id=appointment.person_id,
        practitioner_id=appointment.practitioner_id,
        appointment=appointment,
        now=now,
    )
    appointment.package_id = package_id
    return hold


def _auto_place(appointment: Appointment, *, actor: Actor, now: dt.datetime, strict: bool = False) -> Hold | None:
    """Hold on the first candidate package that passes every check at the appointment's date.

    Not strict (booking): no usable package books without one. Strict (apply_package): the reason the
    best candidate was refused is the answer.
    """
    first_refusal = None
    candidates = selectors.candidate_packages(
        appointment.tenant, person_id=appointment.person_id, service_id=appointment.service_id, now=now
    )
    for summary in candidates:
        try:
            return _place(appointment, summary.package.id, actor=actor, now=now)  # place_hold: a savepoint
        except RuleViolation as refusal:
            first_refusal = first_refusal or refusal
    if strict:
        if first_refusal:
            raise first_refusal
        raise RuleViolation(
            f"no open package of this patient covers {appointment.service.name}",
            code="service_not_eligible",
            field="package_id",
        )
    return None


def _release(appointment: Appointment, *, actor: Actor, now: dt.datetime, reason: str) -> Hold | None:
    hold = selectors.live_hold(appointment)
    if hold is not None:
        packages.release_hold(tenant=appointment.tenant, actor=actor, hold_id=hold.id, reason=reason, now=now)
    return hold


def _restore_hold(appointment: Appointment, *, actor: Actor, now: dt.datetime) -> bool:
    """Undo paths put the package back as booked. If the package can no longer cover the date (e.g. it
    expired in the meantime and its sessions became breakage), the appointment is booked without it."""
    if appointment.package_id is None:
        return False
    try:
        _place(appointment, appointment.package_id, actor=actor, now=now)
        return True
    except RuleViolation:
        appointment.package_id = None
        return False


def _post(appointment: Appointment, *, actor: Actor, now: dt.datetime):
    """Arrival (or a no-show redeemed): post the hold, then bill the visit like any arrival."""
    hold = selectors.live_hold(appointment)
    if hold is None:
        return None
    redemption = packages.post_hold(tenant=appointment.tenant, actor=actor, hold_id=hold.id, now=now)
    charges.after_redemption(appointment, redemption, actor=actor, now=now)
    return redemption


# ---------------------------------------------------------------- booking


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


def _same_booking(existing: Appointment, **fields) -> Appointment:
    for name, value in fields.items():
        if getattr(existing, name) != value:
            raise Conflict(
                f"an appointment with external id {existing.external_id!r} exists with a different "
                f"{name.removesuffix('_id')}",
                code="idempotency_conflict",
                field="external_id",
            )
    return existing


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
    now: dt.datetime,
    source_updated_at: dt.datetime | None = None,
    compare_existing: bool = True,
) -> tuple[Appointment, bool]:
    """The row and its package (inside the caller's transaction). Returns (appointment, created).

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
        return (_same_booking(existing, **fields) if compare_existing else existing), False
    appointment.tenant, appointment.centre, appointment.service = tenant, centre, service
    if status == AppointmentStatus.BOOKED:
        if package_id == AUTO:
            _auto_place(appointment, actor=actor, now=now)
        elif package_id is not None:
            _place(appointment, package_id, actor=actor, now=now)
    if appointment.package_id:
        _save(appointment, now, "package")
    audit(
        tenant=tenant,
        actor=actor,
        action="appointment.book",
        subject=appointment,
        now=now,
        data={
            "external_id": external_id,
            "package_id": appointment.package_id,
            "status": status,
            "day": selectors.appointment_day(appointment).isoformat(),
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
    now: dt.datetime | None = None,
) -> Appointment:
    """Book an appointment. package_id: AUTO (default) pre-selects the patient's package by the rule and
    books without one when none can cover it; an id holds that package (a refusal refuses the booking);
    None books without a package. The same external id with the same details returns the first booking."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    external_id = _external_id(external_id)
    package_id = _package_choice(package_id)
    start, end = _times(start, end)
    patient, service, centre, practitioner, beneficiary = _resolve(
        tenant,
        patient_id=patient_id,
        service_id=service_id,
        centre_id=centre_id,
        practitioner_id=practitioner_id,
        beneficiary_id=beneficiary_id,
    )
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
        now=now,
    )
    return appointment


@transaction.atomic
def apply_package(
    *, tenant: Tenant, actor: Actor, appointment_id: int, package_id=AUTO, now: dt.datetime | None = None
) -> Appointment:
    """Apply a package to a booked appointment (before arrival): AUTO pre-selects by the rule, an id chooses
    one. A different package already held is swapped in the same transaction; a refusal changes nothing."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    package_id = _package_choice(package_id)
    if package_id is None:
        raise InvalidInput(
            "package_id is required (an id or 'auto'); use remove_package to take it off", field="package_id"
        )
    appointment = lock_appointment(tenant, appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        redemption = selectors.live_redemption(appointment)
        if redemption is not None:
            raise _not_removable(appointment, redemption, "change the package")
        raise _state_error(appointment, "apply a package (only before arrival)")
    hold = selectors.live_hold(appointment)
    if hold is not None and (package_id == AUTO or hold.package_id == package_id):
        return appointment  # already covered
    if hold is not None:
        _release(appointment, actor=actor, now=now, reason="another package applied")
    if package_id == AUTO:
        _auto_place(appointment, actor=actor, now=now, strict=True)
    else:
        _place(appointment, package_id, actor=actor, now=now)
    _save(appointment, now, "package")
    audit(
        tenant=tenant,
        actor=actor,
        action="appointment.apply_package",
        subject=appointment,
        now=now,
        data={"package_id": appointment.package_id, "replaced_package_id": hold.package_id if hold else None},
    )
    return appointment


@transaction.atomic
def remove_package(
    *, tenant: Tenant, actor: Actor, appointment_id: int, reason: str = "", now: dt.datetime | None = None
) -> Appointment:
    """Take the package off an appointment before arrival (the hold is released). After arrival the
    session is redeemed: refused with `package_not_removable`, pointing to a void."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    reason = _reason(reason)
    appointment = lock_appointment(tenant, appointment_id)
    redemption = selectors.live_redemption(appointment)
    if redemption is not None:
        raise _not_removable(appointment, redemption)
    if appointment.package_id is None and selectors.live_hold(appointment) is None:
        return appointment
    hold = _release(appointment, actor=actor, now=now, reason=reason or "package removed from the appointment")
    removed = appointment.package_id
    appointment.package_id = None
    _save(appointment, now, "package")
    audit(
        tenant=tenant,
        actor=actor,
        action="appointment.remove_package",
        subject=appointment,
        reason=reason,
        now=now,
        data={"package_id": removed, "hold_id": hold.id if hold else None},
    )
    return appointment


# ---------------------------------------------------------------- arrival, cancellation, reschedule


def do_arrive(appointment: Appointment, *, actor: Actor, now: dt.datetime) -> str:
    """Arrival on a locked appointment; returns what happened (for event outcomes)."""
    if appointment.status == AppointmentStatus.ARRIVED:
        return "already arrived"
    if appointment.status == AppointmentStatus.CANCELLED:
        raise _state_error(appointment, "arrive it")
    note = ""
    if appointment.status == AppointmentStatus.NO_SHOW:
        if appointment.no_show_choice == NoShowChoice.REDEEM:
            # The session was already redeemed and billed exactly like an arrival: only the status changes.
            appointment.status, appointment.no_show_choice = AppointmentStatus.ARRIVED, ""
            _save(appointment, now, "status", "no_show_choice")
            audit(
                tenant=appointment.tenant,
                actor=actor,
                action="appointment.arrive",
                subject=appointment,
                now=now,
                data={"replaces_no_show": "redeem"},
            )
            return "arrived after a redeemed no-show (the session stays redeemed)"
        note = _undo_no_show_fee(appointment, actor=actor, now=now, reason="the patient arrived")
    redemption = _post(appointment, actor=actor, now=now)
    if redemption is None and appointment.package_id is not None:
        # The hold was released under the appointment (the package expired, was closed or refunded).
        note = f"{note}; " if note else ""
        note += f"package {appointment.package_id} no longer holds a session for it"
        appointment.package_id = None
    appointment.status, appointment.no_show_choice = AppointmentStatus.ARRIVED, ""
    _save(appointment, now, "status", "no_show_choice", "package")
    audit(
        tenant=appointment.tenant,
        actor=actor,
        action="appointment.arrive",
        subject=appointment,
        now=now,
        data={"redemption_id": redemption.id if redemption else None},
    )
    done = (
        f"arrived; redemption {redemption.id} on package {redemption.package_id}"
        if redemption
        else "arrived (no package)"
    )
    return f"{note}; {done}" if note else done


@transaction.atomic
def arrive(*, tenant: Tenant, actor: Actor, appointment_id: int, now: dt.datetime | None = None) -> Appointment:
    """The patient arrived: the hold becomes a redemption linked to the appointment and the visit is billed
    (co-pay charge when the line's patient-pays is not 0; commission when due). Repeating is harmless."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    appointment = lock_appointment(tenant, appointment_id)
    do_arrive(appointment, actor=actor, now=now)
    return appointment


def do_cancel(appointment: Appointment, *, actor: Actor, now: dt.datetime, reason: str) -> str:
    if appointment.status == AppointmentStatus.CANCELLED:
        return "already cancelled"
    redemption = selectors.live_redemption(appointment)
    if redemption is not None:
        raise _not_removable(appointment, redemption, "cancel the appointment")
    if selectors.live_no_show_fee(appointment) is not None:
        raise Conflict(
            "a no-show fee was charged for this appointment; undo the no-show before cancelling",
            code="appointment_state",
            status=appointment.status,
        )
    hold = _release(appointment, actor=actor, now=now, reason=reason or "appointment cancelled")
    appointment.status, appointment.package_id, appointment.no_show_choice = AppointmentStatus.CANCELLED, None, ""
    _save(appointment, now, "status", "package", "no_show_choice")
    audit(
        tenant=appointment.tenant,
        actor=actor,
        action="appointment.cancel",
        subject=appointment,
        reason=reason,
        now=now,
        data={"released_hold_id": hold.id if hold else None},
    )
    return f"cancelled; hold {hold.id} released" if hold else "cancelled"


@transaction.atomic
def cancel_appointment(
    *, tenant: Tenant, actor: Actor, appointment_id: int, reason: str = "", now: dt.datetime | None = None
) -> Appointment:
    """Cancellation releases the hold. After arrival (a session redeemed) it is refused with
    `package_not_removable`: a manager undoes the arrival (void) first."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    reason = _reason(reason)
    appointment = lock_appointment(tenant, appointment_id)
    do_cancel(appointment, actor=actor, now=now, reason=reason)
    return appointment


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
        raise _state_error(appointment, "reschedule it")
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
            _place(appointment, hold.package_id, actor=actor, now=now)
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
    _save(appointment, now, "start", "end", "centre")
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
    start, end = _times(start, end)
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
    _save(appointment, now, "practitioner")
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
        raise _state_error(appointment, "change its practitioner")
    set_practitioner(appointment, practitioner, actor=actor, now=now)
    return appointment


# ---------------------------------------------------------------- no-shows


def _fee(tenant: Tenant, fee_code: str | None):
    settings = selectors.no_show_settings(tenant)
    fee = settings.fee(fee_code)
    if fee is None:
        if fee_code is not None:
            raise InvalidInput(f"no no-show fee with code {fee_code!r} is configured", field="fee_code")
        raise InvalidInput("no no-show fee is configured for this tenant", field="fee_code")
    return fee


def do_no_show(
    appointment: Appointment, *, actor: Actor, now: dt.datetime, option: str | None = None, fee_code: str | None = None
) -> str:
    explicit = option is not None
    if option is None:
        option = selectors.no_show_settings(appointment.tenant).default_option
    if option not in NoShowChoice.values:
        raise InvalidInput("option must be 'redeem' or 'fee'", field="option")
    if appointment.status == AppointmentStatus.NO_SHOW:
        if not explicit or appointment.no_show_choice == option:
            return "already recorded as a no-show"
        raise Conflict(
            f"the no-show was recorded as '{appointment.no_show_choice or 'none'}'; undo it before choosing again",
            code="appointment_state",
            status=appointment.status,
        )
    if appointment.status != AppointmentStatus.BOOKED:
        raise _state_error(appointment, "record a no-show")
    hold = selectors.live_hold(appointment)
    if option == NoShowChoice.REDEEM:
        if hold is None and explicit:
            raise Conflict(
                "no package is applied to this appointment: apply one, or choose a no-show fee",
                code="appointment_state",
                field="option",
                status=appointment.status,
            )
        redemption = _post(appointment, actor=actor, now=now) if hold else None
        choice = NoShowChoice.REDEEM if redemption else ""
        done = (
            f"no-show: redemption {redemption.id} (billed like an arrival)"
            if redemption
            else "no-show (no package applied, nothing redeemed)"
        )
        data = {"option": "redeem", "redemption_id": redemption.id if redemption else None}
    else:
        fee = _fee(appointment.tenant, fee_code)
        if hold is not None:
            packages.release_hold(
                tenant=appointment.tenant,
                actor=actor,
                hold_id=hold.id,
                now=now,
                reason="no-show: fee charged instead of a session",
            )
        row = None
        if fee.amount > 0:
            row = charges.charge(
                appointment=appointment,
                kind=ChargeKind.NO_SHOW_FEE,
                amount=fee.amount,
                code=fee.code,
                description=f"No-show fee: {fee.name}",
                actor=actor,
                now=now,
                day=clock_day(appointment, now),
            )
        choice = NoShowChoice.FEE
        done = f"no-show: fee {fee.code} charged ({fee.amount})" + ("; hold released" if hold else "")
        data = {"option": "fee", "fee_code": fee.code, "charge_id": row.id if row else None}
    # The package stays recorded on a fee no-show so that undoing it can put the hold back.
    appointment.status, appointment.no_show_choice = AppointmentStatus.NO_SHOW, choice
    _save(appointment, now, "status", "no_show_choice")
    audit(tenant=appointment.tenant, actor=actor, action="appointment.no_show", subject=appointment, now=now, data=data)
    return done


def clock_day(appointment: Appointment, now: dt.datetime) -> dt.date:
    """Today at the appointment's centre: the accounting date of a fee charged now."""
    return local_date(now, appointment.centre)


@transaction.atomic
def record_no_show(
    *,
    tenant: Tenant,
    actor: Actor,
    appointment_id: int,
    option: str | None = None,
    fee_code: str | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """The patient did not come. option 'redeem': a session is redeemed, billed exactly like an arrival;
    'fee': the hold is released and a configured no-show fee charged (fee_code, else the default fee).
    No option: the tenant's default (settings no_show_default)."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    appointment = lock_appointment(tenant, appointment_id)
    do_no_show(appointment, actor=actor, now=now, option=option, fee_code=fee_code)
    return appointment


def _undo_no_show_fee(appointment: Appointment, *, actor: Actor, now: dt.datetime, reason: str) -> str:
    fee = selectors.live_no_show_fee(appointment)
    if fee is not None:
        charges.reverse_charge(fee, actor=actor, now=now, reason=reason)
    restored = _restore_hold(appointment, actor=actor, now=now)
    appointment.status, appointment.no_show_choice = AppointmentStatus.BOOKED, ""
    _save(appointment, now, "status", "no_show_choice", "package")
    return ("no-show fee reversed" if fee is not None else "no-show undone") + ("; hold restored" if restored else "")


def _void(appointment: Appointment, *, actor: Actor, now: dt.datetime, reason: str) -> int | None:
    redemption = selectors.live_redemption(appointment)
    if redemption is None:
        return None
    packages.void_redemption(
        tenant=appointment.tenant, actor=actor, redemption_id=redemption.id, reason=reason, now=now
    )  # co-pay and commission are reversed with it (packages.signals)
    return redemption.id


@transaction.atomic
def undo_no_show(
    *, tenant: Tenant, actor: Actor, appointment_id: int, reason: str = "", now: dt.datetime | None = None
) -> Appointment:
    """Undo the no-show choice, back to booked with its package held again: 'redeem' voids the redemption
    (its co-pay and commission reversed; needs the void permission), 'fee' reverses the fee charge.
    If the package can no longer cover the date, the appointment is booked without it."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    reason = _reason(reason) or "no-show undone"
    appointment = lock_appointment(tenant, appointment_id)
    if appointment.status == AppointmentStatus.BOOKED:
        return appointment
    if appointment.status != AppointmentStatus.NO_SHOW:
        raise _state_error(appointment, "undo a no-show")
    choice = appointment.no_show_choice
    voided = None
    if choice == NoShowChoice.REDEEM:
        voided = _void(appointment, actor=actor, now=now, reason=f"no-show undone: {reason}")
        restored = _restore_hold(appointment, actor=actor, now=now)
        appointment.status, appointment.no_show_choice = AppointmentStatus.BOOKED, ""
        _save(appointment, now, "status", "no_show_choice", "package")
    else:
        _undo_no_show_fee(appointment, actor=actor, now=now, reason=reason)
        restored = appointment.package_id is not None
    audit(
        tenant=tenant,
        actor=actor,
        action="appointment.undo_no_show",
        subject=appointment,
        reason=reason,
        now=now,
        data={"choice": choice, "voided_redemption_id": voided, "hold_restored": restored},
    )
    return appointment


@transaction.atomic
def undo_arrival(
    *, tenant: Tenant, actor: Actor, appointment_id: int, reason: str, now: dt.datetime | None = None
) -> Appointment:
    """An arrival recorded in error: the redemption is voided (a manager's void: sessions, revenue,
    co-pay and commission reversed) and the appointment is booked again with its package held."""
    actor.require(Perm.VOID)
    now = now or clock.now()
    reason = _reason(reason, required=True)
    appointment = lock_appointment(tenant, appointment_id)
    if appointment.status == AppointmentStatus.BOOKED:
        return appointment
    if appointment.status != AppointmentStatus.ARRIVED:
        raise _state_error(appointment, "undo an arrival")
    voided = _void(appointment, actor=actor, now=now, reason=f"arrival undone: {reason}")
    restored = _restore_hold(appointment, actor=actor, now=now)
    appointment.status = AppointmentStatus.BOOKED
    _save(appointment, now, "status", "package")
    audit(
        tenant=tenant,
        actor=actor,
        action="appointment.undo_arrival",
        subject=appointment,
        reason=reason,
        now=now,
        data={"voided_redemption_id": voided, "hold_restored": restored},
    )
    return appointment


# ---------------------------------------------------------------- tenant settings

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _locked_tenant(tenant: Tenant) -> Tenant:
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    locked.settings = dict(locked.settings or {})
    return locked


@transaction.atomic
def configure_no_show_fees(
    *,
    tenant: Tenant,
    actor: Actor,
    fees: list[dict],
    default_option: str | None = None,
    default_fee_code=_UNSET,
    now: dt.datetime | None = None,
) -> Tenant:
    """Set the tenant's no-show fees ([{code, name, amount}], amounts in minor units), and optionally the
    default choice for automatic no-show events ('redeem' or 'fee') and the default fee's code."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    if not isinstance(fees, list) or len(fees) > 50:
        raise InvalidInput("fees must be a list of at most 50 {code, name, amount}", field="fees")
    clean, seen = [], set()
    for i, fee in enumerate(fees):
        if not isinstance(fee, dict):
            raise InvalidInput("each fee is {code, name, amount}", field=f"fees[{i}]")
        code, name = fee.get("code"), fee.get("name")
        if not isinstance(code, str) or not _CODE.match(code):
            raise InvalidInput("a fee code is lower-case letters, digits, '-' or '_'", field=f"fees[{i}].code")
        if code in seen:
            raise InvalidInput(f"fee code {code!r} appears twice", field=f"fees[{i}].code")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInput("a fee needs a name (at most 200 characters)", field=f"fees[{i}].name")
        amount = check_amount(fee.get("amount"), field=f"fees[{i}].amount", allow_zero=False)
        seen.add(code)
        clean.append({"code": code, "name": name.strip(), "amount": amount})
    locked = _locked_tenant(tenant)
    settings = locked.settings
    settings["no_show_fees"] = clean
    if default_option is not None:
        if default_option not in NoShowChoice.values:
            raise InvalidInput("default_option must be 'redeem' or 'fee'", field="default_option")
        settings["no_show_default"] = default_option
    if default_fee_code is not _UNSET:
        if default_fee_code is not None and default_fee_code not in seen:
            raise InvalidInput(f"no fee with code {default_fee_code!r} in the list", field="default_fee_code")
        settings["no_show_default_fee"] = default_fee_code
    elif settings.get("no_show_default_fee") not in seen:
        settings["no_show_default_fee"] = None
    if settings.get("no_show_default") == NoShowChoice.FEE and not clean:
        raise InvalidInput("the default no-show choice is 'fee' but no fee is configured", field="fees")
    Tenant.objects.filter(pk=tenant.pk).update(settings=settings)
    tenant.settings = settings
    audit(
        tenant=tenant,
        actor=actor,
        action="tenant.no_show_fees",
        subject=tenant,
        now=now,
        data={
            "fees": clean,
            "default": settings.get("no_show_default"),
            "default_fee": settings.get("no_show_default_fee"),
        },
    )
    return tenant


@transaction.atomic
def set_commission_rate(*, tenant: Tenant, actor: Actor, rate_bp: int, now: dt.datetime | None = None) -> Tenant:
    """Commission rate in basis points (1000 = 10 %), applied to commission credited from now on."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    if isinstance(rate_bp, bool) or not isinstance(rate_bp, int) or not 0 <= rate_bp <= charges.MAX_COMMISSION_RATE_BP:
        raise InvalidInput(
            f"rate_bp must be a whole number from 0 to {charges.MAX_COMMISSION_RATE_BP}", field="rate_bp"
        )
    locked = _locked_tenant(tenant)
    locked.settings["commission_rate_bp"] = rate_bp
    Tenant.objects.filter(pk=tenant.pk).update(settings=locked.settings)
    tenant.settings = locked.settings
    audit(
        tenant=tenant, actor=actor, action="tenant.commission_rate", subject=tenant, now=now, data={"rate_bp": rate_bp}
    )
    return tenant


__all__ = [
    "AUTO",
    "apply_package",
    "arrive",
    "book_appointment",
    "cancel_appointment",
    "change_practitioner",
    "configure_no_show_fees",
    "lock_appointment",
    "record_no_show",
    "remove_package",
    "reschedule_appointment",
    "set_commission_rate",
    "undo_arrival",
    "undo_no_show",
]
