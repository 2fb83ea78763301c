"""Promotions (SPEC §9: Buy N Free M, % off, amount off; by code or automatic) and bulk claim-code orders,
whose codes are downloaded once as CSV: only their digests are kept."""

from __future__ import annotations

import csv
import io
import uuid

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from punchcard import clock
from punchcard.catalogue import selectors as catalogue_selectors
from punchcard.claims import services as claims
from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.roles import Perm
from punchcard.packages import wording
from punchcard.promotions import services as promotions
from punchcard.promotions.models import Promotion

from ..access import desk_view
from . import manage_forms as forms

HERE = "console:manage-promotions"


def _promotion_rows(desk) -> list[dict]:
    rows = []
    for p in Promotion.objects.filter(tenant=desk.tenant).order_by("retired_at", "priority", "id"):
        if p.kind == "percent":
            terms = f"{p.percent_bp / 100:g} % off"
        elif p.kind == "fixed":
            terms = f"{wording.money(desk.tenant, p.amount)} off"
        elif p.kind == "bonus_sessions":
            terms = f"buy {p.buy}, {p.free} free"
        else:
            terms = "loyalty tiers"
        rows.append(
            {
                "promotion": p,
                "terms": terms,
                "window": f"{wording.day(desk.tenant, p.valid_from)} – {wording.day(desk.tenant, p.valid_to)}",
            }
        )
    return rows


def _context(desk, errors=None, posted=None) -> dict:
    return {
        "desk": desk,
        "rows": _promotion_rows(desk),
        "plans": catalogue_selectors.plans(desk.tenant).order_by("code"),
        "errors": errors or {},
        "posted": posted or {},
    }


@require_http_methods(["GET", "POST"])
@desk_view(Perm.EDIT_CATALOGUE)
def promotion_list(request):
    desk = request.desk
    template = "console/manage/promotions.html"
    if request.method == "GET":
        return render(request, template, _context(desk))
    post = request.POST

    def do():
        kind = post.get("kind", "")
        value = (post.get("value") or "").strip()
        terms = {}
        if kind == "percent":
            try:
                terms["percent_bp"] = round(float(value or "0") * 100)
            except ValueError:
                raise InvalidInput("give the discount as a percentage, like 10", field="value") from None
        elif kind == "fixed":
            terms["amount"] = forms.amount(desk.tenant, value, "value") or 0
        elif kind == "bonus_sessions":
            buy, _, free = value.partition("+")
            terms.update(buy=forms.whole(buy, "value"), free=forms.whole(free, "value"))
        promotions.create_promotion(
            tenant=desk.tenant,
            actor=desk.actor,
            name=post.get("name", ""),
            kind=kind,
            code=post.get("code") or None,
            automatic=post.get("automatic") == "on",
            plan_ids=[int(p) for p in post.getlist("plan_ids") if p.isdigit()],
            valid_from=forms.day(post.get("valid_from"), "valid_from"),
            valid_to=forms.day(post.get("valid_to"), "valid_to"),
            **terms,
        )

    def create():
        try:
            do()
        except DomainError as error:
            if error.field in ("percent_bp", "amount", "buy", "free"):
                error.field = "value"  # the form has one field for the promotion's value
            raise

    return forms.act(request, template=template, context=_context(desk), do=create, done="Promotion created.", to=HERE)


@require_POST
@desk_view(Perm.EDIT_CATALOGUE)
def promotion_retire(request, promotion_id: int):
    desk = request.desk
    return forms.act(
        request,
        template="console/manage/promotions.html",
        context=_context(desk),
        done="Promotion retired.",
        to=HERE,
        do=lambda: promotions.retire_promotion(tenant=desk.tenant, actor=desk.actor, promotion_id=promotion_id),
    )


def codes_csv(order) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "hint", "plan", "expires_on", "order"])
    for issued in order.codes:
        code = issued.code
        writer.writerow(
            [
                issued.display or "",
                code.hint,
                code.order_line.plan_version.name,
                code.expires_on.isoformat() if code.expires_on else "",
                order.order.number,
            ]
        )
    return out.getvalue()


@require_http_methods(["GET", "POST"])
@desk_view(Perm.SELL)
def claim_order(request):
    """A company buys N packages as codes: the POST answers with the codes' CSV, the only time they exist."""
    desk = request.desk
    context = {
        "desk": desk,
        "plans": catalogue_selectors.plans(desk.tenant).filter(status="on_sale").order_by("code"),
        "errors": {},
        "posted": request.POST,
        "key": request.POST.get("idempotency_key") or uuid.uuid4().hex,
    }
    template = "console/manage/claim_order.html"
    if request.method == "GET":
        return render(request, template, context)
    post = request.POST
    try:
        buyer = forms.patient_by_reference(desk.tenant, post.get("buyer", ""), "buyer")
        placed = claims.place_claim_order(
            tenant=desk.tenant,
            actor=desk.actor,
            buyer_id=buyer.id,
            centre_id=desk.centre.id,
            plan_id=forms.whole(post.get("plan_id") or "0", "plan_id"),
            quantity=forms.whole(post.get("quantity"), "quantity"),
            valid_days=forms.whole(post.get("valid_days") or "365", "valid_days"),
            idempotency_key=post.get("idempotency_key") or None,
        )
    except DomainError as error:
        context["errors"] = forms.refusal(desk.tenant, error)
        return render(request, template, context, status=422)
    response = HttpResponse(codes_csv(placed), content_type="text/csv; charset=utf-8")
    name = f"claim-codes-{placed.order.number}-{clock.now().date().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
