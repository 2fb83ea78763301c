"""Receipts and invoices (SPEC §8.7) for sales, redemptions and refunds, as HTML and PDF.

Issuing a receipt takes the next gap-free number of the tenant's "receipt" sequence (under the
counter's row lock) and freezes the facts it shows: amounts as integers, tax, and for packages the
sessions used and remaining *after this visit* ("Physiotherapy: 4 of 10 used, 6 remaining"),
read from the session ledger up to the entry the receipt is about. Rendering only formats the
stored facts, so a receipt re-rendered next year is the same document (the PDF is byte-identical:
reportlab runs in invariant mode, with no timestamps or random ids). Issuing twice for the same
sale, redemption or refund returns the first receipt.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

from django.db import transaction
from django.db.models import Max, Sum
from django.template.loader import render_to_string

from punchcard import clock
from punchcard.domain.errors import InvalidInput
from punchcard.domain.money import currency_exponent, format_money
from punchcard.domain.roles import Actor, Perm
from punchcard.packages.models import EntryKind, Package, PackageLine, Redemption, SessionEntry
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from .models import Order, OrderLineKind, Receipt, ReceiptKind, Refund

FACTS_VERSION = 1
TITLES = {
    ReceiptKind.SALE: "Tax invoice",
    ReceiptKind.REDEMPTION: "Visit receipt",
    ReceiptKind.REFUND: "Refund receipt",
}


# ---------------------------------------------------------------- issuing


@transaction.atomic
def issue_receipt(
    *, tenant: Tenant, actor: Actor, kind: str, subject_id: int, now: dt.datetime | None = None
) -> Receipt:
    """The receipt for an order (sale), a redemption or a refund: made once, numbered without gaps."""
    from .services import next_number

    actor.require(Perm.READ)
    now = now or clock.now()
    try:
        kind = ReceiptKind(kind)
    except ValueError:
        raise InvalidInput(f"kind must be one of {', '.join(ReceiptKind.values)}", field="kind") from None
    builder = {
        ReceiptKind.SALE: _sale_facts,
        ReceiptKind.REDEMPTION: _redemption_facts,
        ReceiptKind.REFUND: _refund_facts,
    }[kind]
    facts = builder(tenant, subject_id)  # refuses an unknown subject before a number is taken
    existing = Receipt.objects.filter(tenant=tenant, kind=kind, subject_id=facts["subject_id"]).first()
    if existing:
        return existing
    number = next_number(tenant, "receipt")  # holds the counter's lock until commit: issuers queue here
    existing = Receipt.objects.filter(tenant=tenant, kind=kind, subject_id=facts["subject_id"]).first()
    if existing:  # issued by someone who held the lock before us: give the number back
        from .models import Counter

        Counter.objects.filter(tenant=tenant, name="receipt").update(value=number - 1)
        return existing
    facts.update(number=number, issued_at=now.isoformat(), issued_by=actor.label)
    receipt = Receipt.objects.create(
        tenant=tenant,
        number=number,
        kind=kind,
        subject_id=facts["subject_id"],
        issued_at=now,
        issued_by=actor.label,
        facts=facts,
    )
    audit(
        tenant=tenant,
        actor=actor,
        action=f"receipt.{kind}",
        subject=receipt,
        now=now,
        data={"number": number, "subject_id": receipt.subject_id},
    )
    return receipt


def get_receipt(tenant: Tenant, receipt_id) -> Receipt:
    return scoped_get(Receipt, tenant=tenant, pk=receipt_id, field="receipt_id")


# ---------------------------------------------------------------- facts


def _party(tenant: Tenant, centre, patient) -> dict:
    return {
        "tenant": tenant.name,
        "centre": centre.name,
        "currency": tenant.currency,
        "locale": tenant.locale,
        "customer": {"name": patient.name, "ref": patient.external_ref},
    }


def _rate(bp: int, inclusive: bool) -> str:
    return f"{bp / 100:g}% {'included' if inclusive else 'added'}"


def balances_after(package: Package, last_entry_id: int | None) -> list[dict]:
    """Each line's granted / used / remaining right after the session-ledger entry `last_entry_id`."""
    entries = SessionEntry.objects.filter(package=package)
    if last_entry_id is not None:
        entries = entries.filter(id__lte=last_entry_id)
    sums = {
        row["line_id"]: row
        for row in entries.values("line_id").annotate(g=Sum("granted"), r=Sum("redeemed"), f=Sum("forfeited"))
    }
    out = []
    for line in PackageLine.objects.filter(package=package).order_by("id"):
        row = sums.get(line.id, {})
        granted, used, forfeited = row.get("g") or 0, row.get("r") or 0, row.get("f") or 0
        remaining = granted - used - forfeited
        text = f"{line.label}: {used} of {granted} used, {remaining} remaining"
        if forfeited:
            text += f" ({forfeited} no longer usable)"
        out.append(
            {
                "label": line.label,
                "granted": granted,
                "used": used,
                "remaining": remaining,
                "forfeited": forfeited,
                "text": text,
            }
        )
    return out


def _package_facts(package: Package, last_entry_id: int | None) -> dict:
    return {
        "id": package.id,
        "plan": package.plan_version.name,
        "start_date": package.start_date.isoformat(),
        "expires_on": package.expires_on.isoformat() if package.expires_on else None,
        "balances": balances_after(package, last_entry_id),
    }


def _sale_facts(tenant: Tenant, order_id) -> dict:
    order = scoped_get(
        Order,
        tenant=tenant,
        pk=order_id,
        field="subject_id",
        queryset=Order.objects.select_related("centre", "patient"),
    )
    items, tax_by_rate = [], defaultdict(int)
    packages = []
    for line in order.lines.select_related("plan_version").order_by("id"):
        version = line.plan_version
        description = version.name
        if line.kind == OrderLineKind.TOP_UP:
            description = f"Top-up: {line.sessions} more session(s) of {line.target_line.label}"
        elif line.kind == OrderLineKind.UPGRADE:
            description = f"Upgrade to {version.name}"
        code = getattr(line, "claim_code", None) if line.kind == OrderLineKind.PACKAGE else None
        if code is not None:
            description += f" — {code.get_kind_display().split(' (')[0].lower()} claim code …{code.hint}"
        promos = [a["name"] for a in (line.promotion or {}).get("applied", [])]
        rate = _rate(version.tax_rate_bp, version.tax_inclusive) if version.tax_rate_bp else None
        items.append(
            {
                "description": description,
                "quantity": 1,
                "list_total": line.list_total,
                "discount": line.discount,
                "promotions": promos,
                "net": line.net,
                "tax": line.tax,
                "gross": line.gross,
                "tax_rate": rate,
            }
        )
        if line.tax:
            tax_by_rate[rate] += line.tax
    activated = Package.objects.filter(order_line__order=order).select_related("plan_version").order_by("id")
    for package in activated:
        last = SessionEntry.objects.filter(package=package, kind=EntryKind.GRANT).aggregate(m=Max("id"))["m"]
        packages.append(_package_facts(package, last))
    for line in order.lines.filter(kind=OrderLineKind.TOP_UP).select_related("target_package__plan_version"):
        last = SessionEntry.objects.filter(
            package=line.target_package, kind=EntryKind.TOP_UP, data__order=order.number
        ).aggregate(m=Max("id"))["m"]
        if last is not None:
            packages.append(_package_facts(line.target_package, last))
    payments = [
        {
            "method": p.get_method_display(),
            "amount": p.amount,
            "reference": p.reference,
            "date": local_date(p.received_at, order.centre).isoformat(),
        }
        for p in order.payments.order_by("id")
    ]
    return {
        "version": FACTS_VERSION,
        "kind": ReceiptKind.SALE,
        "title": TITLES[ReceiptKind.SALE],
        "subject_id": order.id,
        "reference": f"Order {order.number}",
        "date": local_date(order.created_at, order.centre).isoformat(),
        **_party(tenant, order.centre, order.patient),
        "items": items,
        "tax_lines": [{"label": f"Tax {rate}", "amount": amount} for rate, amount in sorted(tax_by_rate.items())],
        "totals": {
            "discount": order.discount,
            "net": order.net,
            "tax": order.tax,
            "gross": order.gross,
            "credit_applied": order.credit_applied,
            "paid": order.paid,
            "due": order.due,
        },
        "payments": payments,
        "packages": packages,
        "notes": [f"Status: {order.get_status_display()}"],
    }


def _redemption_facts(tenant: Tenant, redemption_id) -> dict:
    redemption = scoped_get(
        Redemption,
        tenant=tenant,
        pk=redemption_id,
        field="subject_id",
        queryset=Redemption.objects.select_related(
            "package__plan_version", "line", "centre", "person", "service", "practitioner", "package__holder"
        ),
    )
    package, line = redemption.package, redemption.line
    entry = SessionEntry.objects.filter(redemption=redemption, kind=EntryKind.REDEEM).values_list("id", flat=True)
    copay = line.patient_pays * redemption.sessions
    items = [
        {
            "description": f"{redemption.service.name} × {redemption.sessions} — covered by package "
            f"{package.id} ({package.plan_version.name})",
            "quantity": redemption.sessions,
            "list_total": 0,
            "discount": 0,
            "promotions": [],
            "net": 0,
            "tax": 0,
            "gross": 0,
            "tax_rate": None,
        }
    ]
    if copay:
        items.append(
            {
                "description": "Patient pays (co-pay)",
                "quantity": redemption.sessions,
                "list_total": copay,
                "discount": 0,
                "promotions": [],
                "net": copay,
                "tax": 0,
                "gross": copay,
                "tax_rate": None,
            }
        )
    notes = []
    if redemption.practitioner:
        notes.append(f"Practitioner: {redemption.practitioner.name}")
    if redemption.person_id != package.holder_id:
        notes.append(f"Package holder: {package.holder.name}")
    if redemption.in_grace:
        notes.append("Used during the package's grace period after expiry")
    return {
        "version": FACTS_VERSION,
        "kind": ReceiptKind.REDEMPTION,
        "title": TITLES[ReceiptKind.REDEMPTION],
        "subject_id": redemption.id,
        "reference": f"Visit {redemption.day.isoformat()} (redemption {redemption.id})",
        "date": redemption.day.isoformat(),
        **_party(tenant, redemption.centre, redemption.person),
        "items": items,
        "tax_lines": [{"label": "Tax", "amount": 0}],
        "totals": {"discount": 0, "net": copay, "tax": 0, "gross": copay, "credit_applied": 0, "paid": 0, "due": copay},
        "payments": [],
        "packages": [_package_facts(package, entry.first())],
        "notes": notes,
    }


def _refund_facts(tenant: Tenant, refund_id) -> dict:
    refund = scoped_get(
        Refund,
        tenant=tenant,
        pk=refund_id,
        field="subject_id",
        queryset=Refund.objects.select_related("package__plan_version", "package__sold_at", "patient"),
    )
    package = refund.package
    last = SessionEntry.objects.filter(package=package, kind=EntryKind.CANCEL).aggregate(m=Max("id"))["m"]
    return {
        "version": FACTS_VERSION,
        "kind": ReceiptKind.REFUND,
        "title": TITLES[ReceiptKind.REFUND],
        "subject_id": refund.id,
        "reference": f"Refund of package {package.id}",
        "date": local_date(refund.created_at, package.sold_at).isoformat(),
        **_party(tenant, package.sold_at, refund.patient),
        "items": [
            {
                "description": f"Refund of {package.plan_version.name} (package {package.id}) to account credit",
                "quantity": 1,
                "list_total": 0,
                "discount": 0,
                "promotions": [],
                "net": refund.amount,
                "tax": 0,
                "gross": refund.amount,
                "tax_rate": None,
            }
        ],
        "tax_lines": [{"label": "Tax", "amount": 0}],
        "totals": {
            "discount": 0,
            "net": refund.amount,
            "tax": 0,
            "gross": refund.amount,
            "credit_applied": 0,
            "paid": 0,
            "due": 0,
        },
        "payments": [{"method": "Account credit", "amount": refund.amount, "reference": "", "date": None}],
        "packages": [_package_facts(package, last)],
        "notes": [f"Reason: {refund.reason}", f"Suggested refund: {{money:{refund.suggested}}}"],
    }


# ---------------------------------------------------------------- rendering


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
            note = head + fmt(int(value)) + tail
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
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

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
