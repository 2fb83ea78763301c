"""A package as the manager works on it: its lines and redemptions, and the corrections a manager makes —
expiry extended, shortened or cleared; sessions adjusted; the package completed or cancelled."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from punchcard.billing import selectors as billing_selectors
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Perm
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.packages import wording

from ..access import desk_view
from . import manage_forms as forms

PAGE = "console:manage-package"


def package_context(desk, package_id: int) -> dict:
    """What every page about one package shows at its top."""
    package = package_selectors.package_detail(desk.tenant, package_id)
    summary = package_selectors.summarize(package, lines=sorted(package.lines.all(), key=lambda line: line.id))
    expiry = wording.expiry_text(desk.tenant, summary)
    return {
        "desk": desk,
        "package": package,
        "summary": summary,
        "status": wording.status_text(summary),
        "expiry": expiry,
        "lines": [{"line": line, "text": wording.line_text(line, expiry)} for line in summary.lines],
        "errors": {},
        "posted": {},
    }


@desk_view()
def package(request, package_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    pkg = context["package"]
    rows = package_selectors.redemptions(desk.tenant).filter(package=pkg).order_by("-at", "-id")
    context["redemptions"] = list(rows)
    context["beneficiaries"] = sorted(
        (b for b in pkg.beneficiaries.select_related("patient") if b.removed_at is None), key=lambda b: b.patient.name
    )
    if desk.can(Perm.READ_MONEY) or desk.can(Perm.REFUND):
        context["collected"] = wording.money(desk.tenant, billing_selectors.collected_for(pkg))
        context["deferred"] = wording.money(desk.tenant, context["summary"].deferred_value)
    context["sold_on"] = wording.day(desk.tenant, pkg.purchased_on)
    context["perm"] = {p.name: desk.can(p) for p in Perm}
    return render(request, "console/manage/package.html", context)


@require_http_methods(["GET", "POST"])
@desk_view(Perm.CHANGE_EXPIRY)
def expiry(request, package_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    template = "console/manage/expiry.html"
    if request.method == "GET":
        return render(request, template, context)

    def do():
        clear = request.POST.get("change") == "clear"
        expires_on = None if clear else forms.day(request.POST.get("expires_on"), "expires_on")
        if not clear and expires_on is None:
            raise InvalidInput("give the new last valid day, or choose no expiry", field="expires_on")
        packages.change_expiry(
            tenant=desk.tenant,
            actor=desk.actor,
            package_id=package_id,
            expires_on=expires_on,
            reason=request.POST.get("reason", ""),
        )

    return forms.act(
        request, template=template, context=context, do=do, done="Expiry changed.", to=PAGE, args=[package_id]
    )


@require_http_methods(["GET", "POST"])
@desk_view(Perm.ADJUST)
def adjust(request, package_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    template = "console/manage/adjust.html"
    if request.method == "GET":
        return render(request, template, context)

    def do():
        line = forms.whole(request.POST.get("line") or "0", "line")
        delta = forms.whole(request.POST.get("delta"), "delta")
        packages.adjust_sessions(
            tenant=desk.tenant,
            actor=desk.actor,
            package_id=package_id,
            line_id=line,
            delta=delta,
            reason=request.POST.get("reason", ""),
        )

    return forms.act(
        request, template=template, context=context, do=do, done="Sessions adjusted.", to=PAGE, args=[package_id]
    )


@require_http_methods(["GET", "POST"])
@desk_view(Perm.CLOSE)
def close(request, package_id: int):
    desk = request.desk
    context = package_context(desk, package_id)
    template = "console/manage/close.html"
    if request.method == "GET":
        return render(request, template, context)
    how = request.POST.get("how")

    def do():
        service = {"complete": packages.complete_package, "cancel": packages.cancel_package}.get(how)
        if service is None:
            raise InvalidInput("choose complete or cancel", field="how")
        service(tenant=desk.tenant, actor=desk.actor, package_id=package_id, reason=request.POST.get("reason", ""))

    done = "Package completed." if how == "complete" else "Package cancelled."
    return forms.act(request, template=template, context=context, do=do, done=done, to=PAGE, args=[package_id])
