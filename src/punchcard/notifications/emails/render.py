"""An event's email: subject, text and HTML from the templates notifications/email/<type>.{txt,html}, in
the tenant's locale (Babel formats money and dates: ₹1,00,000.00 and 2 Dec 2026 for en_IN, $450.00 and
Dec 2, 2026 for en_US)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr

from babel.dates import format_date
from django.conf import settings
from django.template.loader import render_to_string

from punchcard.billing.models import Receipt
from punchcard.billing.receipts.rendering import render_html, render_pdf, view_model
from punchcard.domain.money import format_money
from punchcard.packages.models import Package
from punchcard.tenancy import portal_links
from punchcard.tenancy.models import Patient, PortalLink, Tenant

from ..models import OutboxEvent

SUBJECTS = {
    "package.expiring_soon": "Your package “{plan}” expires on {expires}",
    "package.low_balance": "{remaining} session(s) left on your package “{plan}”",
    "package.sold": "Your receipt: {plan}",
    "membership.payment_failed": "We could not take your {plan} payment of {amount}",
    "membership.renewal_upcoming": "Your {plan} membership renews on {renews}",
}


@dataclass
class Email:
    subject: str
    text: str
    html: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, PDF bytes)


def _date(value: str | None, locale: str) -> str:
    return format_date(dt.date.fromisoformat(value), format="medium", locale=locale) if value else ""


def render_receipt(row: OutboxEvent, *, tenant: Tenant, patient: Patient) -> Email:
    """A receipt asked for by email: billing's own HTML rendering, a short text part, the PDF attached."""
    receipt = Receipt.objects.get(tenant=tenant, id=row.payload["receipt_id"])
    view = view_model(receipt)
    context = {"tenant": tenant, "patient": patient, "number": view["number_display"], "totals": view["totals"]}
    return Email(
        subject=f"Your receipt {view['number_display']} from {tenant.name}",
        text=render_to_string("notifications/email/receipt.email_requested.txt", context),
        html=render_html(receipt),
        attachments=[(f"receipt-{view['number_display']}.pdf", render_pdf(receipt))],
    )


def render_portal_link(row: OutboxEvent, *, tenant: Tenant, patient: Patient) -> Email:
    """The patient's portal link, made again from its row (a link revoked since still goes: it just won't open)."""
    link = PortalLink.objects.get(tenant=tenant, id=row.payload["link_id"])
    until = format_date(link.expires_at.astimezone(tenant.zone).date(), format="medium", locale=tenant.locale)
    context = {"tenant": tenant, "patient": patient, "url": portal_links.url(link), "until": until}
    base = "notifications/email/portal_link.email_requested"
    return Email(
        subject=f"Your packages at {tenant.name}",
        text=render_to_string(f"{base}.txt", context),
        html=render_to_string(f"{base}.html", context),
    )


def render_membership(row: OutboxEvent, *, tenant: Tenant, patient: Patient) -> Email:
    """A membership notice, from the event's own figures (the plan's name, the amount, the dates)."""
    locale = tenant.locale or "en_IN"
    data = dict(row.payload)
    context = {
        "tenant": tenant,
        "patient": patient,
        "data": data,
        "plan": data.get("plan_name", ""),
        "amount": format_money(data.get("amount") or 0, data.get("currency") or tenant.currency, locale),
        "renews": _date(data.get("renews_on"), locale),
        "next_retry": _date(data.get("next_retry_on"), locale),
    }
    base = f"notifications/email/{row.type}"
    return Email(
        subject=SUBJECTS[row.type].format(**context),
        text=render_to_string(f"{base}.txt", context),
        html=render_to_string(f"{base}.html", context),
    )


def render(row: OutboxEvent, *, tenant: Tenant, patient: Patient) -> Email:
    if row.type == "receipt.email_requested":
        return render_receipt(row, tenant=tenant, patient=patient)
    if row.type == "portal_link.email_requested":
        return render_portal_link(row, tenant=tenant, patient=patient)
    if row.type.startswith("membership."):
        return render_membership(row, tenant=tenant, patient=patient)
    locale = tenant.locale or "en_IN"
    data = dict(row.payload)
    package = (
        Package.objects.select_related("plan_version", "sold_at")
        .filter(tenant=tenant, id=data.get("package_id"))
        .first()
    )
    lines = list(package.lines.order_by("id")) if package else []
    context = {
        "tenant": tenant,
        "patient": patient,
        "data": data,
        "plan": package.plan_version.name if package else data.get("plan_name", ""),
        "centre": package.sold_at.name if package else "",
        "remaining": sum(line.remaining for line in lines),
        "lines": [{"label": line.label, "remaining": line.remaining, "granted": line.granted} for line in lines],
        "expires": _date(package.expires_on.isoformat() if package and package.expires_on else None, locale),
        "days_left": data.get("days_left"),
        "price": format_money(package.price_gross, package.currency, locale) if package else "",
        "value_left": format_money(sum(line.deferred_value for line in lines), tenant.currency, locale),
        "purchased": _date(package.purchased_on.isoformat() if package else None, locale),
    }
    subject = SUBJECTS[row.type].format(**context)
    base = f"notifications/email/{row.type}"
    return Email(
        subject=subject,
        text=render_to_string(f"{base}.txt", context),
        html=render_to_string(f"{base}.html", context),
    )


def message(email: Email, *, to: str, name: str, tenant: Tenant, event_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = email.subject
    msg["From"] = settings.EMAIL_FROM
    msg["To"] = formataddr((name, to))
    msg["X-Punchcard-Event"] = event_id
    msg["Message-ID"] = f"<{event_id}.{hashlib.sha256(to.encode()).hexdigest()[:12]}@{tenant.slug}.punchcard>"
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    for filename, content in email.attachments:
        msg.add_attachment(content, maintype="application", subtype="pdf", filename=filename)
    return msg
