"""The package on a booked appointment: applied, swapped or removed, before arrival only. After it the
session is redeemed, and taking the package off is a manager's void (undo the arrival):
`package_not_removable`.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.packages import services as packages
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import Appointment, AppointmentStatus
from .booking import AUTO, checked_package_choice
from .primitives import (
    lock_appointment,
    not_removable,
    place_best_hold,
    place_hold,
    release_live_hold,
    save_appointment,
    state_conflict,
)


@transaction.atomic
def apply_package(
    *, tenant: Tenant, actor: Actor, appointment_id: int, package_id=AUTO, now: dt.datetime | None = None
) -> Appointment:
    """Apply a package to a booked appointment (before arrival): AUTO pre-selects by the rule, an id chooses
    one. A different package already held is swapped in the same transaction; a refusal changes nothing."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    package_id = checked_package_choice(package_id)
    if package_id is None:
        raise InvalidInput(
            "package_id is required (an id or 'auto'); use remove_package to take it off", field="package_id"
        )
    appointment = lock_appointment(tenant, appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        redemption = selectors.live_redemption(appointment)
        if redemption is not None:
            raise not_removable(appointment, redemption, "change the package")
        raise state_conflict(appointment, "apply a package (only before arrival)")
    hold = selectors.live_hold(appointment)
    if hold is not None and package_id in (AUTO, hold.package_id):
        return appointment  # already covered
    if hold is not None:
        if package_id != AUTO:
            # Two packages change: lock both in id order (the lock order), so two swaps never deadlock.
            for each in sorted({hold.package_id, package_id}):
                packages.lock_package(tenant, each)
        release_live_hold(appointment, actor=actor, now=now, reason="another package applied")
    if package_id == AUTO:
        place_best_hold(appointment, actor=actor, now=now, strict=True)
    else:
        place_hold(appointment, package_id, actor=actor, now=now)
    save_appointment(appointment, now, "package")
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
    reason = validation.reason(reason, required=False)
    appointment = lock_appointment(tenant, appointment_id)
    redemption = selectors.live_redemption(appointment)
    if redemption is not None:
        raise not_removable(appointment, redemption)
    if appointment.package_id is None and selectors.live_hold(appointment) is None:
        return appointment
    hold = release_live_hold(appointment, actor=actor, now=now, reason=reason or "package removed from the appointment")
    removed = appointment.package_id
    appointment.package_id = None
    save_appointment(appointment, now, "package")
    audit(
        tenant=tenant,
        actor=actor,
        action="appointment.remove_package",
        subject=appointment,
        now=now,
        reason=reason,
        data={"package_id": removed, "hold_id": hold.id if hold else None},
    )
    return appointment
