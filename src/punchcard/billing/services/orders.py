"""Orders (SPEC §3): placing one, paying it, activating it unpaid, cancelling it; the one-plan sale."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import transaction

from punchcard import clock
from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput, RuleViolation
from punchcard.domain.idempotency import fingerprint, replay
from punchcard.domain.money import check_amount, split_tax
from punchcard.domain.roles import Actor, Perm
from punchcard.ledger import services as journal
from punchcard.packages.models import Package, PackageLine
from punchcard.tenancy.models import Centre, Patient, StaffMember, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from .. import hooks
from ..models import Order, OrderLine, OrderLineKind, OrderStatus, Payment, PaymentAttempt, Tender
from ..selectors import credit_balance
from .activation import activate_order
from .numbering import next_number

MAX_FUTURE_START_DAYS = 366
MAX_ORDER_ITEMS = 20


@dataclass(frozen=True)
class OrderItem:
    plan_id: int
    start_date: dt.date | None = None


@transaction.atomic
def place_order(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    centre_id: int,
    items: list[OrderItem],
    credited_staff_id: int | None = None,
    idempotency_key: str | None = None,
    promotion_code: str | None = None,
    max_items: int = MAX_ORDER_ITEMS,
    now: dt.datetime | None = None,
) -> Order:
    """An order for one or more plans. Packages are activated when it is paid (record_payment).

    Promotions (SPEC §9) are evaluated per line, the typed `promotion_code` and the automatic ones: a
    discount lowers the line's price *before* the tax split, so the deferred value is of what is paid.
    """
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    digest = fingerprint(
        patient_id=patient_id,
        centre_id=centre_id,
        items=[asdict(i) for i in items],
        credited_staff_id=credited_staff_id,
        **({"promotion_code": promotion_code} if promotion_code else {}),
    )
    if key and (existing := Order.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="order", request_hash=digest)
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    staff = (
        scoped_get(StaffMember, tenant=tenant, pk=credited_staff_id, field="credited_staff_id")
        if credited_staff_id is not None
        else None
    )
    if not items:
        raise InvalidInput("an order needs at least one item", field="items")
    if len(items) > max_items:
        raise InvalidInput(f"an order has at most {max_items} items", field="items")
    today = local_date(now, centre)
    priced = []
    for i, item in enumerate(items):
        plan = scoped_get(Plan, tenant=tenant, pk=item.plan_id, field=f"items[{i}].plan_id")
        version: PlanVersion = plan.current
        if not version.on_sale(today):
            raise RuleViolation(
                f"{version.name} is not on sale on {today.isoformat()}",
                code="plan_not_on_sale",
                field=f"items[{i}].plan_id",
            )
        if version.expired_on(today):
            raise RuleViolation(
                f"{version.name} expired on {version.fixed_expiry.isoformat()}: a package sold now would be "
                "expired at once",
                code="plan_expired",
                field=f"items[{i}].plan_id",
            )
        start = item.start_date or today
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            raise InvalidInput("start_date must be a date", field=f"items[{i}].start_date")
        if start < today:
            raise InvalidInput("a package cannot start before today", field=f"items[{i}].start_date")
        if start > today + dt.timedelta(days=MAX_FUTURE_START_DAYS):
            raise InvalidInput("a package can start at most a year ahead", field=f"items[{i}].start_date")
        list_total = sum(
            max(s.list_price for s in line.services.all()) * (line.sessions + line.bonus_sessions)
            for line in version.lines.all()
        )
        priced.append((version, start, list_total))
    offers = hooks.price(
        tenant=tenant, patient=patient, day=today, versions=[v for v, _, _ in priced], code=promotion_code
    )
    priced = [
        (
            version,
            start,
            list_total,
            discount,
            record,
            split_tax(version.price - discount, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive),
        )
        for (version, start, list_total), (discount, record) in zip(priced, offers, strict=True)
    ]
    net = sum(split.net for *_, split in priced)
    tax = sum(split.tax for *_, split in priced)
    order = Order(
        tenant=tenant,
        number=0,
        patient=patient,
        centre=centre,
        currency=tenant.currency,
        net=net,
        tax=tax,
        gross=net + tax,
        discount=sum(p[3] for p in priced),
        credited_staff=staff,
        idempotency_key=key,
        request_hash=digest,
        created_at=now,
        created_by=actor.label,
    )
    order.number = next_number(tenant, "order")
    order.save()
    for version, start, list_total, discount, record, split in priced:
        OrderLine.objects.create(
            order=order,
            kind=OrderLineKind.PACKAGE,
            plan_version=version,
            start_date=start,
            list_total=list_total,
            discount=discount,
            net=split.net,
            tax=split.tax,
            gross=split.gross,
            promotion=record,
        )
    audit(
        tenant=tenant,
        actor=actor,
        action="order.place",
        subject=order,
        now=now,
        data={"gross": order.gross, "items": len(items)},
    )
    if order.gross == 0:
        activate_order(order, actor=actor, now=now, status=OrderStatus.PAID)
    return order


@transaction.atomic
def record_payment(
    *,
    tenant: Tenant,
    actor: Actor,
    order_id: int,
    method: str,
    amount: int,
    reference: str = "",
    idempotency_key: str | None = None,
    attempt: PaymentAttempt | None = None,
    now: dt.datetime | None = None,
) -> Payment:
    """A payment against an order; the order's packages activate when nothing is left to pay.

    `attempt`: the provider charge that took the money (billing.services.charges.charge_order), kept
    with the payment; the desk's own payments have none."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    validation.choice(method, Tender, "method")
    check_amount(amount, field="amount", allow_zero=False)
    if not isinstance(reference, str) or len(reference) > 200:
        raise InvalidInput("reference is text of at most 200 characters", field="reference")
    order = scoped_get(
        Order, tenant=tenant, pk=order_id, field="order_id", queryset=Order.objects.select_for_update(no_key=True)
    )
    if key and (existing := Payment.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(  # the reference is stored stripped
            existing, what="payment", order_id=order.id, method=method, amount=amount, reference=reference.strip()
        )
    if order.status not in (OrderStatus.OPEN, OrderStatus.PAY_LATER):
        raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
    if amount > order.due:
        raise Conflict(
            f"only {order.due} is due on order {order.number}", code="overpayment", field="amount", due=order.due
        )
    if method == Tender.CREDIT:
        # Serialise spending of one patient's credit on the patient row.
        Patient.objects.select_for_update(no_key=True).filter(pk=order.patient_id).first()
        balance = credit_balance(tenant, order.patient_id)
        if balance < amount:
            raise Conflict(
                f"the patient has {balance} in credit", code="insufficient_credit", field="amount", balance=balance
            )
    payment = Payment.objects.create(
        tenant=tenant,
        order=order,
        method=method,
        amount=amount,
        reference=reference.strip(),
        received_at=now,
        recorded_by=actor.label,
        idempotency_key=key,
        attempt=attempt,
    )
    journal.record(
        tenant=tenant,
        kind="payment",
        event=("payment", payment.id),
        at=now,
        date=local_date(now, order.centre),
        centre=order.centre,
        patient=order.patient,
        memo=f"{method} payment on order {order.number}" + (f" ({reference})" if reference else ""),
        postings=posting.payment(method=method, amount=amount),
    )
    order.paid += amount
    order.save(update_fields=["paid"])
    audit(
        tenant=tenant,
        actor=actor,
        action="order.payment",
        subject=order,
        now=now,
        data={"method": method, "amount": amount, "reference": reference},
    )
    if order.due == 0:
        if order.status == OrderStatus.OPEN:
            activate_order(order, actor=actor, now=now, status=OrderStatus.PAID)
        else:
            Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
            order.status = OrderStatus.PAID
    return payment


@transaction.atomic
def mark_pay_later(
    *, tenant: Tenant, actor: Actor, order_id: int, reason: str, now: dt.datetime | None = None
) -> Order:
    """A manager activates an unpaid order; the balance stays receivable."""
    actor.require(Perm.ADJUST)
    now = now or clock.now()
    order = scoped_get(
        Order, tenant=tenant, pk=order_id, field="order_id", queryset=Order.objects.select_for_update(no_key=True)
    )
    if order.status != OrderStatus.OPEN:
        raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
    reason = validation.reason(reason)
    activate_order(order, actor=actor, now=now, status=OrderStatus.PAY_LATER)
    audit(tenant=tenant, actor=actor, action="order.pay_later", subject=order, reason=reason, now=now)
    return order


@transaction.atomic
def cancel_order(*, tenant: Tenant, actor: Actor, order_id: int, reason: str, now: dt.datetime | None = None) -> Order:
    """An open order nobody paid for. Partial payments must be refunded to credit first (not automatic)."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    order = scoped_get(
        Order, tenant=tenant, pk=order_id, field="order_id", queryset=Order.objects.select_for_update(no_key=True)
    )
    if order.status != OrderStatus.OPEN:
        raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
    if order.paid:
        raise Conflict("the order has payments; refund them before cancelling", code="order_not_open")
    reason = validation.reason(reason, required=False)
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    audit(tenant=tenant, actor=actor, action="order.cancel", subject=order, reason=reason, now=now)
    return order


@transaction.atomic
def sell_package(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    centre_id: int,
    plan_id: int,
    start_date: dt.date | None = None,
    method: str = Tender.CASH,
    reference: str = "",
    credited_staff_id: int | None = None,
    idempotency_key: str | None = None,
    promotion_code: str | None = None,
    pay_later_reason: str | None = None,
    now: dt.datetime | None = None,
) -> Package:
    """Front-desk shortcut: one plan (with a promotion code, if given), paid in full at once — or, with
    `pay_later_reason`, activated unpaid by a manager (mark_pay_later). All or nothing; the same key
    returns the same package."""
    order = place_order(
        tenant=tenant,
        actor=actor,
        patient_id=patient_id,
        centre_id=centre_id,
        items=[OrderItem(plan_id=plan_id, start_date=start_date)],
        credited_staff_id=credited_staff_id,
        idempotency_key=idempotency_key,
        promotion_code=promotion_code or None,
        now=now,
    )
    if pay_later_reason is not None:
        if order.status == OrderStatus.OPEN:
            mark_pay_later(tenant=tenant, actor=actor, order_id=order.id, reason=pay_later_reason, now=now)
    elif order.due > 0 and order.status == OrderStatus.OPEN:
        record_payment(
            tenant=tenant,
            actor=actor,
            order_id=order.id,
            method=method,
            amount=order.due,
            reference=reference,
            idempotency_key=f"{idempotency_key}:pay" if idempotency_key else None,
            now=now,
        )
    return Package.objects.filter(order_line__order=order).order_by("id").first()


def single_line_order(
    *,
    tenant: Tenant,
    actor: Actor,
    package: Package,
    kind: str,
    version: PlanVersion,
    price: int,
    now: dt.datetime,
    key: str | None,
    digest: str,
    start_date: dt.date,
    credit: int = 0,
    target_line: PackageLine | None = None,
    sessions: int = 0,
) -> Order:
    """The order of one line that changes the holder's locked `package` (a top-up or an upgrade, SPEC §8.4)."""
    split = split_tax(price, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive)
    order = Order(
        tenant=tenant,
        number=next_number(tenant, "order"),
        patient_id=package.holder_id,
        centre=package.sold_at,
        currency=tenant.currency,
        net=split.net,
        tax=split.tax,
        gross=split.gross,
        credit_applied=credit,
        idempotency_key=key,
        request_hash=digest,
        created_at=now,
        created_by=actor.label,
    )
    order.save()
    OrderLine.objects.create(
        order=order,
        kind=kind,
        plan_version=version,
        start_date=start_date,
        list_total=0,
        net=split.net,
        tax=split.tax,
        gross=split.gross,
        target_package=package,
        target_line=target_line,
        sessions=sessions,
    )
    return order
