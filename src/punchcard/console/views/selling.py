"""Selling a package at the desk: the plans on sale with their saving against list prices and today's
automatic promotions, a promotion code (checked with a quote before the sale), the start date, the staff
member credited, and a payment taken now — or pay later, which a manager may allow."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.shortcuts import redirect, render

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.billing.models import Tender
from punchcard.catalogue import selectors as catalogue_selectors
from punchcard.catalogue.models import PlanStatus
from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.roles import Perm
from punchcard.packages import wording
from punchcard.promotions import services as promotions
from punchcard.tenancy import selectors as tenancy_selectors

from ..access import desk_view
from ..refusals import refusal

METHODS = [m for m in Tender if m not in (Tender.CREDIT, Tender.EXTERNAL)]


def _list_value(version) -> int:
    """What the sessions cost at list prices (a pool at its cheapest service)."""
    return sum(
        (line.sessions + line.bonus_sessions) * min((s.list_price for s in line.services.all()), default=0)
        for line in version.lines.all()
    )


def plans_on_sale(desk, person) -> list[dict]:
    day = tenancy_selectors.local_date(clock.now(), desk.centre)
    versions = [
        plan.current for plan in catalogue_selectors.plans(desk.tenant).filter(status=PlanStatus.ON_SALE).order_by("id")
    ]
    versions = [v for v in versions if v is not None and v.on_sale(day)]
    out = []
    for version in versions:
        (offer,) = promotions.quote(
            tenant=desk.tenant,
            actor=desk.actor,
            patient_id=person.id,
            centre_id=desk.centre.id,
            plan_ids=[version.plan_id],
        )
        listed = _list_value(version)
        out.append(
            {
                "plan_id": version.plan_id,
                "name": version.name,
                "description": version.description,
                "price": wording.money(desk.tenant, version.price),
                "list": wording.money(desk.tenant, listed),
                "saving": wording.money(desk.tenant, listed - version.price) if listed > version.price else "",
                "promotion": wording.money(desk.tenant, offer.discount) if offer.discount else "",
                "pays": wording.money(desk.tenant, offer.gross),
            }
        )
    return out


def _quote_with_code(desk, person, plan_id: int, code: str) -> str:
    (offer,) = promotions.quote(
        tenant=desk.tenant,
        actor=desk.actor,
        patient_id=person.id,
        centre_id=desk.centre.id,
        plan_ids=[plan_id],
        promotion_code=code,
    )
    return (
        f"With {code}: {wording.money(desk.tenant, offer.gross)} to pay "
        f"({wording.money(desk.tenant, offer.discount)} off {wording.money(desk.tenant, offer.price)})."
    )


def _plan_id(text: str) -> int:
    if not (text or "").isdigit():
        raise InvalidInput("plan: choose one of the plans on sale", field="plan_id")
    return int(text)


def _start(text: str) -> dt.date | None:
    if not (text or "").strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("start date: give a date, e.g. 2026-06-01", field="start_date") from None


def _page(request, person, *, refused=None, quoted: str = "", status: int = 200):
    desk = request.desk
    data = request.POST if request.method == "POST" else request.GET
    context = {
        "desk": desk,
        "person": person,
        "plans": plans_on_sale(desk, person),
        "staff": tenancy_selectors.staff(desk.tenant),
        "methods": METHODS,
        "can_pay_later": desk.can(Perm.ADJUST),
        "data": data,
        "key": data.get("key") or uuid.uuid4().hex,
        "refusal": refused,
        "quoted": quoted,
    }
    return render(request, "console/sell.html", context, status=status)


@desk_view(Perm.SELL)
def sell(request, patient_id: int):
    desk = request.desk
    person = tenancy_selectors.patient(desk.tenant, patient_id)
    data = request.POST if request.method == "POST" else request.GET
    code = data.get("promotion_code", "").strip()
    if request.method != "POST" or data.get("step") == "quote":
        if not (code and data.get("plan_id")):
            return _page(request, person)
        try:  # "Check the price": a quote with the code, nothing written
            return _page(request, person, quoted=_quote_with_code(desk, person, _plan_id(data["plan_id"]), code))
        except DomainError as error:
            refused = refusal(error, tenant=request.desk.tenant)
            return _page(request, person, refused=refused, status=refused.status)
    later = data.get("payment") == "later"
    try:
        staff_id = data.get("credited_staff_id", "")
        package = billing.sell_package(
            tenant=desk.tenant,
            actor=desk.actor,
            patient_id=person.id,
            centre_id=desk.centre.id,
            plan_id=_plan_id(data.get("plan_id")),
            start_date=_start(data.get("start_date", "")),
            method=data.get("method", ""),
            reference=data.get("reference", "").strip(),
            credited_staff_id=int(staff_id) if staff_id.isdigit() else None,
            promotion_code=code or None,
            pay_later_reason=(data.get("pay_later_reason", "").strip() or "pay later at the desk") if later else None,
            idempotency_key=f"console-sale-{data.get('key', '')[:40]}",
        )
    except DomainError as error:
        refused = refusal(error, tenant=request.desk.tenant)
        return _page(request, person, refused=refused, status=refused.status)
    paid = "to pay later" if later else "paid"
    messages.success(request, f"{person.name}: {package.plan_version.name} #{package.id} sold, {paid}.")
    return redirect("console:patient", patient_id=person.id)
