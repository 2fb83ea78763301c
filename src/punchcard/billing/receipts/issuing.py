"""Issuing a receipt: once per subject, numbered without gaps (SPEC §8.7)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from ..models import Receipt, ReceiptKind
from ..services.numbering import give_back, next_number
from .facts import facts_of


@transaction.atomic
def issue_receipt(
    *, tenant: Tenant, actor: Actor, kind: str, subject_id: int, now: dt.datetime | None = None
) -> Receipt:
    """The receipt for an order (sale), a redemption or a refund: made once, numbered without gaps."""
    actor.require(Perm.READ)
    now = now or clock.now()
    try:
        kind = ReceiptKind(kind)
    except ValueError:
        raise InvalidInput(f"kind must be one of {', '.join(ReceiptKind.values)}", field="kind") from None
    facts = facts_of(tenant, kind, subject_id)  # refuses an unknown subject before a number is taken
    existing = Receipt.objects.filter(tenant=tenant, kind=kind, subject_id=facts["subject_id"]).first()
    if existing:
        return existing
    number = next_number(tenant, "receipt")  # holds the counter's lock until commit: issuers queue here
    existing = Receipt.objects.filter(tenant=tenant, kind=kind, subject_id=facts["subject_id"]).first()
    if existing:  # issued by someone who held the lock before us: give the number back
        give_back(tenant, "receipt", number)
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
