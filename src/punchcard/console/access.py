"""Who is at the desk: the logged-in staff member, their tenant and role, and the centre they work at.

`desk_view(perm)` guards every console view: not logged in → the login page; a login that is not an
active staff member → refused; a role without `perm` → a page saying so (403), whatever the page shows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from punchcard import clock
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.auth import staff_actor
from punchcard.tenancy.models import Centre, StaffMember, Tenant
from punchcard.tenancy.selectors import own_clock

CENTRE_KEY = "console.centre_id"


@dataclass(frozen=True)
class Desk:
    member: StaffMember
    tenant: Tenant
    actor: Actor
    centre: Centre
    centres: list[Centre]

    def can(self, perm: Perm) -> bool:
        return self.actor.can(perm)


def desk_of(request) -> Desk | None:
    user = request.user
    if not user.is_authenticated:
        return None
    member = StaffMember.objects.select_related("tenant").filter(user_id=user.pk, active=True).first()
    if member is None:
        return None
    clock.use_tenant_time(own_clock(member.tenant))  # a sandbox's desk works on its test clock, this request
    centres = list(Centre.objects.filter(tenant=member.tenant).order_by("name"))
    chosen = request.session.get(CENTRE_KEY)
    centre = next((c for c in centres if c.id == chosen), centres[0] if centres else None)
    actor = staff_actor(member)
    # The centre is where the change came from: it goes into the ledger and audit trail with the actor.
    actor = Actor(
        label=actor.label,
        role=actor.role,
        source=f"console:{centre.code}" if centre else "console",
        staff_id=actor.staff_id,
    )
    return Desk(member=member, tenant=member.tenant, actor=actor, centre=centre, centres=centres)


def desk_view(perm: Perm | None = Perm.READ):
    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            desk = desk_of(request)
            if desk is None:
                return render(
                    request, "console/denied.html", {"reason": "This login is not a staff member."}, status=403
                )
            request.desk = desk
            if perm is not None and not desk.can(perm):
                reason = f"Your role ({desk.member.get_role_display()}) cannot do this; ask a manager."
                return render(request, "console/denied.html", {"reason": reason, "desk": desk}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
