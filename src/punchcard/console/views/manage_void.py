"""Voiding a redemption made in error (SPEC §6). A manager voids it; a front-desk user asks, and a manager
approves at the same desk by typing their own username and password — the service records that manager as
the approver, and the entry's source names who asked."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from punchcard.domain.errors import Forbidden, InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.tenancy.auth import staff_actor
from punchcard.tenancy.models import StaffMember

from ..access import desk_view
from . import manage_forms as forms
from .manage_package import PAGE, package_context


def approver(request, desk) -> Actor:
    """The actor a void is done as: the desk's own if it may void, else the approving manager's."""
    if desk.can(Perm.VOID):
        return desk.actor
    username = request.POST.get("approver_username", "").strip()
    password = request.POST.get("approver_password", "")
    if not username or not password:
        raise Forbidden("a manager must approve: they type their username and password", field="approver_username")
    user = authenticate(request, username=username, password=password)
    member = None
    if user is not None:
        member = StaffMember.objects.filter(tenant=desk.tenant, user_id=user.pk, active=True).first()
    if member is None:
        raise InvalidInput("that manager's username or password is not right", field="approver_username")
    actor = staff_actor(member)
    if not actor.can(Perm.VOID):
        raise Forbidden(f"{member.name} ({member.get_role_display()}) cannot approve a void", field="approver_username")
    return Actor(
        label=actor.label,
        role=actor.role,
        source=f"{desk.actor.source}, asked by {desk.actor.label}",
        staff_id=actor.staff_id,
    )


@require_http_methods(["GET", "POST"])
@desk_view(Perm.REDEEM)
def void(request, redemption_id: int):
    desk = request.desk
    redemption = package_selectors.redemption(desk.tenant, redemption_id)
    context = package_context(desk, redemption.package_id)
    context.update(redemption=redemption, needs_approval=not desk.can(Perm.VOID))
    template = "console/manage/void.html"
    if request.method == "GET":
        return render(request, template, context)

    def do():
        packages.void_redemption(
            tenant=desk.tenant,
            actor=approver(request, desk),
            redemption_id=redemption.id,
            reason=request.POST.get("reason", ""),
        )

    done = "Redemption voided; the session is back on the package."
    return forms.act(
        request, template=template, context=context, do=do, done=done, to=PAGE, args=[redemption.package_id]
    )
