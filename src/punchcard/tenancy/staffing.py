"""Staff changes after hiring: a new role, or leaving (deactivated: their login stops, their history stays).

Hiring is `services.create_staff_member`."""

from __future__ import annotations

from django.db import transaction

from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.roles import ROLES, Actor, Perm, Role

from .models import StaffMember, Tenant
from .selectors import scoped_get
from .services import audit


def _member(tenant: Tenant, staff_id) -> StaffMember:
    return scoped_get(StaffMember, tenant=tenant, pk=staff_id, field="staff_id")


def _refuse_self(actor: Actor, member: StaffMember, what: str) -> None:
    # An admin cannot lock themself out; another admin (or the command line) can.
    if actor.staff_id is not None and actor.staff_id == member.id:
        raise Conflict(f"you cannot {what} yourself; ask another admin", field="staff_id")


@transaction.atomic
def update_staff_member(
    *,
    tenant: Tenant,
    actor: Actor,
    staff_id: int,
    role: str | None = None,
    name: str | None = None,
    is_practitioner: bool | None = None,
) -> StaffMember:
    """Change a staff member's role (what they may do from their next request), name or practitioner flag."""
    actor.require(Perm.ADMIN)
    member = _member(tenant, staff_id)
    changes = {}
    if role is not None:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
        if role != member.role and member.role == Role.ADMIN:
            _refuse_self(actor, member, "demote")
        changes["role"] = role
    if name is not None:
        changes["name"] = validation.text(name, "name")
    if is_practitioner is not None:
        changes["is_practitioner"] = bool(is_practitioner)
    if changes:
        before = {field: getattr(member, field) for field in changes}
        for field, value in changes.items():
            setattr(member, field, value)
        member.save(update_fields=list(changes))
        audit(tenant=tenant, actor=actor, action="staff.update", subject=member, data={"from": before, "to": changes})
    return member


@transaction.atomic
def deactivate_staff_member(*, tenant: Tenant, actor: Actor, staff_id: int, reason: str) -> StaffMember:
    """A staff member leaves: their login stops working at once; sales and sessions credited to them stay."""
    actor.require(Perm.ADMIN)
    reason = validation.reason(reason)
    member = _member(tenant, staff_id)
    _refuse_self(actor, member, "deactivate")
    if member.active:
        member.active = False
        member.save(update_fields=["active"])
        if member.user_id:
            type(member.user).objects.filter(pk=member.user_id).update(is_active=False)
        audit(tenant=tenant, actor=actor, action="staff.deactivate", subject=member, reason=reason)
    return member
