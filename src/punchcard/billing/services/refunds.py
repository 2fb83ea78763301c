"""Refunds and patient credit (SPEC §8.2): a package refunded to credit, then credit paid out."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.idempotency import replay
from punchcard.domain.money import check_amount
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, Closure, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.tenancy.models import Centre, Patient, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from ..models import CreditPayout, Refund, Tender
from ..selectors import collected_money, credit_balance, suggested_refund
from .top_up import cancel_waiting_top_ups, lock_waiting_top_ups


@transaction.atomic
def refund_package(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    reason: str,
    amount: int | None = None,
    now: dt.datetime | None = None,
) -> Refund:
    """Refund a package to the patient's credit: any amount from what was paid on its open top-up orders
    (0 if none) to what was collected (default: the suggestion). The package is cancelled (refunded) and its
    open top-up orders with it; its remaining deferred value is cleared; the refund is first the advances
    paid on those orders, the rest a credit note of the package's sale (the tax in it is no longer owed);
    any difference from the deferred value cleared is a refund adjustment (README, "Money")."""
    actor.require(Perm.REFUND)
    now = now or clock.now()
    waiting = lock_waiting_top_ups(tenant, package_id)  # orders before their package (lock order)
    package = packages.lock_package(tenant, package_id)
    waiting = lock_waiting_top_ups(tenant, package.id, locked=waiting)
    lines = packages.lines_of(package)
    ensure_allowed(
        Action.REFUND, package_selectors.status_of(package, lines, package_selectors.today_for(package, now))
    )
    suggested, collected = suggested_refund(package, lines), collected_money(package)
    amount = suggested if amount is None else amount
    if isinstance(amount, bool) or not isinstance(amount, int) or not collected.advances <= amount <= collected.total:
        floor = f"the {collected.advances} paid on open top-up orders" if collected.advances else "0"
        raise InvalidInput(
            f"a refund must be between {floor} and the {collected.total} collected",
            code="refund_out_of_range",
            field="amount",
            collected=collected.total,
            minimum=collected.advances,
            suggested=suggested,
        )
    reason = validation.reason(reason)
    tax = collected.tax_in(amount - collected.advances)
    advances = cancel_waiting_top_ups(waiting, actor=actor, reason=f"package {package.id} refunded", now=now)
    package, cleared = packages.close_package(
        tenant=tenant,
        actor=actor,
        package_id=package.id,
        action=Action.REFUND,
        closure=Closure.CANCELLED,
        reason=f"refunded: {reason}",
        now=now,
    )
    refund = Refund.objects.create(
        tenant=tenant,
        package=package,
        patient_id=package.holder_id,
        suggested=suggested,
        amount=amount,
        deferred_cleared=sum(cleared.values()),
        tax_credited=tax,
        advances_returned=advances,
        reason=reason,
        created_at=now,
        created_by=actor.label,
    )
    journal.record(
        tenant=tenant,
        kind="refund",
        event=("refund", refund.id),
        at=now,
        date=package_selectors.today_for(package, now),
        centre=package.sold_at,
        patient=package.holder,
        package=package,
        memo=f"refund of package {package.id} to credit: {reason}",
        postings=posting.refund_to_credit(
            amount=amount,
            value_by_line={k: v for k, v in cleared.items() if v},
            tax=tax,
            advances=advances,
        ),
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="package.refund",
        subject=package,
        reason=reason,
        now=now,
        data={
            "amount": amount,
            "suggested": suggested,
            "collected": collected.total,
            "tax_credited": tax,
            "advances_returned": advances,
        },
    )
    events.record(
        "refund.created",
        tenant=tenant,
        subject=refund,
        actor=actor,
        at=now,
        refund_id=refund.id,
        package_id=package.id,
        patient_id=package.holder_id,
        amount=amount,
        currency=package.currency,
        to="credit",
    )
    return refund


@transaction.atomic
def pay_out_credit(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    method: str,
    amount: int,
    reference: str = "",
    centre_id: int | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> CreditPayout:
    """The refund's second step: patient credit paid back to a payment method, at a centre (default: the
    tenant's first), whose local date is the entry's accounting date."""
    actor.require(Perm.REFUND)
    now = now or clock.now()
    centre = (
        scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
        if centre_id is not None
        else Centre.objects.filter(tenant=tenant).order_by("id").first()
    )
    key = validation.idempotency_key(idempotency_key)
    if method not in Tender.values or method == Tender.CREDIT:
        raise InvalidInput("method must be cash, card, bank_transfer or external", field="method")
    check_amount(amount, field="amount", allow_zero=False)
    patient = scoped_get(
        Patient,
        tenant=tenant,
        pk=patient_id,
        field="patient_id",
        queryset=Patient.objects.select_for_update(no_key=True),
    )
    if key and (existing := CreditPayout.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="payout", patient_id=patient.id, method=method, amount=amount)
    balance = credit_balance(tenant, patient.id)
    if amount > balance:
        raise Conflict(
            f"the patient has {balance} in credit", code="insufficient_credit", field="amount", balance=balance
        )
    payout = CreditPayout.objects.create(
        tenant=tenant,
        patient=patient,
        method=method,
        amount=amount,
        reference=(reference or "").strip()[:200],
        created_at=now,
        created_by=actor.label,
        idempotency_key=key,
    )
    journal.record(
        tenant=tenant,
        kind="credit_payout",
        event=("credit_payout", payout.id),
        at=now,
        date=local_date(now, centre) if centre else now.date(),
        centre=centre,
        patient=patient,
        memo=f"credit paid out to {patient.name} by {method}",
        postings=posting.credit_paid_out(method=method, amount=amount),
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="credit.payout",
        subject=patient,
        now=now,
        data={"amount": amount, "method": method},
    )
    return payout
