"""Charging an invoice to the member's stored payment method (SPEC §10.2), never inside a transaction
that holds locks:

1. claim an attempt (a committed ChargeAttempt row, under the membership's and invoice's locks);
2. call the provider with no transaction open, with the attempt's idempotency key;
3. record the outcome in a second transaction: a payment, or a failure with the dunning that follows.

A worker that dies between 1 and 3 leaves the attempt pending; the next run takes the same attempt, so
the provider sees the same key and charges at most once. A provider that raises leaves it pending too.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django_tasks import task

from punchcard import clock, events
from punchcard.billing import providers
from punchcard.billing.models import PaymentMethod, PaymentMethodStatus, Tender
from punchcard.billing.providers import ChargeResult
from punchcard.billing.services.charges import charge_method
from punchcard.domain import posting
from punchcard.domain.dunning import FinalAction
from punchcard.domain.errors import InvalidInput
from punchcard.domain.invoice_status import TAKES_PAYMENT, InvoiceStatus, ensure_transition
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.roles import SYSTEM, Actor
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from ..models import AttemptOutcome, ChargeAttempt, Invoice, Membership
from .invoicing import receive_payment
from .status import change_status, lock_membership

logger = logging.getLogger(__name__)

NO_PAYMENT_METHOD = "no_payment_method"


def not_chargeable(tenant: Tenant, payment_method_id: int | None) -> str:
    """Why the membership's method cannot be charged unattended ("" when it can): none stored, detached, or
    one the desk keeps (a provider that cannot charge with nobody present). The desk collects instead."""
    if payment_method_id is None:
        return NO_PAYMENT_METHOD
    method = PaymentMethod.objects.get(tenant=tenant, pk=payment_method_id)
    if method.status != PaymentMethodStatus.ACTIVE:
        return "payment_method_detached"
    return "" if providers.get(method.provider).unattended else NO_PAYMENT_METHOD


def provider_charge(*, tenant: Tenant, payment_method_id: int, amount: int, currency: str, key: str) -> ChargeResult:
    """Charge the stored method through billing's provider interface (a decline is a result, not an error)."""
    method = PaymentMethod.objects.get(tenant=tenant, pk=payment_method_id)
    return charge_method(method=method, amount=amount, currency=currency, idempotency_key=key)


def check_payment_method(*, tenant: Tenant, patient, payment_method_id: int | None) -> PaymentMethod | None:
    """The patient's active stored method a membership is charged to (None: the desk collects each invoice)."""
    if payment_method_id is None:
        return None
    method = scoped_get(PaymentMethod, tenant=tenant, pk=payment_method_id, field="payment_method_id")
    if method.patient_id != patient.id:
        raise InvalidInput("the payment method belongs to another patient", field="payment_method_id")
    if method.status != PaymentMethodStatus.ACTIVE:
        raise InvalidInput("the payment method was detached", field="payment_method_id")
    return method


def enqueue_open_invoices(membership: Membership) -> None:
    """Queue the charge of the membership's open invoices, in the caller's transaction: the worker charges
    them once it commits (no provider is ever called inside the transaction that issued them)."""
    if membership.payment_method_id is None:
        return
    for invoice_id in membership.invoices.filter(status=InvoiceStatus.OPEN).values_list("id", flat=True):
        charge_invoice.enqueue(tenant_id=membership.tenant_id, invoice_id=invoice_id)


@task()
def charge_invoice(*, tenant_id: int, invoice_id: int) -> str:
    """The worker's charge of one invoice (queued when it is issued)."""
    attempt = collect(tenant=Tenant.objects.get(pk=tenant_id), invoice_id=invoice_id)
    return attempt.outcome if attempt is not None else "nothing to charge"


def _claim(tenant: Tenant, invoice_id: int, now: dt.datetime) -> ChargeAttempt | None:
    with transaction.atomic():
        invoice = Invoice.objects.filter(tenant=tenant, pk=invoice_id).values("membership_id").first()
        if invoice is None:
            return None
        lock_membership(tenant, invoice["membership_id"])
        invoice = Invoice.objects.select_for_update(no_key=True).get(pk=invoice_id)
        if invoice.status not in TAKES_PAYMENT or invoice.collectable <= 0:
            return None
        pending = invoice.attempts.filter(outcome=AttemptOutcome.PENDING).first()
        if pending is not None:
            return pending  # a run that died after claiming: the same key again
        number = invoice.attempts.count() + 1
        return ChargeAttempt.objects.create(
            tenant=tenant, invoice=invoice, number=number, amount=invoice.collectable, started_at=now
        )


def collect(*, tenant: Tenant, invoice_id: int, actor: Actor = SYSTEM, now: dt.datetime | None = None):
    """Charge the invoice's membership's stored method for what is due. Returns the finished attempt, or None
    when nothing was due or the provider could not be reached (the attempt stays pending)."""
    now = now or clock.now()
    providers.outside_transaction("collecting a membership invoice")
    attempt = _claim(tenant, invoice_id, now)
    if attempt is None:
        return None
    method_id = Membership.objects.filter(pk=attempt.invoice.membership_id).values_list("payment_method_id", flat=True)
    method_id = method_id[0]
    refused = not_chargeable(tenant, method_id)
    if refused:
        return record_outcome(
            tenant=tenant, attempt_id=attempt.id, ok=False, reference="", failure_code=refused, actor=actor, now=now
        )
    try:
        result = provider_charge(
            tenant=tenant,
            payment_method_id=method_id,
            amount=attempt.amount,
            currency=attempt.invoice.currency,
            key=attempt.provider_key,
        )
    except Exception:  # the provider did not answer: keep the attempt pending, retried with its key
        logger.exception("charging invoice %s attempt %s", invoice_id, attempt.number)
        return None
    return record_outcome(
        tenant=tenant,
        attempt_id=attempt.id,
        ok=result.ok,
        reference=result.reference,
        failure_code=result.failure_code,
        actor=actor,
        now=now,
    )


@transaction.atomic
def record_outcome(
    *, tenant: Tenant, attempt_id: int, ok: bool, reference: str, failure_code: str, actor: Actor, now: dt.datetime
):
    """The provider's answer to one attempt, recorded once (a repeat finds the attempt finished)."""
    attempt = ChargeAttempt.objects.select_related("invoice").get(tenant=tenant, pk=attempt_id)
    membership = lock_membership(tenant, attempt.invoice.membership_id)
    invoice = (
        Invoice.objects.select_for_update(no_key=True, of=("self",)).select_related("period").get(pk=attempt.invoice_id)
    )
    attempt = ChargeAttempt.objects.get(pk=attempt_id)
    if attempt.outcome != AttemptOutcome.PENDING:
        return attempt
    attempt.finished_at, attempt.reference = now, (reference or "")[:200]
    if ok:
        attempt.outcome = AttemptOutcome.SUCCEEDED
        attempt.save()
        _charged(membership, invoice, attempt, actor=actor, now=now)
    else:
        attempt.outcome, attempt.failure_code = AttemptOutcome.FAILED, (failure_code or "declined")[:64]
        attempt.save()
        _failed(membership, invoice, attempt, actor=actor, now=now)
    return attempt


def _charged(membership: Membership, invoice: Invoice, attempt: ChargeAttempt, *, actor: Actor, now) -> None:
    invoice.membership = membership
    tender = PaymentMethod.objects.filter(pk=membership.payment_method_id).values_list("tender", flat=True).first()
    tender = tender or Tender.EXTERNAL
    taken = min(attempt.amount, invoice.collectable)
    if taken:
        receive_payment(invoice, method=tender, amount=taken, reference=attempt.reference, actor=actor, now=now)
    if attempt.amount > taken:
        # Paid at the desk while the charge was in flight: the surplus is the member's credit.
        journal.record(
            tenant=invoice.tenant,
            kind="membership_overpayment",
            event=("membership_charge", attempt.id),
            at=now,
            date=local_date(now, invoice.centre),
            centre=invoice.centre,
            patient=invoice.patient,
            memo=f"charge on settled membership invoice {invoice.number}: to credit",
            postings=posting.to_credit(method=tender, amount=attempt.amount - taken),
        )


def _failed(membership: Membership, invoice: Invoice, attempt: ChargeAttempt, *, actor: Actor, now) -> None:
    today = local_date(now, membership.centre)
    schedule = membership.version.dunning
    membership.failed_on = membership.failed_on or today
    membership.failed_attempts += 1
    membership.next_retry_on = schedule.next_retry(membership.failed_on, membership.failed_attempts)
    payload = dict(
        membership_id=membership.id,
        patient_id=membership.patient_id,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        attempt=attempt.number,
        failure_code=attempt.failure_code,
        amount=attempt.amount,
        currency=invoice.currency,
        plan_name=membership.version.name,
        next_retry_on=membership.next_retry_on.isoformat() if membership.next_retry_on else None,
    )
    events.record(
        "membership.payment_failed", tenant=membership.tenant, subject=membership, actor=actor, at=now, **payload
    )
    status = MembershipStatus(membership.status)
    if status in (MembershipStatus.ACTIVE, MembershipStatus.TRIALING):
        change_status(
            membership,
            MembershipStatus.PAST_DUE,
            actor=actor,
            now=now,
            reason=f"payment failed: {attempt.failure_code}",
        )
        events.record(
            "membership.past_due",
            tenant=membership.tenant,
            subject=membership,
            actor=actor,
            at=now,
            membership_id=membership.id,
            patient_id=membership.patient_id,
            invoice_id=invoice.id,
            failed_on=membership.failed_on.isoformat(),
            next_retry_on=payload["next_retry_on"],
        )
    if membership.next_retry_on is None and MembershipStatus(membership.status) is MembershipStatus.PAST_DUE:
        final_action(membership, invoice, actor=actor, now=now)
    membership.save()


def final_action(membership: Membership, invoice: Invoice, *, actor: Actor, now) -> None:
    """After the last retry: cancel (the unpaid invoice is voided: its period was never paid for, so nothing
    was owed for a service not given) or suspend (benefits blocked until the open invoice is paid)."""
    action = membership.version.dunning.final_action
    reason = f"invoice {invoice.number} unpaid after the last retry"
    if action is FinalAction.SUSPEND:
        change_status(membership, MembershipStatus.SUSPENDED, actor=actor, now=now, reason=reason)
        return
    for unpaid in membership.invoices.select_for_update(no_key=True).filter(status=InvoiceStatus.OPEN).order_by("id"):
        void_invoice(unpaid, actor=actor, now=now, reason=reason)
    change_status(membership, MembershipStatus.CANCELLED, actor=actor, now=now, reason=reason)
    membership.next_billing_date = None
    events.record(
        "membership.ended",
        tenant=membership.tenant,
        subject=membership,
        actor=actor,
        at=now,
        membership_id=membership.id,
        patient_id=membership.patient_id,
        status=MembershipStatus.CANCELLED.value,
        reason="unpaid",
        ended_on=local_date(now, membership.centre).isoformat(),
    )


def void_invoice(invoice: Invoice, *, actor: Actor, now, reason: str) -> None:
    """Void a locked open invoice: its entry is reversed, and whatever was paid on it (credit applied, a
    partial payment) becomes the patient's credit."""
    ensure_transition(InvoiceStatus(invoice.status), InvoiceStatus.VOID)
    day = local_date(now, invoice.centre)
    journal.reverse_entries(
        tenant=invoice.tenant,
        event=("membership_invoice", invoice.id),
        kind="membership_void",
        memo=f"membership invoice {invoice.number} void: {reason}"[:300],
        at=now,
        date=day,
        reversal_event=("membership_invoice_void", invoice.id),
    )
    returned = invoice.credit_applied + invoice.paid
    if returned:
        journal.record(
            tenant=invoice.tenant,
            kind="membership_void",
            event=("membership_invoice_void", invoice.id),
            at=now,
            date=day,
            centre=invoice.centre,
            patient=invoice.patient,
            memo=f"paid on void membership invoice {invoice.number}: back to credit",
            postings=posting.void_payment(amount=returned),
        )
    invoice.status, invoice.status_changed_at = InvoiceStatus.VOID, now
    invoice.save(update_fields=["status", "status_changed_at"])
    audit(tenant=invoice.tenant, actor=actor, action="invoice.void", subject=invoice, reason=reason, now=now)
