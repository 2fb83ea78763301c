"""The catalogue (SPEC §2): plans listed with their current version, a new plan, a plan's terms edited (a
sold version stays as it was and the edit makes a new one — the page says so), put on sale or retired, sold
online in the patient portal or not."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from punchcard.catalogue import selectors as catalogue_selectors
from punchcard.catalogue import services as catalogue
from punchcard.domain.errors import DomainError
from punchcard.domain.roles import Perm
from punchcard.packages import wording
from punchcard.tenancy.models import Service

from ..access import desk_view
from . import manage_forms as forms
from . import manage_plan_form as plan_form

LIST = "console:manage-catalogue"


@desk_view(Perm.EDIT_CATALOGUE)
def catalogue_list(request):
    desk = request.desk
    rows = []
    for plan in catalogue_selectors.plans(desk.tenant).order_by("code"):
        version = plan.current
        rows.append(
            {
                "plan": plan,
                "version": version,
                "price": wording.money(desk.tenant, version.price, version.currency),
                "lines": [
                    f"{line.label}: {line.sessions} + {line.bonus_sessions} bonus"
                    if line.bonus_sessions
                    else f"{line.label}: {line.sessions}"
                    for line in version.lines.all()
                ],
                "scope": wording.scope_text(version),
            }
        )
    return render(request, "console/manage/catalogue.html", {"desk": desk, "rows": rows})


def _form_context(desk, plan, initial, errors) -> dict:
    return {
        "desk": desk,
        "plan": plan,
        "sold": plan is not None and (plan.current.packages.exists() or plan.current.order_lines.exists()),
        "f": initial,
        "line_rows": plan_form.line_rows(initial),
        "services": Service.objects.filter(tenant=desk.tenant).order_by("name"),
        "errors": errors,
    }


@require_http_methods(["GET", "POST"])
@desk_view(Perm.EDIT_CATALOGUE)
def plan_edit(request, plan_id: int | None = None):
    desk = request.desk
    plan = catalogue_selectors.plan(desk.tenant, plan_id) if plan_id else None
    template = "console/manage/plan_form.html"
    if request.method == "GET":
        initial = plan_form.initial_of(plan.current if plan else None)
        return render(request, template, _form_context(desk, plan, initial, {}))
    try:
        terms = plan_form.terms_from(request.POST, desk.tenant, plan.current if plan else None)
        if plan is None:
            version = catalogue.create_plan(
                tenant=desk.tenant,
                actor=desk.actor,
                code=request.POST.get("code", ""),
                terms=terms,
                status=request.POST.get("status") or "draft",
            )
            messages.success(request, f"Plan {version.plan.code} created.")
        else:
            before = plan.current.number
            version = catalogue.edit_plan(tenant=desk.tenant, actor=desk.actor, plan_id=plan.id, terms=terms)
            if version.number != before:
                messages.success(
                    request, f"Saved as version {version.number}: packages already sold keep version {before}."
                )
            else:
                messages.success(request, f"Version {version.number} rewritten (nothing was sold on it).")
    except DomainError as error:
        initial = plan_form.initial_from_post(request.POST)
        return render(
            request, template, _form_context(desk, plan, initial, forms.refusal(desk.tenant, error)), status=422
        )
    return redirect(LIST)


@require_POST
@desk_view(Perm.EDIT_CATALOGUE)
def plan_status(request, plan_id: int):
    desk = request.desk
    try:
        plan = catalogue.set_plan_status(
            tenant=desk.tenant, actor=desk.actor, plan_id=plan_id, status=request.POST.get("status", "")
        )
        messages.success(request, f"{plan.code} is now {plan.get_status_display().lower()}.")
    except DomainError as error:
        messages.error(request, forms.in_clinic_words(desk.tenant, error))
    return redirect(LIST)


@require_POST
@desk_view(Perm.EDIT_CATALOGUE)
def plan_online(request, plan_id: int):
    """Whether patients may buy the plan themselves in the portal."""
    desk = request.desk
    try:
        plan = catalogue.set_plan_online(
            tenant=desk.tenant, actor=desk.actor, plan_id=plan_id, online=request.POST.get("online") == "1"
        )
        said = "is sold online in the patient portal" if plan.sold_online else "is no longer sold online"
        messages.success(request, f"{plan.code} {said}.")
    except DomainError as error:
        messages.error(request, forms.in_clinic_words(desk.tenant, error))
    return redirect(LIST)
