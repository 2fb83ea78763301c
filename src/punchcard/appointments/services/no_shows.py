"""No-shows (SPEC §5): option "redeem" (a session used, billed exactly like an arrival) or "fee" (the hold
released, a configured no-show fee charged); undo_no_show restores the booking (void / fee reversal, and
the hold placed again).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.packages import services as packages
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date
from punchcard.tenancy.services import audit

from .. import charges, selectors
from ..models import Appointment, AppointmentStatus, ChargeKind, NoShowChoice
from .primitives import (
    lock_appointment,
    post_live_hold,
    restore_hold,
    save_appointment,
    state_conflict,
    void_live_redemption,
)


def _fee(tenant: Tenant, fee_code: str | None) -> selectors.NoShowFee:
    fee = selectors.no_show_settings(tenant).fee(fee_code)
    if fee is None:
        if fee_code is not None:
            raise InvalidInput(f"no no-show fee with code {fee_code!r} is configured", field="fee_code")
        raise InvalidInput("no no-show fee is configured for this tenant", field="fee_code")
    return fee


def do_no_show(
    appointment: Appointment, *, actor: Actor, now: dt.datetime, option: str | None = None, fee_code: str | None = None
) -> str:
    """A no-show on a locked appointment; returns what happened (for event outcomes)."""
    explicit = option is not None
    if option is None:
        option = selectors.no_show_settings(appointment.tenant).default_option
    option = validation.choice(option, NoShowChoice, "option")
    if appointment.status == AppointmentStatus.NO_SHOW:
        if not explicit or appointment.no_show_choice == option:
            return "already recorded as a no-show"
        raise Conflict(
            f"the no-show was recorded as '{appointment.no_show_choice or 'none'}'; undo it before choosing again",
            code="appointment_state",
            status=appointment.status,
        )
    if appointment.status != AppointmentStatus.BOOKED:
        raise state_conflict(appointment, "record a no-show")
    hold = selectors.live_hold(appointment)
    if option == NoShowChoice.REDEEM:
        if hold is None and explicit:
            raise Conflict(
                "no package is applied to this appointment: apply one, or choose a no-show fee",
                code="appointment_state",
                field="option",
                status=appointment.status,
            )
        redemption = post_live_hold(appointment, actor=actor, now=now) if hold else None
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
                day=local_date(now, appointment.centre),  # the fee is charged today, at the centre
            )
        choice = NoShowChoice.FEE
        done = f"no-show: fee {fee.code} charged ({fee.amount})" + ("; hold released" if hold else "")
        data = {"option": "fee", "fee_code": fee.code, "charge_id": row.id if row else None}
    # The package stays recorded on a fee no-show so that undoing it can put the hold back.
    appointment.status, appointment.no_show_choice = AppointmentStatus.NO_SHOW, choice
    save_appointment(appointment, now, "status", "no_show_choice")
    audit(tenant=appointment.tenant, actor=actor, action="appointment.no_show", subject=appointment, now=now, data=data)
    events.record(
        "appointment.no_show",
        tenant=appointment.tenant,
        subject=appointment,
        actor=actor,
        at=now,
        appointment_id=appointment.id,
        external_id=appointment.external_id,
        patient_id=appointment.patient_id,
        package_id=appointment.package_id,
        **data,
    )
    return done


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


def undo_fee_no_show(appointment: Appointment, *, actor: Actor, now: dt.datetime, reason: str) -> str:
    """Back to booked from a fee no-show (on a locked appointment): the fee reversed, the hold restored."""
    fee = selectors.live_no_show_fee(appointment)
    if fee is not None:
        charges.reverse_charge(fee, actor=actor, now=now, reason=reason)
    restored = restore_hold(appointment, actor=actor, now=now)
    appointment.status, appointment.no_show_choice = AppointmentStatus.BOOKED, ""
    save_appointment(appointment, now, "status", "no_show_choice", "package")
    return ("no-show fee reversed" if fee is not None else "no-show undone") + ("; hold restored" if restored else "")


@transaction.atomic
def undo_no_show(
    *, tenant: Tenant, actor: Actor, appointment_id: int, reason: str = "", now: dt.datetime | None = None
) -> Appointment:
    """Undo the no-show choice, back to booked with its package held again: 'redeem' voids the redemption
    (its co-pay and commission reversed; needs the void permission), 'fee' reverses the fee charge.
    If the package can no longer cover the date, the appointment is booked without it."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    reason = validation.reason(reason, required=False) or "no-show undone"
    appointment = lock_appointment(tenant, appointment_id)
    if appointment.status == AppointmentStatus.BOOKED:
        return appointment
    if appointment.status != AppointmentStatus.NO_SHOW:
        raise state_conflict(appointment, "undo a no-show")
    choice = appointment.no_show_choice
    voided = None
    if choice == NoShowChoice.REDEEM:
        voided = void_live_redemption(appointment, actor=actor, now=now, reason=f"no-show undone: {reason}")
        restored = restore_hold(appointment, actor=actor, now=now)
        appointment.status, appointment.no_show_choice = AppointmentStatus.BOOKED, ""
        save_appointment(appointment, now, "status", "no_show_choice", "package")
    else:
        undo_fee_no_show(appointment, actor=actor, now=now, reason=reason)
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
