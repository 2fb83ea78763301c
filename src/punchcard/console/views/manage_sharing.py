"""Who a package belongs to and who shares it (SPEC §7): transfer to another patient, beneficiaries added
and removed."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from punchcard.domain.roles import Perm
from punchcard.packages import services as packages

from ..access import desk_view
from . import manage_forms as forms
from .manage_package import PAGE, package_context


@require_http_methods(["GET", "POST"])
@desk_view(Perm.TRANSFER)
def transfer(request, package_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    template = "console/manage/transfer.html"
    if request.method == "GET":
        return render(request, template, context)

    def do():
        person = forms.patient_by_reference(desk.tenant, request.POST.get("patient", ""))
        packages.transfer_package(
            tenant=desk.tenant,
            actor=desk.actor,
            package_id=package_id,
            to_patient_id=person.id,
            reason=request.POST.get("reason", ""),
        )

    return forms.act(
        request, template=template, context=context, do=do, done="Transferred.", to=PAGE, args=[package_id]
    )


def _beneficiaries(context) -> list:
    return sorted(
        (b for b in context["package"].beneficiaries.select_related("patient") if b.removed_at is None),
        key=lambda b: b.patient.name,
    )


@require_http_methods(["GET", "POST"])
@desk_view(Perm.REDEEM)
def beneficiaries(request, package_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    context["beneficiaries"] = _beneficiaries(context)
    template = "console/manage/beneficiaries.html"
    if request.method == "GET":
        return render(request, template, context)

    def do():
        person = forms.patient_by_reference(desk.tenant, request.POST.get("patient", ""))
        packages.add_beneficiary(tenant=desk.tenant, actor=desk.actor, package_id=package_id, patient_id=person.id)

    here = "console:manage-beneficiaries"
    return forms.act(
        request, template=template, context=context, do=do, done="Beneficiary added.", to=here, args=[package_id]
    )


@require_POST
@desk_view(Perm.REDEEM)
def remove_beneficiary(request, package_id: int, patient_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    context["beneficiaries"] = _beneficiaries(context)

    def do():
        packages.remove_beneficiary(tenant=desk.tenant, actor=desk.actor, package_id=package_id, patient_id=patient_id)

    return forms.act(
        request,
        template="console/manage/beneficiaries.html",
        context=context,
        do=do,
        done="Beneficiary removed.",
        to="console:manage-beneficiaries",
        args=[package_id],
    )
