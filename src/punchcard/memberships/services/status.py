"""The one way a membership's status changes: through domain.membership_status.ALLOWED, stamped and audited."""

from __future__ import annotations

import datetime as dt

from punchcard.domain.membership_status import MembershipStatus, ensure_transition
from punchcard.domain.roles import Actor
from punchcard.tenancy.services import audit

from ..models import Membership


def change_status(
    membership: Membership, target: MembershipStatus, *, actor: Actor, now: dt.datetime, reason: str = ""
) -> None:
    """Move a locked membership to `target` (refused unless the table allows it); the caller saves the row."""
    current = MembershipStatus(membership.status)
    if current == target:
        return
    ensure_transition(current, target)
    membership.status = str(target)
    membership.status_changed_at = now
    membership.status_changed_by = actor.label
    membership.status_reason = reason
    audit(
        tenant=membership.tenant,
        actor=actor,
        action="membership.status",
        subject=membership,
        reason=reason,
        now=now,
        data={"from": str(current), "to": str(target)},
    )


def lock_membership(tenant, membership_id) -> Membership:
    """The membership under its row lock (README lock order: after the plan, before its invoices and the
    patient's credit); FOR NO KEY UPDATE, so periods and invoices referencing it can still be inserted."""
    return (
        Membership.objects.select_for_update(no_key=True, of=("self",))  # not the plan, patient or tenant it joins
        .select_related("version", "plan", "patient", "centre", "tenant")
        .get(tenant=tenant, pk=membership_id)
    )
