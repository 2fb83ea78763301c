"""A receipt emailed on request: recorded as an event (so the email is sent after commit, once, and
integrators hear of it), sent to the patient named on the receipt."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.billing.models import Receipt
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit


@transaction.atomic
def email_receipt(*, tenant: Tenant, actor: Actor, receipt_id: int, now: dt.datetime | None = None) -> events.Event:
    actor.require(Perm.SELL)
    now = now or clock.now()
    receipt = scoped_get(Receipt, tenant=tenant, pk=receipt_id, field="receipt_id")
    ref = receipt.facts.get("customer", {}).get("ref")
    patient = Patient.objects.filter(tenant=tenant, external_ref=ref).first() if ref else None
    if patient is None or not patient.email:
        raise InvalidInput("the receipt's patient has no email address", field="receipt_id")
    audit(tenant=tenant, actor=actor, action="receipt.email", subject=receipt, now=now, data={"to": patient.email})
    return events.record(
        "receipt.email_requested",
        tenant=tenant,
        subject=receipt,
        actor=actor,
        at=now,
        receipt_id=receipt.id,
        number=receipt.number,
        kind=receipt.kind,
        patient_id=patient.id,
    )
