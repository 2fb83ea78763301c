"""Selling (SPEC §3): orders, payments, activation; patient credit (SPEC §8.2)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction
from django.db.models import Sum

from punchcard import clock
from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.domain import posting
from punchcard.domain.allocation import LineForAllocation, allocate_to_lines
from punchcard.domain.errors import Conflict, InvalidInput, RuleViolation
from punchcard.domain.expiry import last_valid_day
from punchcard.domain.money import check_amount, split_tax
from punchcard.ledger import services as journal
from punchcard.ledger.models import Posting as PostingRow
from punchcard.packages.models import EntryKind, Package, PackageLine
from punchcard.packages.services import _apply
from punchcard.tenancy.actors import Actor
from punchcard.tenancy.models import Centre, Patient, StaffMember, Tenant
from punchcard.tenancy.permissions import Perm
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from .models import Counter, Order, OrderLine, OrderLineKind, OrderStatus, Payment, PaymentMethod

MAX_FUTURE_START_DAYS = 366


@dataclass(frozen=True)
class OrderItem:
    plan_id: int
    start_date: dt.date | None = None


def next_number(tenant: Tenant, name: str) -> int:
    """The next gap-free number of a per-tenant sequence (taken under the counter's row lock)."""
    counter = Counter.objects.select_for_update().filter(tenant=tenant, name=name).first()
    if counter is None:
        try:
            with transaction.atomic():
                Counter.objects.create(tenant=tenant, name=name, value=0)
        except IntegrityError:
            pass  # created by a concurrent transaction; lock theirs below
        counter = Counter.objects.select_for_update().get(tenant=tenant, name=name)
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value


def request_hash(**fields) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _key(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise InvalidInput("an idempotency key is 1 to 200 characters", field="idempotency_key")
    return value


def credit_balance(tenant: Tenant, patient_id: int) -> int:
    """A patient's credit, straight from the journal (credits to the patient-credit account)."""
    account = journal.accounts(tenant)[posting.Role.PATIENT_CREDIT]
    total = PostingRow.objects.filter(account_id=account, patient_id=patient_id).aggregate(s=Sum("amount"))["s"]
    return -(total or 0)


@transaction.atomic
def place_order(*, tenant: Tenant, actor: Actor, patient_id: int, centre_id: int, items: list[OrderItem],
                credited_staff_id: int | None = None, idempotency_key: str | None = None,
                now: dt.datetime | None = None) -> Order:
    """An order for one or more plans. Packages are activated when it is paid (record_payment)."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = _key(idempotency_key)
    fingerprint = request_hash(patient_id=patient_id, centre_id=centre_id, items=[asdict(i) for i in items],
                               credited_staff_id=credited_staff_id)
    if key:
        existing = Order.objects.filter(tenant=tenant, idempotency_key=key).first()
        if existing:
            if existing.request_hash != fingerprint:
                raise Conflict("this idempotency key was used for a different order", code="idempotency_conflict",
                               field="idempotency_key")
            return existing
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    staff = (scoped_get(StaffMember, tenant=tenant, pk=credited_staff_id, field="credited_staff_id")
             if credited_staff_id is not None else None)
    if not items:
        raise InvalidInput("an order needs at least one item", field="items")
    if len(items) > 20:
        raise InvalidInput("an order has at most 20 items", field="items")
    today = local_date(now, centre)
    priced = []
    for i, item in enumerate(items):
        plan = scoped_get(Plan, tenant=tenant, pk=item.plan_id, field=f"items[{i}].plan_id")
        version: PlanVersion = plan.current
        if not version.on_sale(today):
            raise RuleViolation(f"{version.name} is not on sale on {today.isoformat()}", code="plan_not_on_sale",
                                field=f"items[{i}].plan_id")
        start = item.start_date or today
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            raise InvalidInput("start_date must be a date", field=f"items[{i}].start_date")
        if start < today:
            raise InvalidInput("a package cannot start before today", field=f"items[{i}].start_date")
        if start > today + dt.timedelta(days=MAX_FUTURE_START_DAYS):
            raise InvalidInput("a package can start at most a year ahead", field=f"items[{i}].start_date")
        split = split_tax(version.price, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive)
        list_total = sum(max(s.list_price for s in line.services.all()) * (line.sessions + line.bonus_sessions)
                         for line in version.lines.all())
        priced.append((version, start, split, list_total))
    net = sum(split.net for _, _, split, _ in priced)
    tax = sum(split.tax for _, _, split, _ in priced)
    order = Order(tenant=tenant, number=0, patient=patient, centre=centre, currency=tenant.currency, net=net,
                  tax=tax, gross=net + tax, credited_staff=staff, idempotency_key=key, request_hash=fingerprint,
                  created_at=now, created_by=actor.label)
    order.number = next_number(tenant, "order")
    order.save()
    for version, start, split, list_total in priced:
        OrderLine.objects.create(order=order, kind=OrderLineKind.PACKAGE, plan_version=version, start_date=start,
                                 list_total=list_total, net=split.net, tax=split.tax, gross=split.gross)
    audit(tenant=tenant, actor=actor, action="order.place", subject=order, now=now,
          data={"gross": order.gross, "items": len(items)})
    if order.gross == 0:
        _activate(order, actor=actor, now=now, status=OrderStatus.PAID)
    return order


@transaction.atomic
def record_payment(*, tenant: Tenant, actor: Actor, order_id: int, method: str, amount: int, reference: str = "",
                   idempotency_key: str | None = None, now: dt.datetime | None = None) -> Payment:
    """A payment against an order; the order's packages activate when nothing is left to pay."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = _key(idempotency_key)
    if method not in PaymentMethod.values:
        raise InvalidInput(f"method must be one of {', '.join(PaymentMethod.values)}", field="method")
    check_amount(amount, field="amount", allow_zero=False)
    if not isinstance(reference, str) or len(reference) > 200:
        raise InvalidInput("reference is text of at most 200 characters", field="reference")
    order = scoped_get(Order, tenant=tenant, pk=order_id, field="order_id",
                       queryset=Order.objects.select_for_update(no_key=True))
    if key:
        existing = Payment.objects.filter(tenant=tenant, idempotency_key=key).first()
        if existing:
            if (existing.order_id, existing.method, existing.amount, existing.reference) != (
                    order.id, method, amount, reference):
                raise Conflict("this idempotency key was used for a different payment", code="idempotency_conflict",
                               field="idempotency_key")
            return existing
    if order.status not in (OrderStatus.OPEN, OrderStatus.PAY_LATER):
        raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
    if amount > order.due:
        raise Conflict(f"only {order.due} is due on order {order.number}", code="overpayment", field="amount",
                       due=order.due)
    if method == PaymentMethod.CREDIT:
        # Serialise spending of one patient's credit on the patient row.
        Patient.objects.select_for_update(no_key=True).filter(pk=order.patient_id).first()
        balance = credit_balance(tenant, order.patient_id)
        if balance < amount:
            raise Conflict(f"the patient has {balance} in credit", code="insufficient_credit", field="amount",
                           balance=balance)
    payment = Payment.objects.create(tenant=tenant, order=order, method=method, amount=amount,
                                     reference=reference.strip(), received_at=now, recorded_by=actor.label,
                                     idempotency_key=key)
    journal.record(tenant=tenant, kind="payment", event=("payment", payment.id), at=now,
                   date=local_date(now, order.centre), centre=order.centre, patient=order.patient,
                   memo=f"{method} payment on order {order.number}" + (f" ({reference})" if reference else ""),
                   postings=posting.payment(method=method, amount=amount))
    order.paid += amount
    order.save(update_fields=["paid"])
    audit(tenant=tenant, actor=actor, action="order.payment", subject=order, now=now,
          data={"method": method, "amount": amount, "reference": reference})
    if order.due == 0:
        if order.status == OrderStatus.OPEN:
            _activate(order, actor=actor, now=now, status=OrderStatus.PAID)
        else:
            Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
            order.status = OrderStatus.PAID
    return payment


@transaction.atomic
def mark_pay_later(*, tenant: Tenant, actor: Actor, order_id: int, reason: str,
                   now: dt.datetime | None = None) -> Order:
    """A manager activates an unpaid order; the balance stays receivable."""
    actor.require(Perm.ADJUST)
    now = now or clock.now()
    order = scoped_get(Order, tenant=tenant, pk=order_id, field="order_id",
                       queryset=Order.objects.select_for_update(no_key=True))
    if order.status != OrderStatus.OPEN:
        raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a reason is required", field="reason")
    _activate(order, actor=actor, now=now, status=OrderStatus.PAY_LATER)
    audit(tenant=tenant, actor=actor, action="order.pay_later", subject=order, reason=reason, now=now)
    return order


@transaction.atomic
def cancel_order(*, tenant: Tenant, actor: Actor, order_id: int, reason: str, now: dt.datetime | None = None) -> Order:
    """An open order nobody paid for. Partial payments must be refunded to credit first (not automatic)."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    order = scoped_get(Order, tenant=tenant, pk=order_id, field="order_id",
                       queryset=Order.objects.select_for_update(no_key=True))
    if order.status != OrderStatus.OPEN:
        raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
    if order.paid:
        raise Conflict("the order has payments; refund them before cancelling", code="order_not_open")
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    audit(tenant=tenant, actor=actor, action="order.cancel", subject=order, reason=reason or "", now=now)
    return order


def _activate(order: Order, *, actor: Actor, now: dt.datetime, status: str) -> None:
    """Paid (or pay-later): create each line's package, grant its sessions, post the sale."""
    for line in order.lines.select_related("plan_version").order_by("id"):
        if line.kind == OrderLineKind.PACKAGE:
            activate_package(order=order, line=line, actor=actor, now=now)
        elif line.kind == OrderLineKind.TOP_UP:
            from punchcard.billing.money import apply_top_up

            apply_top_up(order=order, line=line, actor=actor, now=now)
    order.status = status
    Order.objects.filter(pk=order.pk).update(status=status)


def activate_package(*, order: Order, line: OrderLine, actor: Actor, now: dt.datetime,
                     holder: Patient | None = None) -> Package:
    version = line.plan_version
    purchased_on = local_date(now, order.centre)
    rule = version.expiry_rule
    package = Package.objects.create(
        tenant=order.tenant, holder=holder or order.patient, plan_version=version, order_line=line,
        sold_at=order.centre, currency=order.currency, price_gross=line.gross, price_net=line.net,
        purchased_on=purchased_on, start_date=line.start_date, expiry=version.expiry,
        expiry_mode=version.expiry_mode, grace_days=version.grace_days,
        expires_on=last_valid_day(rule, start=line.start_date, purchased_on=purchased_on, first_used_on=None),
        credited_staff=order.credited_staff, activated_at=now,
    )
    plan_lines = list(version.lines.prefetch_related("services"))
    terms = [LineForAllocation(max(s.list_price for s in pl.services.all()), pl.sessions, pl.bonus_sessions)
             for pl in plan_lines]
    values = allocate_to_lines(line.net, terms)
    deferred = {}
    for plan_line, term, value in zip(plan_lines, terms, values):
        package_line = PackageLine.objects.create(
            tenant=order.tenant, package=package, plan_line=plan_line, label=plan_line.label,
            service_ids=sorted(s.id for s in plan_line.services.all()), list_price=term.list_price,
            patient_pays=plan_line.patient_pays,
        )
        _apply(package_line, kind=EntryKind.GRANT, actor=actor, now=now, granted=term.granted, value=value,
               data={"order": order.number})
        deferred[package_line] = value
    journal.record(tenant=order.tenant, kind="sale", event=("order_line", line.id), at=now, date=purchased_on,
                   centre=order.centre, patient=order.patient, package=package,
                   memo=f"{version.name} sold on order {order.number}",
                   postings=posting.sale(gross=line.gross, tax=line.tax, deferred_by_line=deferred))
    audit(tenant=order.tenant, actor=actor, action="package.activate", subject=package, now=now,
          data={"order": order.number, "start_date": line.start_date.isoformat()})
    return package


@transaction.atomic
def sell_package(*, tenant: Tenant, actor: Actor, patient_id: int, centre_id: int, plan_id: int,
                 start_date: dt.date | None = None, method: str = PaymentMethod.CASH, reference: str = "",
                 credited_staff_id: int | None = None, idempotency_key: str | None = None,
                 now: dt.datetime | None = None) -> Package:
    """Front-desk shortcut: one plan, paid in full at once. The same key returns the same package."""
    order = place_order(tenant=tenant, actor=actor, patient_id=patient_id, centre_id=centre_id,
                        items=[OrderItem(plan_id=plan_id, start_date=start_date)],
                        credited_staff_id=credited_staff_id, idempotency_key=idempotency_key, now=now)
    if order.due > 0 and order.status == OrderStatus.OPEN:
        record_payment(tenant=tenant, actor=actor, order_id=order.id, method=method, amount=order.due,
                       reference=reference, idempotency_key=f"{idempotency_key}:pay" if idempotency_key else None,
                       now=now)
    return Package.objects.filter(order_line__order=order).order_by("id").first()
