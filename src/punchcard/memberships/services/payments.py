"""An open invoice paid at the front desk (SPEC §10.2): cash, card on the terminal, a transfer, or the
patient's credit. Paying it in full brings a past-due or suspended membership back to active."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.billing.models import Tender
from punchcard.billing.selectors import credit_balance
from punchcard.domain import validation
from punchcard.domain.errors import Conflict
from punchcard.domain.idempotency import replay
from punchcard.domain.invoice_status import TAKES_PAYMENT
from punchcard.domain.money import check_amount
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.selectors import scoped_get

from ..models import Invoice, InvoicePayment
from .invoicing import CREDIT, receive_payment
from .status import lock_membership


@transaction.atomic
def pay_invoice(
    *,
    tenant: Tenant,
    actor: Actor,
    invoice_id: int,
    method: str,
    amount: int,
    reference: str = "",
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> InvoicePayment:
    actor.require(Perm.SELL_MEMBERSHIP)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    method = validation.choice(method, Tender, "method").value
    check_amount(amount, field="amount", allow_zero=False)
    reference = validation.text(reference, "reference", required=False)
    found = scoped_get(Invoice, tenant=tenant, pk=invoice_id, field="invoice_id")
    if key and (existing := InvoicePayment.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="payment", invoice_id=found.id, method=method, amount=amount, reference=reference)
    membership = lock_membership(tenant, found.membership_id)
    invoice = Invoice.objects.select_for_update(no_key=True, of=("self",)).select_related("period").get(pk=found.pk)
    invoice.membership = membership
    if invoice.status not in TAKES_PAYMENT:
        raise Conflict(f"invoice {invoice.number} is {invoice.status}", code="invoice_not_open", field="invoice_id")
    if amount > invoice.collectable:
        raise Conflict(
            f"only {invoice.collectable} is due on invoice {invoice.number}",
            code="overpayment",
            field="amount",
            due=invoice.collectable,
        )
    if method == CREDIT:
        Patient.objects.select_for_update(no_key=True).filter(pk=invoice.patient_id).first()
        balance = credit_balance(tenant, invoice.patient_id)
        if balance < amount:
            raise Conflict(
                f"the patient has {balance} in credit", code="insufficient_credit", field="amount", balance=balance
            )
    return receive_payment(
        invoice, method=method, amount=amount, reference=reference, actor=actor, now=now, idempotency_key=key
    )
