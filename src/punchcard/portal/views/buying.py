"""Buying a plan the clinic sells online: an order in the patient's name, then the payment provider's hosted
checkout (settings.PORTAL_PAYMENT_PROVIDER), and back to a page that says how it went. The package opens
when the provider says the payment succeeded (billing.complete_checkout records it); a declined card leaves
the order open, to pay with another card."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from punchcard import clock
from punchcard.billing import selectors as billing_selectors
from punchcard.billing import services as billing
from punchcard.billing.models import CheckoutStatus, Order
from punchcard.billing.providers.test import TOKENS
from punchcard.catalogue import selectors as catalogue_selectors
from punchcard.domain.errors import DomainError, InvalidInput, NotFound
from punchcard.kernel.refusals import refusal
from punchcard.packages import wording
from punchcard.tenancy import selectors as tenancy_selectors

from ..access import missing, portal_view

# What a patient reads when the provider declined (billing.providers.FAILURE_CODES), else the general words.
DECLINED = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card was declined for insufficient funds.",
    "expired_card": "Your card has expired.",
}


def _offers(visit, centre) -> list[dict]:
    day = tenancy_selectors.local_date(clock.now(), centre)
    return [
        {
            "plan_id": version.plan_id,
            "name": version.name,
            "description": version.description,
            "price": wording.money(visit.tenant, version.price),
        }
        for version in catalogue_selectors.sold_online(visit.tenant, day)
    ]


def _page(request, *, refused: str = "", status: int = 200):
    visit = request.visit
    centres = tenancy_selectors.centres(visit.tenant)
    context = {
        "visit": visit,
        "centres": centres,
        "plans": _offers(visit, centres[0]) if centres else [],
        "test_cards": list(TOKENS) if settings.PORTAL_PAYMENT_PROVIDER == "test" else [],
        "key": uuid.uuid4().hex,
        "refusal": refused,
        "data": request.POST,
    }
    return render(request, "portal/buy.html", context, status=status)


def _whole(text: str, field: str) -> int:
    if not (text or "").isdigit():
        raise InvalidInput(f"{field}: choose one", field=field)
    return int(text)


@portal_view
def buy(request):
    """The plans sold online; buying one places the order and sends the patient to the payment page."""
    if request.method != "POST":
        return _page(request)
    visit = request.visit
    try:
        order = billing.place_order(
            tenant=visit.tenant,
            actor=visit.actor,
            patient_id=visit.patient.id,
            centre_id=_whole(request.POST.get("centre_id", ""), "centre_id"),
            items=[billing.OrderItem(plan_id=_online_plan(visit, request.POST.get("plan_id", "")))],
            idempotency_key=f"portal-order-{request.POST.get('key', '')[:40]}",
        )
        checkout = _checkout(visit, order)
    except DomainError as error:
        refused = refusal(error, tenant=visit.tenant)
        return _page(request, refused=refused.message, status=refused.status)
    return redirect(_provider_page(request, checkout))


def _online_plan(visit, text: str) -> int:
    plan_id = _whole(text, "plan_id")
    day = tenancy_selectors.local_date(clock.now(), tenancy_selectors.centres(visit.tenant)[0])
    if plan_id not in {v.plan_id for v in catalogue_selectors.sold_online(visit.tenant, day)}:
        raise InvalidInput("plan: choose one of the plans sold online", field="plan_id")
    return plan_id


def _checkout(visit, order: Order):
    return billing.start_checkout(
        tenant=visit.tenant,
        actor=visit.actor,
        order_id=order.id,
        provider=settings.PORTAL_PAYMENT_PROVIDER,
        return_url=reverse("portal:paid"),
        idempotency_key=f"portal-checkout-{order.id}-{uuid.uuid4().hex[:12]}",
    )


def _provider_page(request, checkout) -> str:
    """The provider's hosted page; the test provider's stand-in takes the test card chosen on ours."""
    card = request.POST.get("test_card", "")
    if settings.PORTAL_PAYMENT_PROVIDER == "test" and card in TOKENS:
        return f"{checkout.redirect_url}?{urlencode({'token': card})}"
    return checkout.redirect_url


@portal_view
def paid(request):
    """Back from the provider: the package is theirs, or the card was refused (pay the same order again)."""
    visit = request.visit
    try:
        checkout = billing_selectors.patient_checkout(visit.tenant, visit.patient.id, request.GET.get("checkout", ""))
    except NotFound:
        return missing(request)
    if checkout.status == CheckoutStatus.PAID:
        names = ", ".join(line.plan_version.name for line in checkout.order.lines.all())
        messages.success(request, f"Paid {wording.money(visit.tenant, checkout.amount)}: {names} is yours.")
        return redirect("portal:home")
    failure = checkout.attempt.failure_code if checkout.attempt else ""
    context = {
        "visit": visit,
        "checkout": checkout,
        "declined": DECLINED.get(failure, "The payment did not go through."),
        "due": wording.money(visit.tenant, checkout.order.due),
        "test_cards": list(TOKENS) if settings.PORTAL_PAYMENT_PROVIDER == "test" else [],
    }
    return render(request, "portal/declined.html", context, status=402 if failure else 409)


@portal_view
def pay_again(request, order_id: int):
    """Another try at an open order of the patient's (after a declined card)."""
    visit = request.visit
    if request.method != "POST":
        return missing(request)
    order = billing_selectors.filter_orders(visit.tenant, patient=visit.patient.id).filter(pk=order_id).first()
    if order is None:
        return missing(request)
    try:
        checkout = _checkout(visit, order)
    except DomainError as error:
        messages.error(request, refusal(error, tenant=visit.tenant).message)
        return redirect("portal:home")
    return redirect(_provider_page(request, checkout))
