"""Billing a membership period (SPEC §10.2, §10.3): the period row, its invoice, the patient's credit first.

Runs inside the caller's transaction with the membership locked. The period is unique per (membership,
start), so a period is never billed twice even if two ticks race past the lock's check. The invoice
number is taken last, right before the invoice row is written: the "invoice" counter is tenant-wide,
and a rolled-back issue gives its number back with the rollback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction

from punchcard import events
from punchcard.billing.selectors import credit_balance
from punchcard.billing.services.numbering import next_number
from punchcard.domain import posting
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.money import TaxSplit, split_tax
from punchcard.domain.periods import Frequency, period_on
from punchcard.domain.roles import Actor
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Patient
from punchcard.tenancy.selectors import local_date
from punchcard.tenancy.services import audit

from ..models import (
    ChangeStatus,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoicePayment,
    Membership,
    MembershipPeriod,
    MembershipPlanVersion,
    PeriodKind,
)
from .status import change_status

CREDIT = "credit"


@dataclass(frozen=True)
class LineQuote:
    """An invoice line before it is written: what a preview shows is what the invoice gets."""

    kind: str
    description: str
    net: int
    tax: int
    gross: int

    def to_dict(self) -> dict:
        return asdict(self)


def line_of(version: MembershipPlanVersion, kind: str, description: str, amount: int) -> LineQuote:
    """A line of `amount` as the version charges it (tax included or added, at its rate)."""
    split = split_tax(amount, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive)
    return LineQuote(str(kind), description[:300], split.net, split.tax, split.gross)


def pending_prorations(membership: Membership):
    """Changes whose proration waits for the next invoice (the plan bills prorations `next_invoice`)."""
    return membership.changes.filter(status=ChangeStatus.APPLIED, invoice__isnull=True, charge__gt=0).order_by("id")


def next_period_bounds(membership: Membership) -> tuple[PeriodKind, dt.date, dt.date, int]:
    """(kind, start, end, amount) of the period that starts at the membership's next billing date."""
    start = membership.next_billing_date
    if membership.trial_end is not None and start < membership.trial_end:
        trial = membership.version.trial_terms
        return PeriodKind.TRIAL, start, membership.trial_end, trial.charge(membership.price)
    billing = period_on(membership.anchor, Frequency(membership.frequency), start)
    return PeriodKind.PAID, billing.start, billing.end, membership.price


def bill_next_period(membership: Membership, *, actor: Actor, now: dt.datetime) -> MembershipPeriod | None:
    """Open the membership's next period and issue its invoice (none for a free trial). The membership is
    locked by the caller; None when the period was billed already."""
    kind, start, end, amount = next_period_bounds(membership)
    number = (membership.periods.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    try:
        with transaction.atomic():
            period = MembershipPeriod.objects.create(
                tenant=membership.tenant, membership=membership, number=number, kind=kind, start=start, end=end
            )
    except IntegrityError:
        return None  # this period has its row (and invoice) already
    membership.next_billing_date = end
    membership.save(update_fields=["next_billing_date"])
    lines = period_lines(membership, period=period, amount=amount)
    if lines:
        issue_invoice(membership, period=period, lines=lines, actor=actor, now=now)
    return period


def period_lines(membership: Membership, *, period: MembershipPeriod, amount: int) -> list[LineQuote]:
    """The period's fee and the prorations waiting for this invoice (none at all: no invoice)."""
    kind = InvoiceLineKind.TRIAL if period.kind == PeriodKind.TRIAL else InvoiceLineKind.PERIOD_FEE
    lines = [line_of(membership.version, kind, _describe(membership, period), amount)] if amount else []
    if period.kind == PeriodKind.PAID:
        lines += [LineQuote(**line) for change in pending_prorations(membership) for line in change.lines]
    return lines


def _describe(membership: Membership, period: MembershipPeriod) -> str:
    name = membership.version.name
    last = period.last_day.isoformat()
    if period.kind == PeriodKind.TRIAL:
        return f"{name}: trial, {period.start.isoformat()} to {last}"
    return f"{name} ({membership.frequency}), {period.start.isoformat()} to {last}"


def issue_invoice(
    membership: Membership, *, period: MembershipPeriod, lines: list[LineQuote], actor: Actor, now: dt.datetime
) -> Invoice:
    """The period's invoice: Dr receivable / Cr deferred membership revenue and tax payable; then the
    patient's credit pays what it can (Dr patient credit / Cr receivable). Prorations waiting for it are
    marked billed by it."""
    split = TaxSplit(net=sum(line.net for line in lines), tax=sum(line.tax for line in lines))
    return _write_invoice(
        membership,
        period=period,
        lines=lines,
        what=_describe(membership, period),
        postings=posting.membership_invoice(gross=split.gross, tax=split.tax),
        audit_data={},
        actor=actor,
        now=now,
    )


def issue_fee_invoice(
    membership: Membership, *, amount: int, description: str, actor: Actor, now: dt.datetime
) -> Invoice:
    """An invoice of one fee line and no period (a pause fee): Dr receivable / Cr fee revenue and tax
    payable, earned when issued; the patient's credit pays what it can, as for a period's invoice."""
    fee = line_of(membership.version, InvoiceLineKind.FEE, description, amount)
    return _write_invoice(
        membership,
        period=None,
        lines=[fee],
        what=description,
        postings=posting.membership_fee(gross=fee.gross, tax=fee.tax),
        audit_data={"kind": "fee"},
        actor=actor,
        now=now,
    )


def _write_invoice(
    membership: Membership,
    *,
    period: MembershipPeriod | None,
    lines: list[LineQuote],
    what: str,
    postings,
    audit_data: dict,
    actor: Actor,
    now: dt.datetime,
) -> Invoice:
    """One invoice of `lines`, numbered, journaled with `postings` and audited; the credit pays first."""
    tenant = membership.tenant
    split = TaxSplit(net=sum(line.net for line in lines), tax=sum(line.tax for line in lines))
    today = local_date(now, membership.centre)
    # Lock order: the patient after the membership, the invoice counter last.
    Patient.objects.select_for_update(no_key=True).filter(pk=membership.patient_id).first()
    credit = min(credit_balance(tenant, membership.patient_id), split.gross)
    invoice = Invoice.objects.create(
        tenant=tenant,
        number=next_number(tenant, "invoice"),
        membership=membership,
        period=period,
        patient=membership.patient,
        centre=membership.centre,
        currency=tenant.currency,
        net=split.net,
        tax=split.tax,
        gross=split.gross,
        issued_on=today,
        issued_at=now,
        issued_by=actor.label,
        status_changed_at=now,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=invoice, position=i, **line.to_dict()) for i, line in enumerate(lines)
    )
    if period is not None and period.kind == PeriodKind.PAID:
        pending_prorations(membership).update(invoice=invoice)
    journal.record(
        tenant=tenant,
        kind="membership_invoice",
        event=("membership_invoice", invoice.id),
        at=now,
        date=today,
        centre=membership.centre,
        patient=membership.patient,
        memo=f"membership invoice {invoice.number}: {what}"[:300],
        postings=postings,
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="invoice.issue",
        subject=invoice,
        now=now,
        data={"number": invoice.number, "membership_id": membership.id, "gross": split.gross, **audit_data},
    )
    if credit:
        receive_payment(invoice, method=CREDIT, amount=credit, reference="", actor=actor, now=now)
    return invoice


def receive_payment(
    invoice: Invoice,
    *,
    method: str,
    amount: int,
    reference: str,
    actor: Actor,
    now: dt.datetime,
    idempotency_key: str | None = None,
) -> InvoicePayment:
    """Money against a locked invoice (never more than it can still take), in the journal; a paid invoice
    brings its membership back to active (the caller holds the membership's lock)."""
    membership = invoice.membership
    payment = InvoicePayment.objects.create(
        tenant=invoice.tenant,
        invoice=invoice,
        method=method,
        amount=amount,
        reference=reference,
        received_at=now,
        recorded_by=actor.label,
        idempotency_key=idempotency_key,
    )
    journal.record(
        tenant=invoice.tenant,
        kind="membership_payment",
        event=("membership_payment", payment.id),
        at=now,
        date=local_date(now, invoice.centre),
        centre=invoice.centre,
        patient=invoice.patient,
        memo=f"{method} payment on membership invoice {invoice.number}" + (f" ({reference})" if reference else ""),
        postings=posting.payment(method=method, amount=amount),
    )
    if method == CREDIT:
        invoice.credit_applied += amount
    else:
        invoice.paid += amount
    if invoice.collectable == 0:
        invoice.status = InvoiceStatus.PAID
        invoice.status_changed_at = now
    invoice.save(update_fields=["credit_applied", "paid", "status", "status_changed_at"])
    audit(
        tenant=invoice.tenant,
        actor=actor,
        action="invoice.payment",
        subject=invoice,
        now=now,
        data={"method": method, "amount": amount, "reference": reference},
    )
    if invoice.status == InvoiceStatus.PAID:
        settled(membership, invoice, actor=actor, now=now)
    return payment


def settled(membership: Membership, invoice: Invoice, *, actor: Actor, now: dt.datetime) -> None:
    """An invoice was paid in full: the period it bills is paid; a past-due or suspended membership with no
    other unpaid invoice is active again; a paid first period after a trial makes a trialing one active."""
    period = invoice.period
    unpaid = membership.invoices.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE]).exists()
    status = MembershipStatus(membership.status)
    back = status in (MembershipStatus.PAST_DUE, MembershipStatus.SUSPENDED) and not unpaid
    converted = status is MembershipStatus.TRIALING and period is not None and period.kind == PeriodKind.PAID
    if back or converted:
        change_status(
            membership, MembershipStatus.ACTIVE, actor=actor, now=now, reason=f"invoice {invoice.number} paid"
        )
    if not unpaid:
        membership.failed_on, membership.failed_attempts, membership.next_retry_on = None, 0, None
    membership.save()
    if period is not None and period.kind == PeriodKind.PAID and period.number > 1:
        events.record(
            "membership.renewed",
            tenant=membership.tenant,
            subject=membership,
            actor=actor,
            at=now,
            membership_id=membership.id,
            patient_id=membership.patient_id,
            invoice_id=invoice.id,
            invoice_number=invoice.number,
            period_number=period.number,
            period_start=period.start.isoformat(),
            period_end=period.last_day.isoformat(),
            amount=invoice.gross,
            currency=invoice.currency,
        )
