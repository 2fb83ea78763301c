"""Receipts at the desk: issue the receipt of a sale or a visit (once; the same number every time after)
and print it, as the HTML page or the PDF that billing.receipts renders."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from punchcard.billing import receipts
from punchcard.domain.errors import DomainError

from ..access import desk_view
from ..refusals import refusal


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


@xframe_options_sameorigin
@desk_view()
def receipt_html(request, receipt_id: int):
    return HttpResponse(receipts.render_html(receipts.get_receipt(request.desk.tenant, receipt_id)))


@desk_view()
def receipt_pdf(request, receipt_id: int):
    found = receipts.get_receipt(request.desk.tenant, receipt_id)
    response = HttpResponse(receipts.render_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{found.number:06d}.pdf"'
    return response
