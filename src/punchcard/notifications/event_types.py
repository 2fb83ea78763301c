"""The event catalogue: every type recorded, and which of them may email a patient (and under which
category a patient can opt out)."""

from __future__ import annotations

from .models import EmailSettings

EMAILABLE = {  # event → the category a patient can opt out of
    "package.expiring_soon": "reminders",
    "package.low_balance": "reminders",
    "package.sold": "receipts",
    "membership.payment_failed": "billing",
    "membership.renewal_upcoming": "billing",
}
DEFAULT_EMAIL_EVENTS = [
    "package.expiring_soon",
    "package.low_balance",
    "membership.payment_failed",
    "membership.renewal_upcoming",
]
# Asked for by someone, so sent whatever the tenant's email_events and the patient's categories say.
ON_REQUEST = {"receipt.email_requested": "requested", "portal_link.email_requested": "requested"}

# Every type recorded today, for validation and the README's catalogue.
EVENT_TYPES = (
    "tenant.created",
    "package.sold",
    "package.activated",
    "package.low_balance",
    "package.expiring_soon",
    "package.expired",
    "package.exhausted",
    "redemption.created",
    "redemption.voided",
    "hold.placed",
    "hold.released",
    "refund.created",
    "appointment.no_show",
    "claim_code.claimed",
    "receipt.email_requested",
    "portal_link.email_requested",
    "membership.created",
    "membership.trial_will_end",
    "membership.renewal_upcoming",
    "membership.renewed",
    "membership.payment_failed",
    "membership.past_due",
    "membership.ended",
    "membership.paused",
    "membership.resumed",
    "membership.cancelled",
    "membership.price_change_notice",
    "membership.changed",
    "payment.webhook_received",
)


def emailed(event_type: str, tenant_id: int) -> str | None:
    """The category an event emails its patient under, or None if it emails nobody for this tenant."""
    if event_type in ON_REQUEST:
        return ON_REQUEST[event_type]
    if event_type in EMAILABLE and event_type in email_events(tenant_id):
        return EMAILABLE[event_type]
    return None


def email_events(tenant_id: int) -> list[str]:
    row = EmailSettings.objects.filter(tenant_id=tenant_id).first()
    return list(row.email_events) if row else list(DEFAULT_EMAIL_EVENTS)
