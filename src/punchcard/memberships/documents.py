"""A membership invoice as a document (SPEC §10.2, §8.7): HTML and PDF through billing's receipt rendering
(one template, one PDF layout, the same fonts), from facts in the receipt's shape: its lines and tax as
issued, with the payments and status as they stand."""

from __future__ import annotations

from punchcard.billing.receipts import render_facts_html, render_facts_pdf
from punchcard.tenancy.selectors import local_date

from .models import Invoice

METHOD_LABELS = {
    "cash": "Cash",
    "card": "Card",
    "bank_transfer": "Bank transfer",
    "external": "External processor",
    "credit": "Patient credit",
}


def _rate(bp: int, inclusive: bool) -> str:
    return f"{bp / 100:g}% {'included' if inclusive else 'added'}"


def facts(invoice: Invoice) -> dict:
    membership, version = invoice.membership, invoice.membership.version
    rate = _rate(version.tax_rate_bp, version.tax_inclusive) if version.tax_rate_bp else None
    items = [
        {
            "description": line.description,
            "quantity": 1,
            "list_total": 0,
            "discount": 0,
            "promotions": [],
            "net": line.net,
            "tax": line.tax,
            "gross": line.gross,
            "tax_rate": rate,
        }
        for line in invoice.lines.all()
    ]
    payments = [
        {
            "method": METHOD_LABELS.get(p.method, p.method),
            "amount": p.amount,
            "reference": p.reference,
            "date": local_date(p.received_at, invoice.centre).isoformat(),
        }
        for p in invoice.payments.order_by("id")
        if p.method != "credit"
    ]
    period = invoice.period
    notes = [f"Status: {invoice.status}", f"Membership {membership.id}: {version.name}, billed {membership.frequency}"]
    if period is not None:
        notes.append(f"Service period: {period.start.isoformat()} to {period.last_day.isoformat()}")
    return {
        "version": 1,
        "kind": "membership_invoice",
        "title": "Tax invoice" if invoice.tax else "Invoice",
        "shows_due": True,
        "subject_id": invoice.id,
        "number": invoice.number,
        "issued_at": invoice.issued_at.isoformat(),
        "issued_by": invoice.issued_by,
        "reference": f"Membership {membership.id}",
        "date": invoice.issued_on.isoformat(),
        "tenant": invoice.tenant.name,
        "centre": invoice.centre.name,
        "currency": invoice.currency,
        "locale": invoice.tenant.locale,
        "customer": {"name": invoice.patient.name, "ref": invoice.patient.external_ref},
        "items": items,
        "tax_lines": [{"label": f"Tax {rate}", "amount": invoice.tax}] if invoice.tax else [],
        "totals": {
            "discount": 0,
            "net": invoice.net,
            "tax": invoice.tax,
            "gross": invoice.gross,
            "credit_applied": invoice.credit_applied,
            "paid": invoice.paid,
            "due": invoice.due,
        },
        "payments": payments,
        "packages": [],
        "notes": notes,
    }


def render_html(invoice: Invoice) -> str:
    return render_facts_html(facts(invoice))


def render_pdf(invoice: Invoice) -> bytes:
    return render_facts_pdf(facts(invoice))
