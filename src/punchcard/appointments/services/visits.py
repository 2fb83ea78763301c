"""The visit: arrival (the hold posted as a redemption, then billed: co-pay and commission), cancellation
(the hold released) and a manager's undo of an arrival recorded in error (the redemption voided, the
appointment booked again with its package held).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Conflict
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import Appointment, AppointmentStatus, NoShowChoice
from .no_shows import undo_fee_no_show
from .primitives import (
    lock_appointment,
    not_removable,
    post_live_hold,
    release_live_hold,
    restore_hold,
    save_appointment,
    state_conflict,
    void_live_redemption,
)


def do_arrive(appointment: Appointment, *, actor: Actor, now: dt.datetime) -> str:
    """Arrival on a locked appointment; returns what happened (for event outcomes)."""
    if appointment.status == AppointmentStatus.ARRIVED:
        return "already arrived"
    if appointment.status == AppointmentStatus.CANCELLED:
        raise state_conflict(appointment, "arrive it")
    note = ""
    if appointment.status == AppointmentStatus.NO_SHOW:
        if appointment.no_show_choice == NoShowChoice.REDEEM:
            # The session was already redeemed and billed exactly like an arrival: only the status changes.
            appointment.status, appointment.no_show_choice = AppointmentStatus.ARRIVED, ""
            save_appointment(appointment, now, "status", "no_show_choice")
            audit(
                tenant=appointment.tenant,
                actor=actor,
                action="appointment.arrive",
                subject=appointment,
                now=now,
                data={"replaces_no_show": "redeem"},
            )
            return "arrived after a redeemed no-show (the session stays redeemed)"
        note = undo_fee_no_show(appointment, actor=actor, now=now, reason="the patient arrived")
    redemption = post_live_hold(appointment, actor=actor, now=now)
    if redemption is None and appointment.package_id is not None:
        # The hold was released under the appointment (the package expired, was closed or refunded).
        note = f"{note}; " if note else ""
        note += f"package {appointment.package_id} no longer holds a session for it"
        appointment.package_id = None
    appointment.status, appointment.no_show_choice = AppointmentStatus.ARRIVED, ""
    save_appointment(appointment, now, "status", "no_show_choice", "package")
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
    """Cancellation of a locked appointment; returns what happened (for event outcomes)."""
    if appointment.status == AppointmentStatus.CANCELLED:
        return "already cancelled"
    redemption = selectors.live_redemption(appointment)
    if redemption is not None:
        raise not_removable(appointment, redemption, "cancel the appointment")
    if selectors.live_no_show_fee(appointment) is not None:
        raise Conflict(
            "a no-show fee was charged for this appointment; undo the no-show before cancelling",
            code="appointment_state",
            status=appointment.status,
        )
    hold = release_live_hold(appointment, actor=actor, now=now, reason=reason or "appointment cancelled")
    appointment.status, appointment.package_id, appointment.no_show_choice = AppointmentStatus.CANCELLED, None, ""
    save_appointment(appointment, now, "status", "package", "no_show_choice")
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
    reason = validation.reason(reason, required=False)
    appointment = lock_appointment(tenant, appointment_id)
    do_cancel(appointment, actor=actor, now=now, reason=reason)
    return appointment


@transaction.atomic
def undo_arrival(
    *, tenant: Tenant, actor: Actor, appointment_id: int, reason: str, now: dt.datetime | None = None
) -> Appointment:
    """An arrival recorded in error: the redemption is voided (a manager's void: sessions, revenue,
    co-pay and commission reversed) and the appointment is booked again with its package held."""
    actor.require(Perm.VOID)
    now = now or clock.now()
    reason = validation.reason(reason)
    appointment = lock_appointment(tenant, appointment_id)
    if appointment.status == AppointmentStatus.BOOKED:
        return appointment
    if appointment.status != AppointmentStatus.ARRIVED:
        raise state_conflict(appointment, "undo an arrival")
    voided = void_live_redemption(appointment, actor=actor, now=now, reason=f"arrival undone: {reason}")
    restored = restore_hold(appointment, actor=actor, now=now)
    appointment.status = AppointmentStatus.BOOKED
    save_appointment(appointment, now, "status", "package")
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
