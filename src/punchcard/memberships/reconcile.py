"""Memberships' invariants that `punchcard reconcile` proves (SPEC §10.3), registered with ledger.reconcile.

Per invoice, from the journal's entries of its own events (the invoice, its payments, its void, its
period's recognition, a change's credit of its unused part):
- invoiced = paid (credit applied included) + open receivable + written off, to the minor unit: the
  receivable the journal holds for it is exactly what the invoice says is still owed;
- its net = recognised + deferred + credited (a change or an immediate cancellation gave the unused part
  back to credit) + its fee lines (a pause fee: fee revenue when issued): the deferred membership revenue
  the journal holds for it is the net less all those, and the period's recognised cache agrees;
- its payments' rows add up to what the invoice says was paid; a void invoice holds nothing.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.ledger.reconcile import Check, Problem
from punchcard.tenancy.models import Tenant

from .models import ChargeAttempt, Invoice, InvoiceLineKind, InvoicePayment, MembershipChange, MembershipPeriod

EVENTS = (
    "membership_invoice",
    "membership_invoice_void",
    "membership_payment",
    "membership_period",
    "membership_change_credit",
    "membership_refund",
)


def _journal_by_invoice(tenant: Tenant | None) -> dict[int, dict[str, int]]:
    """role → amount per invoice, over the membership events that belong to one invoice."""
    postings = Posting.objects.filter(entry__event_type__in=EVENTS)
    payments = InvoicePayment.objects.all()
    periods = MembershipPeriod.objects.filter(invoice__isnull=False)
    changes = MembershipChange.objects.filter(credited_invoice__isnull=False)
    if tenant is not None:
        postings, payments, periods, changes = (q.filter(tenant=tenant) for q in (postings, payments, periods, changes))
    payment_invoice = dict(payments.values_list("id", "invoice_id"))
    period_invoice = dict(periods.values_list("id", "invoice__id"))
    change_invoice = dict(changes.values_list("id", "credited_invoice_id"))
    owner = {
        "membership_invoice": lambda pk: pk,
        "membership_invoice_void": lambda pk: pk,
        "membership_refund": lambda pk: pk,
        "membership_payment": payment_invoice.get,
        "membership_period": period_invoice.get,
        "membership_change_credit": change_invoice.get,
    }
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = postings.values("entry__event_type", "entry__event_id", "account__role").annotate(s=Sum("amount"))
    for row in rows:
        invoice_id = owner[row["entry__event_type"]](row["entry__event_id"])
        sums[invoice_id][row["account__role"]] += row["s"]
    return sums


def invoices(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    rows = Invoice.objects.select_related("period").prefetch_related("lines")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    journal = _journal_by_invoice(tenant)
    paid_rows = dict(
        (InvoicePayment.objects.filter(tenant=tenant) if tenant is not None else InvoicePayment.objects.all())
        .values("invoice_id")
        .annotate(s=Sum("amount"))
        .values_list("invoice_id", "s")
    )
    problems = []
    count = 0
    for invoice in rows.order_by("id"):
        count += 1
        subject = f"membership {invoice.membership_id} invoice {invoice.number}"
        books = journal.get(invoice.id, {})
        void = invoice.status == InvoiceStatus.VOID
        recognised = invoice.period.recognised if invoice.period is not None else 0
        owed = 0 if void else invoice.gross - invoice.credit_applied - invoice.paid - invoice.written_off
        # Fee lines (a pause fee) are earned when invoiced; the rest is deferred until its days pass.
        fees = sum(line.net for line in invoice.lines.all() if line.kind == InvoiceLineKind.FEE)
        deferred = 0 if void else invoice.net - fees - recognised - invoice.credited_net
        expected = {
            Role.RECEIVABLE: owed,
            Role.MEMBERSHIP_DEFERRED: -deferred,
            Role.MEMBERSHIP_REVENUE: -recognised,
            Role.FEE_REVENUE: 0 if void else -fees,
            Role.TAX_PAYABLE: 0 if void else -(invoice.tax - invoice.credited_tax),
            Role.BAD_DEBT: invoice.written_off,
        }
        for role, want in expected.items():
            have = books.get(role, 0)
            if have != want:
                problems.append(
                    Problem("memberships", subject, f"{role} in the journal is {have}, the invoice says {want}")
                )
        if paid_rows.get(invoice.id, 0) != invoice.credit_applied + invoice.paid:
            problems.append(
                Problem(
                    "memberships",
                    subject,
                    f"payments add up to {paid_rows.get(invoice.id, 0)}, the invoice says "
                    f"{invoice.credit_applied + invoice.paid} paid",
                )
            )
        if not void and invoice.gross != invoice.credit_applied + invoice.paid + owed + invoice.written_off:
            problems.append(Problem("memberships", subject, "invoiced ≠ paid + open receivable + written off"))
        credited = invoice.credited_net + invoice.credited_tax
        if credited and (invoice.status != InvoiceStatus.PAID or credited > invoice.credit_applied + invoice.paid):
            problems.append(Problem("memberships", subject, f"credited back {credited} of what was paid on it"))
        if recognised + invoice.credited_net > invoice.net or (recognised and invoice.status != InvoiceStatus.PAID):
            problems.append(Problem("memberships", subject, f"recognised {recognised} of an invoice of {invoice.net}"))
    return count, problems


def attempts(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """A succeeded charge attempt left its money somewhere: a payment on its invoice or the patient's credit."""
    rows = ChargeAttempt.objects.filter(outcome="succeeded")
    if tenant is not None:
        rows = rows.filter(tenant=tenant)
    problems = [
        Problem("memberships", f"invoice {a.invoice_id} attempt {a.number}", "succeeded without a payment")
        for a in rows.select_related("invoice")
        if not a.invoice.payments.exclude(method="credit").exists()
        and not Posting.objects.filter(entry__event_type="membership_charge", entry__event_id=a.id).exists()
    ]
    return rows.count(), problems


CHECKS = [
    Check(
        "memberships",
        "membership invoices agree with the journal: invoiced, paid, owed, deferred, recognised",
        invoices,
    ),
    Check("membership_charges", "every successful charge is a payment or the member's credit", attempts),
]
