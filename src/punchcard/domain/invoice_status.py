"""SPEC §10.2: a membership invoice's statuses and the one table of which change each allows.

An invoice is issued `open`; a payment of what is due makes it `paid`. An open invoice may be given up
(`uncollectible`: what is owed is written off as bad debt, and a late payment still settles it) or made
`void` (it should never have been owed: its entry is reversed, e.g. the unpaid period of a membership
cancelled after its last retry). Paid and void are final.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import Conflict


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"


S = InvoiceStatus

ALLOWED: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    S.OPEN: frozenset({S.PAID, S.UNCOLLECTIBLE, S.VOID}),
    S.UNCOLLECTIBLE: frozenset({S.PAID}),  # a late payment still settles what was written off
    S.PAID: frozenset(),
    S.VOID: frozenset(),
}

REASONS: dict[tuple[InvoiceStatus, InvoiceStatus], str] = {
    (S.PAID, S.VOID): "a paid invoice is never voided; refund it to credit instead",
    (S.UNCOLLECTIBLE, S.VOID): "a written-off invoice is not voided; its write-off stays in the books",
}

TAKES_PAYMENT = frozenset({S.OPEN, S.UNCOLLECTIBLE})


def ensure_transition(current: InvoiceStatus, target: InvoiceStatus) -> None:
    """Refuse (`invoice_transition_not_allowed`) a change the table does not list."""
    current, target = InvoiceStatus(current), InvoiceStatus(target)
    if target in ALLOWED[current]:
        return
    why = REASONS.get((current, target), f"a {current} invoice cannot become {target}")
    raise Conflict(why, code="invoice_transition_not_allowed", status=str(current), target=str(target))
