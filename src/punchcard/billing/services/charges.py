"""Charging a stored payment method (SPEC §10.2), and paying an order with one.

None of these is one transaction, on purpose: a provider is never called inside a transaction that
holds row locks (billing.providers.base). Each charge is a `PaymentAttempt` keyed by its idempotency key:

1. the attempt is recorded `pending` and committed (a repeated key finds it: a settled one answers at
   once with its result, so money never moves twice);
2. the provider is called, with the same key (so a pending attempt left by a crash is simply asked again);
3. the outcome is recorded in a transaction of its own.

Paying an order then goes through `record_payment`, the one way an order is paid.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, DomainError, InvalidInput
from punchcard.domain.idempotency import replay
from punchcard.domain.money import check_amount, check_currency
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .. import providers
from ..models import (
    AttemptKind,
    AttemptOutcome,
    Order,
    OrderStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    PaymentMethodStatus,
)
from ..providers import ChargeResult, RefundResult
from .orders import record_payment

RETURNED = ":returned"  # suffix of the key that gives back a charge its order could not take


def _key(value) -> str:
    key = validation.idempotency_key(value)
    if key is None:
        raise InvalidInput("a charge needs an idempotency key, so a retry never charges twice", field="idempotency_key")
    return key


def _claim(*, method: PaymentMethod, kind: str, amount: int, currency: str, key: str, refunds=None, now):
    """The attempt for `key`: the one recorded before (if it asked the same thing), or a new pending one."""
    fields = {"method_id": method.id, "kind": kind, "amount": amount, "currency": currency}
    existing = PaymentAttempt.objects.filter(tenant_id=method.tenant_id, idempotency_key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return PaymentAttempt.objects.create(
                    tenant_id=method.tenant_id, idempotency_key=key, refunds=refunds, at=now, **fields
                )
        except IntegrityError:
            existing = PaymentAttempt.objects.get(tenant_id=method.tenant_id, idempotency_key=key)
    return replay(existing, what="charge", **fields)


def _settle(attempt: PaymentAttempt, result, now: dt.datetime) -> PaymentAttempt:
    """Record the provider's answer once (a webhook may have recorded it first: the first answer stands)."""
    with transaction.atomic():
        PaymentAttempt.objects.filter(pk=attempt.pk, outcome=AttemptOutcome.PENDING).update(
            outcome=AttemptOutcome.SUCCEEDED if result.ok else AttemptOutcome.FAILED,
            reference=result.reference,
            failure_code=result.failure_code,
            message=result.message[:300],
            settled_at=now,
        )
    attempt.refresh_from_db()
    return attempt


def result_of(attempt: PaymentAttempt):
    """A settled attempt's result, as the provider gave it."""
    cls = RefundResult if attempt.kind == AttemptKind.REFUND else ChargeResult
    ok = attempt.outcome == AttemptOutcome.SUCCEEDED
    return cls(
        ok=ok,
        reference=attempt.reference,
        amount=attempt.amount,
        failure_code="" if ok else attempt.failure_code,
        message="" if ok else attempt.message,
    )


def charge(
    *, method: PaymentMethod, amount: int, currency: str, idempotency_key: str, now: dt.datetime | None = None
) -> PaymentAttempt:
    """Charge a stored method; the attempt, settled. The same key never charges twice."""
    providers.outside_transaction("charge_method")
    now = now or clock.now()
    key = _key(idempotency_key)
    check_amount(amount, allow_zero=False)
    if check_currency(currency) != method.tenant.currency:
        raise InvalidInput(
            f"the clinic charges in {method.tenant.currency}, not {currency}",
            code="currency_mismatch",
            field="currency",
        )
    fields = {"kind": AttemptKind.CHARGE, "amount": amount, "currency": currency, "key": key}
    attempt = PaymentAttempt.objects.filter(tenant_id=method.tenant_id, idempotency_key=key).first()
    if attempt is not None and attempt.outcome != AttemptOutcome.PENDING:
        return _claim(method=method, now=now, **fields)  # the answer already given (or a conflict)
    if method.status != PaymentMethodStatus.ACTIVE:
        raise Conflict(f"the {method.brand} method was detached", code="payment_method_detached", field="method_id")
    attempt = _claim(method=method, now=now, **fields)
    if attempt.outcome != AttemptOutcome.PENDING:  # settled meanwhile by a concurrent call
        return attempt
    result = providers.get(method.provider).charge(method=method, amount=amount, currency=currency, idempotency_key=key)
    return _settle(attempt, result, now)


def charge_method(
    *, method: PaymentMethod, amount: int, currency: str, idempotency_key: str, now: dt.datetime | None = None
) -> ChargeResult:
    """Charge a stored method and say how it went (a decline is a result, not an error). Not atomic: call
    it outside any transaction and record what it means (an invoice paid, a retry due) in your own."""
    return result_of(charge(method=method, amount=amount, currency=currency, idempotency_key=idempotency_key, now=now))


def refund_charge(
    *, charge: PaymentAttempt, amount: int, idempotency_key: str, now: dt.datetime | None = None
) -> RefundResult:
    """Give back (part of) a succeeded charge through its provider. Not atomic, like charge_method."""
    providers.outside_transaction("refund_charge")
    now = now or clock.now()
    key = _key(idempotency_key)
    check_amount(amount, allow_zero=False)
    if charge.kind != AttemptKind.CHARGE or charge.outcome != AttemptOutcome.SUCCEEDED:
        raise Conflict("only a charge that succeeded can be refunded", field="charge")
    given_back = sum(
        charge.refunded_by.exclude(idempotency_key=key)
        .filter(outcome=AttemptOutcome.SUCCEEDED)
        .values_list("amount", flat=True)
    )
    if amount > charge.amount - given_back:
        raise InvalidInput(
            f"only {charge.amount - given_back} of the charge is left to refund",
            field="amount",
            left=charge.amount - given_back,
        )
    method = charge.method
    attempt = _claim(
        method=method,
        kind=AttemptKind.REFUND,
        amount=amount,
        currency=charge.currency,
        key=key,
        refunds=charge,
        now=now,
    )
    if attempt.outcome == AttemptOutcome.PENDING:
        result = providers.get(method.provider).refund(
            tenant=method.tenant, reference=charge.reference, amount=amount, idempotency_key=key
        )
        attempt = _settle(attempt, result, now)
    return result_of(attempt)


def charge_order(
    *,
    tenant: Tenant,
    actor: Actor,
    order_id: int,
    method_id: int,
    idempotency_key: str,
    amount: int | None = None,
    now: dt.datetime | None = None,
) -> Payment:
    """Pay an order (in full unless `amount` says otherwise) with the patient's stored method.

    A charge the provider refuses is `payment_failed` (its `failure_code` in the context) and pays nothing.
    A charge that went through but that the order can no longer take (paid or cancelled meanwhile) is
    given back through the provider before the refusal is raised.
    """
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = _key(idempotency_key)
    order = scoped_get(Order, tenant=tenant, pk=order_id, field="order_id")
    method = scoped_get(PaymentMethod, tenant=tenant, pk=method_id, field="method_id")
    if method.patient_id != order.patient_id:
        raise InvalidInput("the payment method is another patient's", field="method_id")
    paid_before = Payment.objects.filter(tenant=tenant, idempotency_key=key).first()
    if paid_before is not None:  # a repeat: record_payment answers it as the first time
        amount = paid_before.amount if amount is None else amount
    else:
        amount = order.due if amount is None else amount
        if order.status not in (OrderStatus.OPEN, OrderStatus.PAY_LATER):
            raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
        if amount > order.due:
            raise Conflict(
                f"only {order.due} is due on order {order.number}", code="overpayment", field="amount", due=order.due
            )
    attempt = charge(method=method, amount=amount, currency=order.currency, idempotency_key=key, now=now)
    if attempt.outcome != AttemptOutcome.SUCCEEDED:
        raise Conflict(
            attempt.message or "the payment did not go through",
            code="payment_failed",
            failure_code=attempt.failure_code,
            attempt_id=attempt.id,
        )
    try:
        return record_payment(
            tenant=tenant,
            actor=actor,
            order_id=order.id,
            method=method.tender,
            amount=amount,
            reference=attempt.reference,
            idempotency_key=key,
            attempt=attempt,
            now=now,
        )
    except DomainError:
        refund_charge(charge=attempt, amount=amount, idempotency_key=key + RETURNED, now=now)
        raise
