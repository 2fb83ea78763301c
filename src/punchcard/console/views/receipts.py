"""Receipts at the desk: issue the receipt of a sale or a visit (once; the same number every time after)
and print it, as the HTML page or the PDF that billing.receipts renders."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from punchcard.billing import receipts
from punchcard.domain.errors import DomainError
from punchcard.kernel.html import page_with_inline_styles
from punchcard.kernel.refusals import refusal
from punchcard.notifications.services.receipts import email_receipt

from ..access import desk_view


@require_POST
@desk_view()
def receipt_for(request, kind: str, subject_id: int):
    desk = request.desk
    try:
        receipt = receipts.issue_receipt(tenant=desk.tenant, actor=desk.actor, kind=kind, subject_id=subject_id)
    except DomainError as error:
        refused = refusal(error, tenant=request.desk.tenant)
        return render(request, "console/denied.html", {"desk": desk, "reason": refused.message}, status=refused.status)
    return redirect("console:receipt", receipt_id=receipt.id)


@desk_view()
def receipt(request, receipt_id: int):
    desk = request.desk
    found = receipts.get_receipt(desk.tenant, receipt_id)
    return render(request, "console/receipt.html", {"desk": desk, "receipt": found})


@require_POST
@desk_view()
def receipt_email(request, receipt_id: int):
    """The receipt emailed to the patient named on it: recorded now, sent by the worker after commit."""
    desk = request.desk
    try:
        email_receipt(tenant=desk.tenant, actor=desk.actor, receipt_id=receipt_id)
    except DomainError as error:
        messages.error(request, refusal(error, tenant=desk.tenant).message)
    else:
        messages.success(request, "The receipt is on its way to the patient's email address.")
    return redirect("console:receipt", receipt_id=receipt_id)


@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})  # shown in the receipt page's frame, and only there
@desk_view()
def receipt_html(request, receipt_id: int):
    return page_with_inline_styles(receipts.render_html(receipts.get_receipt(request.desk.tenant, receipt_id)))


@desk_view()
def receipt_pdf(request, receipt_id: int):
    found = receipts.get_receipt(request.desk.tenant, receipt_id)
    response = HttpResponse(receipts.render_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{found.number:06d}.pdf"'
    return response
