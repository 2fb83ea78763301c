"""What every appointment flow does to a row-locked appointment: lock and save it, refuse a wrong state,
and place, release, restore or post its package's hold (or void its redemption).

Lock order: the appointment first (FOR NO KEY UPDATE), then the package, which packages.services takes
inside place_hold / release_hold / post_hold / void_redemption.
"""

from __future__ import annotations

import datetime as dt

from punchcard.domain.errors import Conflict, RuleViolation
from punchcard.domain.roles import Actor
from punchcard.packages import services as packages
from punchcard.packages.models import Hold, Redemption
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .. import charges, selectors
from ..models import Appointment


def lock_appointment(tenant: Tenant, appointment_id) -> Appointment:
    return scoped_get(
        Appointment,
        tenant=tenant,
        pk=appointment_id,
        field="appointment_id",
        queryset=Appointment.objects.select_for_update(no_key=True),
    )


def save_appointment(appointment: Appointment, now: dt.datetime, *fields: str) -> None:
    appointment.updated_at = now
    appointment.save(update_fields=[*fields, "updated_at"])


def state_conflict(appointment: Appointment, doing: str) -> Conflict:
    return Conflict(
        f"appointment {appointment.external_id} is {appointment.get_status_display().lower()}; cannot {doing}",
        code="appointment_state",
        status=appointment.status,
    )


def not_removable(appointment: Appointment, redemption: Redemption, doing: str = "remove the package") -> Conflict:
    return Conflict(
        f"cannot {doing}: a session of package {redemption.package_id} was already redeemed for "
        f"appointment {appointment.external_id} (redemption {redemption.id}); the package cannot be "
        "removed after arrival — a manager must void the redemption (undo the arrival) instead",
        code="package_not_removable",
        field="package_id",
        redemption_id=redemption.id,
        package_id=redemption.package_id,
    )


# ---------------------------------------------------------------- the hold on the appointment's date


def place_hold(
    appointment: Appointment,
    package_id: int,
    *,
    actor: Actor,
    now: dt.datetime,
    backdate_reason: str | None = None,
    restoring: bool = False,
) -> Hold:
    """Hold a session of this package for the appointment's local date; every check is made at that date.

    A date before today is refused unless a manager gives `backdate_reason` (or an undo is `restoring`)."""
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
        backdate_reason=backdate_reason,
        restoring=restoring,
        now=now,
    )
    appointment.package_id = package_id
    return hold


def place_best_hold(
    appointment: Appointment,
    *,
    actor: Actor,
    now: dt.datetime,
    strict: bool = False,
    backdate_reason: str | None = None,
) -> Hold | None:
    """Hold on the first candidate package that passes every check at the appointment's date.

    Not strict (booking): no usable package books without one. Strict (apply_package): the reason the
    best candidate was refused is the answer. Each try is a savepoint: a refused candidate's rollback
    takes its package lock with it, so a booking ends up locking the one package it holds.
    """
    first_refusal = None
    candidates = selectors.candidate_packages(
        appointment.tenant, person_id=appointment.person_id, service_id=appointment.service_id, now=now
    )
    for summary in candidates:
        try:
            hold = place_hold(  # a savepoint each
                appointment, summary.package.id, actor=actor, now=now, backdate_reason=backdate_reason
            )
            return hold
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


def release_live_hold(appointment: Appointment, *, actor: Actor, now: dt.datetime, reason: str) -> Hold | None:
    hold = selectors.live_hold(appointment)
    if hold is not None:
        packages.release_hold(tenant=appointment.tenant, actor=actor, hold_id=hold.id, reason=reason, now=now)
    return hold


def restore_hold(appointment: Appointment, *, actor: Actor, now: dt.datetime) -> bool:
    """Undo paths put the package back as booked. If the package can no longer cover the date (e.g. it
    expired in the meantime and its sessions became breakage), the appointment is booked without it."""
    if appointment.package_id is None:
        return False
    try:
        place_hold(appointment, appointment.package_id, actor=actor, now=now, restoring=True)
        return True
    except RuleViolation:
        appointment.package_id = None
        return False


def post_live_hold(appointment: Appointment, *, actor: Actor, now: dt.datetime) -> Redemption | None:
    """Arrival (or a no-show redeemed): post the hold, then bill the visit like any arrival."""
    hold = selectors.live_hold(appointment)
    if hold is None:
        return None
    redemption = packages.post_hold(tenant=appointment.tenant, actor=actor, hold_id=hold.id, now=now)
    charges.after_redemption(appointment, redemption, actor=actor, now=now)
    return redemption


def void_live_redemption(appointment: Appointment, *, actor: Actor, now: dt.datetime, reason: str) -> int | None:
    redemption = selectors.live_redemption(appointment)
    if redemption is None:
        return None
    packages.void_redemption(
        tenant=appointment.tenant, actor=actor, redemption_id=redemption.id, reason=reason, now=now
    )  # co-pay and commission are reversed with it (packages.signals)
    return redemption.id
