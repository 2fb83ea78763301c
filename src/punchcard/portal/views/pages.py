"""Opening a link, and what the patient reads: packages in the clinic's words with their history (which visit,
which family member), memberships, receipts and invoices, and credit."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from punchcard.billing import receipts as billing_receipts
from punchcard.billing import selectors as billing_selectors
from punchcard.billing.models import OrderStatus, ReceiptKind
from punchcard.domain.errors import DomainError, NotFound, RateLimited
from punchcard.memberships import documents as membership_documents
from punchcard.memberships import selectors as membership_selectors
from punchcard.memberships.cards import membership_cards
from punchcard.packages import wording
from punchcard.packages.cards import package_cards
from punchcard.tenancy import portal_links

from ..access import NO_VISIT, forget, missing, portal_view, private, refused, remember

INVOICED = (OrderStatus.PAID, OrderStatus.PAY_LATER)
LINK_WORDS = {
    "expired": "This link has expired. Ask the clinic for a new one; it is sent to your email address.",
    "revoked": "This link was withdrawn by the clinic. Ask them for a new one.",
    "unknown": "This link is not one the clinic sent, or it was copied only in part. Open the link from the "
    "message again, or ask the clinic for a new one.",
}


def open_link(request, token: str):
    """The link from the clinic: remembered in this browser (a cookie), then the patient's page."""
    try:
        link = portal_links.open_link(token, address=request.META.get("REMOTE_ADDR", ""))
    except portal_links.LinkRefused as refusal:
        return refused(request, LINK_WORDS.get(refusal.reason, NO_VISIT))
    except RateLimited as error:
        return refused(
            request, f"Too many links that did not open from here; {error.message.split('; ')[-1]}.", status=429
        )
    response = redirect("portal:home")
    remember(response, link)
    return private(response)


def _invoices(visit, issued: dict[int, object]) -> list[dict]:
    rows = []
    for order in billing_selectors.filter_orders(visit.tenant, patient=visit.patient.id).order_by("-created_at")[:50]:
        if order.status not in INVOICED:
            continue
        rows.append(
            {
                "order": order,
                "what": ", ".join(line.plan_version.name for line in order.lines.all()),
                "gross": wording.money(visit.tenant, order.gross),
                "day": wording.day(visit.tenant, order.created_at.astimezone(order.centre.zone).date()),
                "receipt": issued.get(order.id),
            }
        )
    return rows


@portal_view
def home(request):
    visit = request.visit
    tenant, person = visit.tenant, visit.patient
    receipts = billing_selectors.receipts_of_patient(tenant, person.id)
    sale_receipts = {r.subject_id: r for r in receipts if r.kind == ReceiptKind.SALE}
    context = {
        "visit": visit,
        "cards": package_cards(tenant, person, receipts),
        "memberships": membership_cards(tenant, person.id),
        "credit": wording.money(tenant, billing_selectors.credit_balance(tenant, person.id)),
        "receipts": [r for r in receipts if r.kind != ReceiptKind.SALE],
        "invoices": _invoices(visit, sale_receipts),
        "link_until": wording.day(tenant, visit.link.expires_at.astimezone(tenant.zone).date()),
    }
    return render(request, "portal/home.html", context)


def _pdf(receipt) -> HttpResponse:
    response = HttpResponse(billing_receipts.render_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{receipt.number:06d}.pdf"'
    return response


@portal_view
def receipt_pdf(request, receipt_id: int):
    """One of the patient's receipts as a PDF; anyone else's is missing."""
    visit = request.visit
    try:
        found = billing_selectors.patient_receipt(visit.tenant, visit.patient.id, receipt_id)
    except NotFound:
        return missing(request)
    return _pdf(found)


@portal_view
def membership_invoice(request, invoice_id: int):
    """One of the patient's membership invoices, as the clinic issued it; anyone else's is missing."""
    visit = request.visit
    try:
        found = membership_selectors.invoice(visit.tenant, invoice_id)
    except NotFound:
        return missing(request)
    if found.patient_id != visit.patient.id:
        return missing(request)
    return private(HttpResponse(membership_documents.render_html(found)))


@require_POST
@portal_view
def invoice(request, order_id: int):
    """The invoice of one of the patient's paid orders: issued the first time (numbered), then its PDF."""
    visit = request.visit
    orders = billing_selectors.filter_orders(visit.tenant, patient=visit.patient.id)
    if not orders.filter(pk=order_id, status__in=INVOICED).exists():
        return missing(request)
    try:
        found = billing_receipts.issue_receipt(
            tenant=visit.tenant, actor=visit.actor, kind=ReceiptKind.SALE, subject_id=order_id
        )
    except DomainError:
        return missing(request)
    return redirect("portal:receipt_pdf", receipt_id=found.id)


@require_POST
def leave(request):
    """Forget the link in this browser (a shared phone); the link itself still opens until it expires."""
    response = render(request, "portal/left.html")
    forget(response)
    return private(response)
