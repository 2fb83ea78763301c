"""Selling (SPEC §3): orders, payments, activation; patient credit (SPEC §8.2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction

from punchcard import clock, events
from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.domain import posting
from punchcard.domain.allocation import LineForAllocation, allocate_to_lines
from punchcard.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from punchcard.domain.expiry import last_valid_day
from punchcard.domain.money import check_amount, split_tax
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, Closure, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.packages.models import EntryKind, Package, PackageLine
from punchcard.tenancy.models import Centre, Patient, StaffMember, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from . import hooks
from .models import Counter, CreditPayout, Order, OrderLine, OrderLineKind, OrderStatus, Payment, PaymentMethod, Refund
from .selectors import collected_for, credit_balance, suggested_refund

MAX_FUTURE_START_DAYS = 366
MAX_ORDER_ITEMS = 20


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
    key = _key(idempotency_key)
    fingerprint = request_hash(
        patient_id=patient_id,
        centre_id=centre_id,
        items=[asdict(i) for i in items],
        credited_staff_id=credited_staff_id,
        **({"promotion_code": promotion_code} if promotion_code else {}),
    )
    if key:
        existing = Order.objects.filter(tenant=tenant, idempotency_key=key).first()
        if existing:
            if existing.request_hash != fingerprint:
                raise Conflict(
                    "this idempotency key was used for a different order",
                    code="idempotency_conflict",
                    field="idempotency_key",
                )
            return existing
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
        for (version, start, list_total), (discount, record) in zip(priced, offers)
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
        request_hash=fingerprint,
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
        _activate(order, actor=actor, now=now, status=OrderStatus.PAID)
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
    now: dt.datetime | None = None,
) -> Payment:
    """A payment against an order; the order's packages activate when nothing is left to pay."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = _key(idempotency_key)
    if method not in PaymentMethod.values:
        raise InvalidInput(f"method must be one of {', '.join(PaymentMethod.values)}", field="method")
    check_amount(amount, field="amount", allow_zero=False)
    if not isinstance(reference, str) or len(reference) > 200:
        raise InvalidInput("reference is text of at most 200 characters", field="reference")
    order = scoped_get(
        Order, tenant=tenant, pk=order_id, field="order_id", queryset=Order.objects.select_for_update(no_key=True)
    )
    if key:
        existing = Payment.objects.filter(tenant=tenant, idempotency_key=key).first()
        if existing:
            if (existing.order_id, existing.method, existing.amount, existing.reference) != (
                order.id,
                method,
                amount,
                reference.strip(),
            ):  # stored stripped
                raise Conflict(
                    "this idempotency key was used for a different payment",
                    code="idempotency_conflict",
                    field="idempotency_key",
                )
            return existing
    if order.status not in (OrderStatus.OPEN, OrderStatus.PAY_LATER):
        raise Conflict(f"order {order.number} is {order.status}", code="order_not_open")
    if amount > order.due:
        raise Conflict(
            f"only {order.due} is due on order {order.number}", code="overpayment", field="amount", due=order.due
        )
    if method == PaymentMethod.CREDIT:
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
            _activate(order, actor=actor, now=now, status=OrderStatus.PAID)
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
    order = scoped_get(
        Order, tenant=tenant, pk=order_id, field="order_id", queryset=Order.objects.select_for_update(no_key=True)
    )
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
            if not hooks.taken(order=order, line=line, actor=actor, now=now):  # bulk and gift lines: claims
                activate_package(order=order, line=line, actor=actor, now=now)
        elif line.kind == OrderLineKind.TOP_UP:
            _apply_top_up(order=order, line=line, actor=actor, now=now)
        elif line.kind == OrderLineKind.UPGRADE:
            new = activate_package(order=order, line=line, actor=actor, now=now)
            Package.objects.filter(pk=line.target_package_id).update(upgraded_to=new)
    order.status = status
    Order.objects.filter(pk=order.pk).update(status=status)


def activate_package(
    *,
    order: Order,
    line: OrderLine,
    actor: Actor,
    now: dt.datetime,
    holder: Patient | None = None,
    claim_code_id: int | None = None,
) -> Package:
    """Create the line's package and grant its sessions (plan bonus + promotion bonus).

    Sold directly, its net value is credited to deferred revenue by the sale entry. Made by claiming a
    code (`claim_code_id`), the value was already deferred at payment and held on the code: a "claim"
    entry moves it onto the package's lines, and the package starts no earlier than the claim day.
    """
    version = line.plan_version
    purchased_on = local_date(now, order.centre)
    start = line.start_date if claim_code_id is None else max(line.start_date, purchased_on)
    rule = version.expiry_rule
    package = Package.objects.create(
        tenant=order.tenant,
        holder=holder or order.patient,
        plan_version=version,
        order_line=line,
        sold_at=order.centre,
        currency=order.currency,
        price_gross=line.gross,
        price_net=line.net,
        purchased_on=purchased_on,
        start_date=start,
        expiry=version.expiry,
        expiry_mode=version.expiry_mode,
        grace_days=version.grace_days,
        expires_on=last_valid_day(rule, start=start, purchased_on=purchased_on, first_used_on=None),
        credited_staff=order.credited_staff,
        activated_at=now,
    )
    plan_lines = list(version.lines.prefetch_related("services"))
    promo_bonus = (line.promotion or {}).get("bonus_sessions", {})  # Buy N Free M (promotions)
    terms = [
        LineForAllocation(
            max(s.list_price for s in pl.services.all()),
            pl.sessions,
            pl.bonus_sessions + int(promo_bonus.get(str(pl.id), 0)),
        )
        for pl in plan_lines
    ]
    values = allocate_to_lines(line.net, terms)
    deferred = {}
    for plan_line, term, value in zip(plan_lines, terms, values):
        package_line = PackageLine.objects.create(
            tenant=order.tenant,
            package=package,
            plan_line=plan_line,
            label=plan_line.label,
            service_ids=sorted(s.id for s in plan_line.services.all()),
            list_price=term.list_price,
            patient_pays=plan_line.patient_pays,
        )
        packages.apply_entry(
            package_line,
            kind=EntryKind.GRANT,
            actor=actor,
            now=now,
            granted=term.granted,
            value=value,
            data={"order": order.number},
        )
        deferred[package_line] = value
    if claim_code_id is None:
        journal.record(
            tenant=order.tenant,
            kind="sale",
            event=("order_line", line.id),
            at=now,
            date=purchased_on,
            centre=order.centre,
            patient=order.patient,
            package=package,
            memo=f"{version.name} sold on order {order.number}",
            postings=posting.sale(gross=line.gross, tax=line.tax, deferred_by_line=deferred),
        )
    else:
        # package=None: each posting is tagged by its own line key, the code's (untagged) side stays untagged.
        journal.record(
            tenant=order.tenant,
            kind="claim",
            event=("claim_code", claim_code_id),
            at=now,
            date=purchased_on,
            centre=order.centre,
            patient=package.holder,
            memo=f"{version.name} claimed by code (order {order.number})",
            postings=[posting.Posting(posting.Role.DEFERRED_REVENUE, line.net)]
            + [posting.Posting(posting.Role.DEFERRED_REVENUE, -v, pl) for pl, v in deferred.items()],
        )
    audit(
        tenant=order.tenant,
        actor=actor,
        action="package.activate",
        subject=package,
        now=now,
        data={
            "order": order.number,
            "start_date": start.isoformat(),
            **({"claim_code_id": claim_code_id} if claim_code_id else {}),
        },
    )
    # Listeners in this transaction: a sale credited to a staff member earns its commission now.
    events.record(
        "package.sold",
        tenant=order.tenant,
        subject=package,
        actor=actor,
        at=now,
        package_id=package.id,
        order_id=order.id,
        order_line_id=line.id,
        patient_id=package.holder_id,
        plan_id=version.plan_id,
        start_date=package.start_date.isoformat(),
        claim_code_id=claim_code_id,
    )
    return package


@transaction.atomic
def sell_package(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    centre_id: int,
    plan_id: int,
    start_date: dt.date | None = None,
    method: str = PaymentMethod.CASH,
    reference: str = "",
    credited_staff_id: int | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Package:
    """Front-desk shortcut: one plan, paid in full at once. The same key returns the same package."""
    order = place_order(
        tenant=tenant,
        actor=actor,
        patient_id=patient_id,
        centre_id=centre_id,
        items=[OrderItem(plan_id=plan_id, start_date=start_date)],
        credited_staff_id=credited_staff_id,
        idempotency_key=idempotency_key,
        now=now,
    )
    if order.due > 0 and order.status == OrderStatus.OPEN:
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


# ---------------------------------------------------------------- refunds and credit (SPEC §8.2)


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
    """Refund a package to the patient's credit: any amount from 0 to what was collected (default: the
    suggestion). The package is cancelled (refunded); its remaining deferred value is cleared and any
    difference from the refund is a refund adjustment."""
    actor.require(Perm.REFUND)
    now = now or clock.now()
    package = packages.lock_package(tenant, package_id)
    lines = packages.lines_of(package)
    ensure_allowed(Action.REFUND, package_selectors.status_of(package, lines, packages.package_today(package, now)))
    suggested, collected = suggested_refund(package, lines), collected_for(package)
    amount = suggested if amount is None else amount
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= collected:
        raise InvalidInput(
            f"a refund must be between 0 and the {collected} collected",
            code="refund_out_of_range",
            field="amount",
            collected=collected,
            suggested=suggested,
        )
    reason = packages.checked_reason(reason)
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
        reason=reason,
        created_at=now,
        created_by=actor.label,
    )
    journal.record(
        tenant=tenant,
        kind="refund",
        event=("refund", refund.id),
        at=now,
        date=packages.package_today(package, now),
        centre=package.sold_at,
        patient=package.holder,
        package=package,
        memo=f"refund of package {package.id} to credit: {reason}",
        postings=posting.refund_to_credit(amount=amount, value_by_line={k: v for k, v in cleared.items() if v}),
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="package.refund",
        subject=package,
        reason=reason,
        now=now,
        data={"amount": amount, "suggested": suggested, "collected": collected},
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
    key = _key(idempotency_key)
    if method not in PaymentMethod.values or method == PaymentMethod.CREDIT:
        raise InvalidInput("method must be cash, card, bank_transfer or external", field="method")
    check_amount(amount, field="amount", allow_zero=False)
    patient = scoped_get(
        Patient,
        tenant=tenant,
        pk=patient_id,
        field="patient_id",
        queryset=Patient.objects.select_for_update(no_key=True),
    )
    if key:
        existing = CreditPayout.objects.filter(tenant=tenant, idempotency_key=key).first()
        if existing:
            if (existing.patient_id, existing.method, existing.amount) != (patient.id, method, amount):
                raise Conflict(
                    "this idempotency key was used for a different payout",
                    code="idempotency_conflict",
                    field="idempotency_key",
                )
            return existing
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


# ---------------------------------------------------------------- top-up and upgrade (SPEC §8.4)


def _single_line_order(
    *,
    tenant,
    actor,
    package,
    kind,
    version,
    price,
    now,
    key,
    fingerprint,
    start_date,
    credit=0,
    target_line=None,
    sessions=0,
) -> Order:
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
        request_hash=fingerprint,
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


def _existing_order(tenant: Tenant, key: str | None, fingerprint: str) -> Order | None:
    if not key:
        return None
    existing = Order.objects.filter(tenant=tenant, idempotency_key=key).first()
    if existing and existing.request_hash != fingerprint:
        raise Conflict(
            "this idempotency key was used for a different order", code="idempotency_conflict", field="idempotency_key"
        )
    return existing


@transaction.atomic
def top_up_package(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    line_id: int,
    sessions: int,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Order:
    """An order for N more sessions of a line at the plan's top-up price; granted when paid."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = _key(idempotency_key)
    fingerprint = request_hash(kind="top_up", package_id=package_id, line_id=line_id, sessions=sessions)
    if existing := _existing_order(tenant, key, fingerprint):
        return existing
    sessions = packages.checked_sessions(sessions)
    package = packages.lock_package(tenant, package_id)
    lines = packages.lines_of(package)
    ensure_allowed(Action.TOP_UP, package_selectors.status_of(package, lines, packages.package_today(package, now)))
    line = next((line for line in lines if line.id == line_id), None)
    if line is None:
        raise NotFound(f"package {package.id} has no line {line_id}", field="line_id")
    unit = line.plan_line.top_up_price
    if unit is None:
        raise Conflict(f"{line.label} has no top-up price", code="topup_not_allowed", field="line_id")
    order = _single_line_order(
        tenant=tenant,
        actor=actor,
        package=package,
        kind=OrderLineKind.TOP_UP,
        version=package.plan_version,
        price=unit * sessions,
        now=now,
        key=key,
        fingerprint=fingerprint,
        start_date=package.start_date,
        target_line=line,
        sessions=sessions,
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="order.top_up",
        subject=order,
        now=now,
        data={"package_id": package.id, "line_id": line.id, "sessions": sessions},
    )
    if order.gross == 0:
        _activate(order, actor=actor, now=now, status=OrderStatus.PAID)
    return order


def _apply_top_up(*, order: Order, line: OrderLine, actor: Actor, now: dt.datetime) -> None:
    """Paid: the sessions join the line and the new money joins its deferred value, which re-spreads
    over the remaining sessions (domain.money.value_of_next)."""
    package = packages.lock_package(order.tenant, line.target_package_id)
    lines = packages.lines_of(package)
    ensure_allowed(Action.TOP_UP, package_selectors.status_of(package, lines, packages.package_today(package, now)))
    target = packages.line_by_id(lines, line.target_line_id)
    packages.apply_entry(
        target,
        kind=EntryKind.TOP_UP,
        actor=actor,
        now=now,
        granted=line.sessions,
        value=line.net,
        data={"order": order.number},
    )
    journal.record(
        tenant=order.tenant,
        kind="sale",
        event=("order_line", line.id),
        at=now,
        date=local_date(now, order.centre),
        centre=order.centre,
        patient=order.patient,
        package=package,
        memo=f"top-up of {line.sessions} × {target.label} on order {order.number}",
        postings=posting.sale(gross=line.gross, tax=line.tax, deferred_by_line={target: line.net}),
    )


@transaction.atomic
def upgrade_package(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    plan_id: int,
    start_date: dt.date | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Order:
    """Convert a package into a larger plan: its remaining deferred value is credited against the new
    price, it closes as upgraded, and the new package starts when the rest is paid."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = _key(idempotency_key)
    fingerprint = request_hash(kind="upgrade", package_id=package_id, plan_id=plan_id, start_date=start_date)
    if existing := _existing_order(tenant, key, fingerprint):
        return existing
    package = packages.lock_package(tenant, package_id)
    lines = packages.lines_of(package)
    today = packages.package_today(package, now)
    ensure_allowed(Action.UPGRADE, package_selectors.status_of(package, lines, today))
    plan = scoped_get(Plan, tenant=tenant, pk=plan_id, field="plan_id")
    version = plan.current
    if not version.on_sale(today):
        raise RuleViolation(f"{version.name} is not on sale", code="plan_not_on_sale", field="plan_id")
    granted = sum(line.granted for line in lines)
    credit = sum(line.deferred_value for line in lines)
    new_gross = split_tax(version.price, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive).gross
    # Top-ups add to the deferred value, so the credit can exceed the old price: the new order must still
    # cost at least the credit carried into it (the order can never be owed less than nothing).
    if version.total_sessions <= granted or version.price <= package.price_gross or new_gross < credit:
        raise Conflict(
            "an upgrade must be to a plan with more sessions and a higher price",
            code="upgrade_not_larger",
            field="plan_id",
        )
    start = start_date or today
    if start < today:
        raise InvalidInput("the new package cannot start before today", field="start_date")
    order = _single_line_order(
        tenant=tenant,
        actor=actor,
        package=package,
        kind=OrderLineKind.UPGRADE,
        version=version,
        price=version.price,
        now=now,
        key=key,
        fingerprint=fingerprint,
        start_date=start,
        credit=credit,
    )
    _, cleared = packages.close_package(
        tenant=tenant,
        actor=actor,
        package_id=package.id,
        action=Action.UPGRADE,
        closure=Closure.UPGRADED,
        reason=f"upgraded on order {order.number}",
        now=now,
    )
    journal.record(
        tenant=tenant,
        kind="upgrade_credit",
        event=("order", order.id),
        at=now,
        date=today,
        centre=package.sold_at,
        patient=package.holder,
        package=package,
        memo=f"package {package.id} upgraded: remaining value credited to order {order.number}",
        postings=posting.upgrade_credit(value_by_line={k: v for k, v in cleared.items() if v}),
    )
    if order.due == 0:
        _activate(order, actor=actor, now=now, status=OrderStatus.PAID)
    return order
