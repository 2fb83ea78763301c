"""HTTP routes for receipts and invoices (SPEC §8.7): issue once, fetch as JSON facts, HTML or PDF.

Mount with `api.add_router("", punchcard.billing.receipts_api.router)`.
"""

import datetime as dt
from typing import Any

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from punchcard.domain.errors import NotFound
from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.html import page_with_inline_styles
from punchcard.kernel.idempotency import idempotent
from punchcard.kernel.problems import READ, WRITE
from punchcard.kernel.schemas import BodyId, Id, Input

from . import receipts
from .models import Receipt, ReceiptKind

router = Router(tags=["receipts"])


class ReceiptIn(Input):
    kind: ReceiptKind = Field(description="sale (an order), redemption, or refund")
    subject_id: BodyId = Field(description="the order, redemption or refund id")


class ReceiptOut(Schema):
    id: int
    number: int
    kind: str
    subject_id: int
    issued_at: dt.datetime
    facts: dict[str, Any]
    html_url: str
    pdf_url: str

    @staticmethod
    def of(receipt: Receipt) -> "ReceiptOut":
        base = f"/api/v1/receipts/{receipt.id}"
        return ReceiptOut(
            id=receipt.id,
            number=receipt.number,
            kind=receipt.kind,
            subject_id=receipt.subject_id,
            issued_at=receipt.issued_at,
            facts=receipt.facts,
            html_url=f"{base}/html",
            pdf_url=f"{base}/pdf",
        )


class ReceiptLookup(Schema):
    kind: ReceiptKind
    subject_id: Id


@router.post("/receipts", response={201: ReceiptOut, **WRITE})
@idempotent(perm=Perm.READ)
def issue(request, payload: ReceiptIn):
    """The receipt for a sale, a redemption or a refund; issuing again returns the same receipt (same number)."""
    p = caller(request)
    receipt = receipts.issue_receipt(
        tenant=p.tenant, actor=p.actor, kind=payload.kind.value, subject_id=payload.subject_id
    )
    return Status(201, ReceiptOut.of(receipt))


@router.get("/receipts", response={200: ReceiptOut, **READ})
def find(request, params: Query[ReceiptLookup]):
    """The receipt already issued for a subject."""
    p = caller(request, Perm.READ)
    receipt = Receipt.objects.filter(tenant=p.tenant, kind=params.kind.value, subject_id=params.subject_id).first()
    if receipt is None:
        raise NotFound(f"no {params.kind.value} receipt for {params.subject_id}", field="subject_id")
    return ReceiptOut.of(receipt)


@router.get("/receipts/{int:receipt_id}", response={200: ReceiptOut, **READ})
def get(request, receipt_id: Id):
    p = caller(request, Perm.READ)
    return ReceiptOut.of(receipts.get_receipt(p.tenant, receipt_id))


@router.get(
    "/receipts/{int:receipt_id}/html",
    response=READ,
    openapi_extra={
        "responses": {
            200: {
                "description": "The receipt as an HTML page",
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        }
    },
)
def html(request, receipt_id: Id):
    p = caller(request, Perm.READ)
    return page_with_inline_styles(receipts.render_html(receipts.get_receipt(p.tenant, receipt_id)))


@router.get(
    "/receipts/{int:receipt_id}/pdf",
    response=READ,
    openapi_extra={
        "responses": {
            200: {
                "description": "The receipt as a PDF document",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def pdf(request, receipt_id: Id):
    p = caller(request, Perm.READ)
    receipt = receipts.get_receipt(p.tenant, receipt_id)
    response = HttpResponse(receipts.render_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{receipt.number:06d}.pdf"'
    return response
