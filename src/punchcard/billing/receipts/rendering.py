"""Rendering a receipt's frozen facts: HTML from a template, PDF with reportlab (SPEC §8.7)."""

from __future__ import annotations

import io
import re

from django.template.loader import render_to_string
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from punchcard.domain.money import format_money

from ..models import Receipt, ReceiptKind
from . import fonts


def _money_fn(facts: dict):
    currency, locale = facts["currency"], facts["locale"]

    def fmt(amount: int) -> str:
        return format_money(amount, currency, locale)

    return fmt


MONEY_IN_NOTE = re.compile(r"\{money:(-?\d+)\}")


def _notes(facts: dict, fmt) -> list[str]:
    """Notes with every `{money:N}` formatted."""
    return [MONEY_IN_NOTE.sub(lambda m: fmt(int(m.group(1))), note) for note in facts["notes"]]


def view_model(receipt: Receipt) -> dict:
    """The stored facts with every amount formatted (Babel, the tenant's locale), for the template and the PDF."""
    return facts_view(receipt.facts)


def facts_view(facts: dict) -> dict:
    """`view_model` of any document in the receipt's shape (a membership invoice's too)."""
    fmt = _money_fn(facts)
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
        "shows_due": facts.get("shows_due", facts["kind"] == ReceiptKind.SALE),
    }


def render_html(receipt: Receipt) -> str:
    return render_facts_html(receipt.facts)


def render_facts_html(facts: dict) -> str:
    return render_to_string("receipts/receipt.html", facts_view(facts))


def render_pdf(receipt: Receipt) -> bytes:
    return render_facts_pdf(receipt.facts)


def render_facts_pdf(facts: dict) -> bytes:
    """An A4 PDF of the same facts (reportlab, invariant mode: same bytes every time), in Unicode fonts
    embedded as subsets (`fonts`): names and amounts print as the HTML receipt shows them."""
    vm = facts_view(facts)
    facts = vm["facts"]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0, initialFontName=fonts.primary())
    pdf.setTitle(f"{facts['title']} {vm['number_display']}")
    pdf.setAuthor(facts["tenant"])
    pdf.setCreator("Punchcard")
    width, height = A4
    left, right = 18 * mm, width - 18 * mm
    y = height - 20 * mm

    def text(value: str, *, x=left, size=10, bold=False, align="left"):
        parts = fonts.runs(value, bold=bold)
        if align == "right":
            x -= fonts.width(parts, size)
        line = pdf.beginText(x, y)  # one text object: its runs read back as one line of text
        for name, part in parts:
            line.setFont(name, size)
            line.textOut(part)
        pdf.drawText(line)

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
    if vm["shows_due"]:
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
