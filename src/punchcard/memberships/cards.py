"""A patient's memberships as the portal shows them, in the clinic's words: the plan, where it stands, what
each period includes, the renewal date and the next amount, what is owed, and its invoices. Reads only."""

from __future__ import annotations

import datetime as dt

from punchcard.packages import wording
from punchcard.tenancy.models import Tenant

from . import selectors

STATUS_TEXT = {
    "scheduled": "Starts soon",
    "trialing": "Trial",
    "active": "Active",
    "past_due": "Payment due",
    "paused": "Paused",
    "suspended": "Suspended until paid",
    "cancelling": "Ends at the period end",
    "cancelled": "Cancelled",
    "ended": "Ended",
}
RENEWS = {"trialing", "active", "past_due"}


def membership_cards(tenant: Tenant, patient_id: int) -> list[dict]:
    """The patient's memberships, newest first, each a card the portal's `_membership.html` renders."""
    cards = []
    for member in selectors.memberships(tenant).filter(patient_id=patient_id).order_by("-created_at", "-id"):
        standing = selectors.standing(member)
        lines = []
        if member.version.benefits_id is not None:
            lines = [
                f"{line.label}: {line.sessions + line.bonus_sessions} each period"
                for line in member.version.benefits.lines.order_by("position", "id")
            ]
        if standing.current is not None:
            lines.append(
                f"This period: {wording.day(tenant, standing.current.start)} to "
                f"{wording.day(tenant, standing.current.last_day)}"
            )
        if standing.paused_until is not None:
            lines.append(f"Paused until {wording.day(tenant, standing.paused_until)}")
        if member.cancel_on is not None:
            lines.append(f"Last day {wording.day(tenant, member.cancel_on - dt.timedelta(days=1))}")
        if standing.owed:
            lines.append(f"Owed: {wording.money(tenant, standing.owed)}")
        renews = member.status in RENEWS and standing.next_billing_date is not None
        cards.append(
            {
                "id": member.id,
                "name": member.version.name,
                "status": member.status,
                "status_text": STATUS_TEXT[member.status],
                "lines": lines,
                "renews": wording.day(tenant, standing.next_billing_date) if renews else "",
                "next_amount": wording.money(tenant, standing.next_amount or 0) if renews else "",
                "invoices": [
                    {
                        "id": invoice.id,
                        "number": invoice.number,
                        "day": wording.day(tenant, invoice.issued_on),
                        "gross": wording.money(tenant, invoice.gross),
                        "status": invoice.get_status_display(),
                    }
                    for invoice in member.invoices.order_by("-number")[:24]
                ],
            }
        )
    return cards
