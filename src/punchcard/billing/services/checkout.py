"""A hosted checkout for an order (SPEC §10a: the portal's online purchase): the patient is sent to the
provider's payment page and back. Like every provider call, neither step is one transaction: the
provider is asked outside any, and what it said is recorded afterwards (billing.providers.base).

The test provider's page is Punchcard's own (`GET /api/v1/providers/test/checkout/{session}`), which
completes at once with the token it is given.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from .. import providers
from ..models import (
    AttemptKind,
    AttemptOutcome,
    Checkout,
    CheckoutStatus,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentMethod,
)
from .charges import RETURNED, refund_charge
from .orders import record_payment

# Back to a page of this server only: a path of printable characters, never `//host` or `/\host` (no open
# redirect). The API's schema states the same pattern.
RETURN_PATH = r"^/([!-.0-\[\]-~][!-\[\]-~]*)?$"
_RETURN_PATH = re.compile(RETURN_PATH)


def start_checkout(
    *,
    tenant: Tenant,
    actor: Actor,
    order_id: int,
    provider: str,
    return_url: str,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Checkout:
    """A payment page for what is due on the order; send the patient to `checkout.redirect_url`. The same
    key gives the same page (the provider answers it with the same session)."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    gateway = providers.get(provider)
    if not isinstance(return_url, str) or len(return_url) > 500 or not _RETURN_PATH.fullmatch(return_url):
        raise InvalidInput("return_url is a path on this server, e.g. /portal/orders/12", field="return_url")
    order = scoped_get(Order, tenant=tenant, pk=order_id, field="order_id")
    if order.status not in (OrderStatus.OPEN, OrderStatus.PAY_LATER) or order.due <= 0:
        raise Conflict(f"order {order.number} has nothing to pay", code="order_not_open")
    providers.outside_transaction("start_checkout")
    session = gateway.start_checkout(
        tenant=tenant,
        amount=order.due,
        currency=order.currency,
        description=f"order {order.number}",
        idempotency_key=f"checkout:{order.id}:{validation.idempotency_key(idempotency_key) or uuid.uuid4().hex}",
    )
    if existing := Checkout.objects.filter(session=session.id).first():
        return existing
    with transaction.atomic():
        checkout = Checkout.objects.create(
            tenant=tenant,
            provider=gateway.name,
            session=session.id,
            order=order,
            amount=order.due,
            return_url=return_url,
            redirect_url=session.redirect_url,
            started_by=actor.label,
            started_role=actor.role,
            created_at=now,
        )
        audit(
            tenant=tenant, actor=actor, action="checkout.start", subject=checkout, now=now, data={"amount": order.due}
        )
    return checkout


def complete_checkout(*, session: str, token: str | None = None, now: dt.datetime | None = None) -> Checkout:
    """Ask the provider how the checkout ended and record it: the method the patient paid with (kept for
    next time), the charge, and the order's payment. A checkout already ended is returned as it is."""
    now = now or clock.now()
    checkout = Checkout.objects.select_related("tenant", "order").filter(session=session).first()
    if checkout is None:
        raise NotFound("no such checkout", field="session")
    if checkout.status != CheckoutStatus.OPEN:
        return checkout
    tenant = checkout.tenant
    providers.outside_transaction("complete_checkout")
    ended = providers.get(checkout.provider).complete_checkout(tenant=tenant, session_id=session, token=token)
    actor = Actor(label=f"{checkout.started_by} (checkout)", role=checkout.started_role, source="checkout")
    key = f"checkout:{session}"
    attempt = _record_charge(checkout, ended, key, now) if ended.method else None
    status = CheckoutStatus.FAILED
    if attempt is not None and attempt.outcome == AttemptOutcome.SUCCEEDED:
        try:
            record_payment(
                tenant=tenant,
                actor=actor,
                order_id=checkout.order_id,
                method=attempt.method.tender,
                amount=attempt.amount,
                reference=attempt.reference,
                idempotency_key=key,
                attempt=attempt,
                now=now,
            )
            status = CheckoutStatus.PAID
        except DomainError:  # the order was paid or cancelled meanwhile: the money goes back
            refund_charge(charge=attempt, amount=attempt.amount, idempotency_key=key + RETURNED, now=now)
    with transaction.atomic():
        Checkout.objects.filter(pk=checkout.pk, status=CheckoutStatus.OPEN).update(
            status=status, attempt=attempt, completed_at=now
        )
        audit(
            tenant=tenant, actor=actor, action="checkout.complete", subject=checkout, now=now, data={"status": status}
        )
    checkout.refresh_from_db()
    return checkout


def _record_charge(checkout: Checkout, ended, key: str, now: dt.datetime) -> PaymentAttempt:
    """The method the patient used and the charge made on it, as the provider reports them (once per key)."""
    if existing := PaymentAttempt.objects.filter(tenant=checkout.tenant, idempotency_key=key).first():
        return existing
    stored, charge = ended.method, ended.charge
    try:
        with transaction.atomic():
            method = PaymentMethod.objects.create(
                tenant=checkout.tenant,
                patient_id=checkout.order.patient_id,
                provider=checkout.provider,
                reference=stored.reference,
                tender=stored.tender,
                brand=stored.brand,
                last4=stored.last4,
                expiry_month=stored.expiry_month,
                expiry_year=stored.expiry_year,
                created_at=now,
                created_by=f"{checkout.started_by} (checkout)",
            )
            return PaymentAttempt.objects.create(
                tenant=checkout.tenant,
                method=method,
                kind=AttemptKind.CHARGE,
                amount=checkout.amount,
                currency=checkout.order.currency,
                idempotency_key=key,
                outcome=AttemptOutcome.SUCCEEDED if charge.ok else AttemptOutcome.FAILED,
                reference=charge.reference,
                failure_code=charge.failure_code,
                message=charge.message[:300],
                at=now,
                settled_at=now,
            )
    except IntegrityError:  # completed at the same moment elsewhere
        return PaymentAttempt.objects.get(tenant=checkout.tenant, idempotency_key=key)
