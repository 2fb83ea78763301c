"""The admin's settings: staff and their roles (hire, change a role, deactivate), API keys (the secret shown
once), the no-show fees."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from punchcard.appointments import selectors as appointment_selectors
from punchcard.appointments import services as appointments
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import ROLES, Perm, Role
from punchcard.packages import wording
from punchcard.tenancy import services as tenancy
from punchcard.tenancy import staffing
from punchcard.tenancy.models import ApiKey, StaffMember

from ..access import desk_view
from . import manage_forms as forms

STAFF = "console:manage-staff"
FEES = "console:manage-no-show-fees"


def _staff_context(desk, **more) -> dict:
    return {
        "desk": desk,
        "staff": StaffMember.objects.filter(tenant=desk.tenant).select_related("user").order_by("-active", "name"),
        "keys": ApiKey.objects.filter(tenant=desk.tenant).order_by("revoked_at", "name"),
        "roles": [(r, Role(r).label) for r in ROLES],
        "errors": {},
        "posted": {},
        **more,
    }


@desk_view(Perm.ADMIN)
def staff(request):
    return render(request, "console/manage/staff.html", _staff_context(request.desk))


@require_POST
@desk_view(Perm.ADMIN)
def staff_create(request):
    desk, post = request.desk, request.POST

    def do():
        username = post.get("username", "").strip()
        if username and len(post.get("password", "")) < 12:
            raise InvalidInput("a console password needs at least 12 characters", field="password")
        tenancy.create_staff_member(
            tenant=desk.tenant,
            actor=desk.actor,
            name=post.get("name", ""),
            role=post.get("role", ""),
            is_practitioner=post.get("is_practitioner") == "on",
            username=username or None,
            password=post.get("password") or None,
        )

    return forms.act(
        request,
        template="console/manage/staff.html",
        context=_staff_context(desk),
        do=do,
        done="Staff member added.",
        to=STAFF,
    )


def _staff_change(request, staff_id: int, *, do, done: str):
    """A change to one staff member; a refusal shows on their row (the service names `staff_id` or the field)."""
    desk = request.desk
    try:
        do()
    except forms.DomainError as error:
        context = _staff_context(desk, refused_id=staff_id, refused=forms.in_clinic_words(desk.tenant, error))
        status = {"forbidden": 403, "not_found": 404}.get(error.kind, 422)
        return render(request, "console/manage/staff.html", context, status=status)
    messages.success(request, done)
    return redirect(STAFF)


@require_POST
@desk_view(Perm.ADMIN)
def staff_role(request, staff_id: int):
    desk = request.desk
    return _staff_change(
        request,
        staff_id,
        done="Role changed: it applies from their next page.",
        do=lambda: staffing.update_staff_member(
            tenant=desk.tenant, actor=desk.actor, staff_id=staff_id, role=request.POST.get("role", "")
        ),
    )


@require_POST
@desk_view(Perm.ADMIN)
def staff_deactivate(request, staff_id: int):
    desk = request.desk
    return _staff_change(
        request,
        staff_id,
        done="Deactivated: their login no longer works; what they sold and delivered stays theirs.",
        do=lambda: staffing.deactivate_staff_member(
            tenant=desk.tenant, actor=desk.actor, staff_id=staff_id, reason=request.POST.get("reason", "")
        ),
    )


@require_POST
@desk_view(Perm.ADMIN)
def api_key_create(request):
    desk = request.desk
    context = _staff_context(desk)
    try:
        key, secret = tenancy.create_api_key(
            tenant=desk.tenant,
            actor=desk.actor,
            name=request.POST.get("key_name", ""),
            role=request.POST.get("key_role", ""),
        )
    except forms.DomainError as error:
        context.update(
            errors={
                f"key_{k}" if k in ("name", "role") else k: v for k, v in forms.refusal(desk.tenant, error).items()
            },
            posted=request.POST,
        )
        return render(request, "console/manage/staff.html", context, status=422)
    # The secret is in this one answer and nowhere else: only its digest is stored.
    context.update(new_key=key, secret=secret, keys=_staff_context(desk)["keys"])
    return render(request, "console/manage/staff.html", context)


@require_POST
@desk_view(Perm.ADMIN)
def api_key_revoke(request, prefix: str):
    desk = request.desk
    return forms.act(
        request,
        template="console/manage/staff.html",
        context=_staff_context(desk),
        done="API key revoked.",
        to=STAFF,
        do=lambda: tenancy.revoke_api_key(tenant=desk.tenant, actor=desk.actor, prefix=prefix),
    )


def _fees_context(desk) -> dict:
    settings = appointment_selectors.no_show_settings(desk.tenant)
    rows = [
        {
            "code": f.code,
            "name": f.name,
            "amount": forms.typed(f.amount, desk.tenant.currency),
            "shown": wording.money(desk.tenant, f.amount),
        }
        for f in settings.fees
    ]
    rows += [{"code": "", "name": "", "amount": ""}] * 2
    return {
        "desk": desk,
        "fees": [{"i": i, **r} for i, r in enumerate(rows)],
        "settings": settings,
        "errors": {},
        "posted": {},
    }


@require_http_methods(["GET", "POST"])
@desk_view(Perm.ADMIN)
def no_show_fees(request):
    desk = request.desk
    template = "console/manage/no_show_fees.html"
    context = _fees_context(desk)
    if request.method == "GET":
        return render(request, template, context)
    post = request.POST

    def do():
        fees = []
        for i in range(len(context["fees"])):
            code, name, amount = (post.get(f"fee{i}_{k}", "").strip() for k in ("code", "name", "amount"))
            if code or name or amount:
                fees.append(
                    {"code": code, "name": name, "amount": forms.amount(desk.tenant, amount, f"fees[{i}].amount")}
                )
        appointments.configure_no_show_fees(
            tenant=desk.tenant, actor=desk.actor, fees=fees, default_option=post.get("default_option") or None
        )

    return forms.act(request, template=template, context=context, do=do, done="No-show fees saved.", to=FEES)
