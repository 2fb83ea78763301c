"""Rendering a receipt's frozen facts: HTML from a template, PDF with reportlab (SPEC §8.7)."""

from __future__ import annotations

import io

from django.template.loader import render_to_string
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from punchcard.domain.money import currency_exponent, format_money

from ..models import Receipt, ReceiptKind


def _money_fn(facts: dict, *, plain: bool):
    currency, locale = facts["currency"], facts["locale"]
    exponent = currency_exponent(currency)

    def fmt(amount: int) -> str:
        if plain:  # PDF core fonts have no ₹: the ISO code is unambiguous everywhere
            text = format_money(amount, currency, locale)
            digits = "".join(ch for ch in text if ch.isdigit() or ch in ",.-")
            return f"{currency} {digits}" if exponent or digits else f"{currency} {amount}"
        return format_money(amount, currency, locale)

    return fmt


def _notes(facts: dict, fmt) -> list[str]:
    out = []
    for note in facts["notes"]:
        if "{money:" in note:
            head, _, rest = note.partition("{money:")
            value, _, tail = rest.partition("}")
            out.append(head + fmt(int(value)) + tail)
        else:
            out.append(note)
    return out


def view_model(receipt: Receipt, *, plain: bool = False) -> dict:
    """The stored facts with every amount formatted, for the template and the PDF."""
    facts = receipt.facts
    fmt = _money_fn(facts, plain=plain)
    items = [
        {
            **item,
            "gross_display": fmt(item["gross"]),
            "tax_display": fmt(item["tax"]),
            "discount_display": fmt(item["discount"]) if item["discount"] else "",
            "list_display": fmt(item["list_total"]) if item["list_total"] else "",
        }
        for item in facts["items"]
    ]
    totals = {k: fmt(v) for k, v in facts["totals"].items()}
    return {
        "facts": facts,
        "number_display": f"{facts['number']:06d}",
        "items": items,
        "totals": totals,
        "raw_totals": facts["totals"],
        "tax_lines": [{"label": t["label"], "amount": fmt(t["amount"])} for t in facts["tax_lines"]],
        "payments": [{**p, "amount_display": fmt(p["amount"])} for p in facts["payments"]],
        "packages": facts["packages"],
        "notes": _notes(facts, fmt),
        "issued_on": facts["issued_at"][:10],
    }


def render_html(receipt: Receipt) -> str:
    return render_to_string("receipts/receipt.html", view_model(receipt))


def render_pdf(receipt: Receipt) -> bytes:
    """An A4 PDF of the same facts (reportlab; core Helvetica, invariant mode: same bytes every time)."""
    vm = view_model(receipt, plain=True)
    facts = vm["facts"]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0)
    pdf.setTitle(f"{facts['title']} {vm['number_display']}")
    pdf.setAuthor(facts["tenant"])
    pdf.setCreator("Punchcard")
    width, height = A4
    left, right = 18 * mm, width - 18 * mm
    y = height - 20 * mm

    def text(value: str, *, x=left, size=10, bold=False, align="left"):
        pdf.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        value = _latin1(value)
        if align == "right":
            pdf.drawRightString(x, y, value)
        else:
            pdf.drawString(x, y, value)

    def down(step=5.5):
        nonlocal y
        y -= step * mm
        if y < 20 * mm:
            pdf.showPage()
            y = height - 20 * mm

    text(facts["tenant"], size=14, bold=True)
    text(f"{facts['title']} No. {vm['number_display']}", x=right, size=12, bold=True, align="right")
    down()
    text(facts["centre"])
    text(f"Date: {facts['date']}   Issued: {vm['issued_on']}", x=right, align="right")
    down()
    text(f"Customer: {facts['customer']['name']} ({facts['customer']['ref']})")
    text(facts["reference"], x=right, align="right")
    down(9)
    text("Description", bold=True)
    text("Tax", x=right - 45 * mm, bold=True, align="right")
    text("Amount", x=right, bold=True, align="right")
    down()
    for item in vm["items"]:
        text(item["description"][:95])
        text(item["tax_display"], x=right - 45 * mm, align="right")
        text(item["gross_display"], x=right, align="right")
        down()
        extra = []
        if item["list_display"] and item["discount"]:
            extra.append(f"List value {item['list_display']}, discount {item['discount_display']}")
        if item["promotions"]:
            extra.append("Promotion: " + ", ".join(item["promotions"]))
        if item["tax_rate"]:
            extra.append(f"Tax {item['tax_rate']}")
        if extra:
            text("   " + "; ".join(extra), size=8)
            down(4.5)
    down(2)
    for label, key in (("Net", "net"), ("Tax", "tax"), ("Total", "gross")):
        text(label, x=right - 45 * mm, bold=key == "gross", align="right")
        text(vm["totals"][key], x=right, bold=key == "gross", align="right")
        down()
    for tax in vm["tax_lines"]:
        text(f"{tax['label']}: {tax['amount']}", size=8)
        down(4.5)
    if vm["raw_totals"]["credit_applied"]:
        text(f"Credit applied: {vm['totals']['credit_applied']}")
        down()
    for p in vm["payments"]:
        text(f"Paid: {p['amount_display']} by {p['method']}" + (f" ({p['reference']})" if p["reference"] else ""))
        down()
    if facts["kind"] == ReceiptKind.SALE:
        text(f"Amount due: {vm['totals']['due']}", bold=True)
        down()
    for package in vm["packages"]:
        down(2)
        expiry = f", valid until {package['expires_on']}" if package["expires_on"] else ", no expiry"
        text(f"Package {package['id']}: {package['plan']}{expiry}", bold=True)
        down()
        for balance in package["balances"]:
            text(balance["text"])
            down()
    for note in vm["notes"]:
        text(note, size=8)
        down(4.5)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _latin1(value: str) -> str:
    """Core PDF fonts are Latin-1: anything else is shown as '?' rather than a missing glyph box."""
    return value.replace("—", "-").replace("…", "...").replace("×", "x").encode("latin-1", "replace").decode("latin-1")
