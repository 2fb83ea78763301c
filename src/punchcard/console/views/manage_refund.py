"""Refunding a package to the patient's credit: the suggested amount shown, any override from 0 to what was
collected (SPEC §8.2)."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from punchcard.billing import selectors as billing_selectors
from punchcard.billing import services as billing
from punchcard.domain.roles import Perm
from punchcard.packages import wording

from ..access import desk_view
from . import manage_forms as forms
from .manage_package import PAGE, package_context


@require_http_methods(["GET", "POST"])
@desk_view(Perm.REFUND)
def refund(request, package_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    pkg = context["package"]
    suggested = billing_selectors.suggested_refund(pkg, context["summary"].lines)
    collected = billing_selectors.collected_for(pkg)
    context.update(
        suggested=wording.money(desk.tenant, suggested),
        collected=wording.money(desk.tenant, collected),
        suggested_typed=forms.typed(suggested, desk.tenant.currency),
        zero=wording.money(desk.tenant, 0),
    )
    template = "console/manage/refund.html"
    if request.method == "GET":
        return render(request, template, context)

    def do():
        amount = forms.amount(desk.tenant, request.POST.get("amount", ""))
        billing.refund_package(
            tenant=desk.tenant,
            actor=desk.actor,
            package_id=package_id,
            reason=request.POST.get("reason", ""),
            amount=amount,
        )

    return forms.act(
        request,
        template=template,
        context=context,
        do=do,
        done="Refunded to the patient's credit.",
        to=PAGE,
        args=[package_id],
    )
