"""Issuing a receipt: once per subject, numbered without gaps (SPEC §8.7)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from ..models import Receipt, ReceiptKind
from ..services.numbering import next_number
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
    facts.update(issued_at=now.isoformat(), issued_by=actor.label)
    try:
        with transaction.atomic():  # a concurrent issuer of the same subject waits here, then finds ours
            receipt = Receipt.objects.create(
                tenant=tenant,
                number=None,
                kind=kind,
                subject_id=facts["subject_id"],
                issued_at=now,
                issued_by=actor.label,
                facts=facts,
            )
    except IntegrityError:
        return Receipt.objects.get(tenant=tenant, kind=kind, subject_id=facts["subject_id"])
    # The number last: the tenant's receipt counter is held for these three statements, not the facts.
    receipt.number = facts["number"] = next_number(tenant, "receipt")
    Receipt.objects.filter(pk=receipt.pk).update(number=receipt.number, facts=facts)
    audit(
        tenant=tenant,
        actor=actor,
        action=f"receipt.{kind}",
        subject=receipt,
        now=now,
        data={"number": receipt.number, "subject_id": receipt.subject_id},
    )
    return receipt


def get_receipt(tenant: Tenant, receipt_id) -> Receipt:
    return scoped_get(Receipt, tenant=tenant, pk=receipt_id, field="receipt_id")
