"""Upgrades (SPEC §8.4): a package converted into a larger plan, its remaining value carried across."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.catalogue.models import Plan
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput, RuleViolation
from punchcard.domain.idempotency import fingerprint, replay
from punchcard.domain.money import split_tax
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, Closure, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.packages.models import Package
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from ..models import Order, OrderLine, OrderLineKind, OrderStatus
from ..selectors import collected_money, sold_tax
from .activation import activate_order, activate_package
from .orders import single_line_order
from .top_up import cancel_waiting_top_ups, lock_waiting_top_ups


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
    """Convert a package into a larger plan: its remaining value is credited against the new price gross
    (the deferred value, the tax on it reversed by a credit note, and anything paid on its open top-up
    orders, which are cancelled), it closes as upgraded, and the new package starts when the rest is paid."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    digest = fingerprint(kind="upgrade", package_id=package_id, plan_id=plan_id, start_date=start_date)
    if key and (existing := Order.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="order", request_hash=digest)
    waiting = lock_waiting_top_ups(tenant, package_id)  # orders before their package (lock order)
    package = packages.lock_package(tenant, package_id)
    waiting = lock_waiting_top_ups(tenant, package.id, locked=waiting)
    lines = packages.lines_of(package)
    today = package_selectors.today_for(package, now)
    ensure_allowed(Action.UPGRADE, package_selectors.status_of(package, lines, today))
    plan = scoped_get(Plan, tenant=tenant, pk=plan_id, field="plan_id")
    version = plan.current
    if not version.on_sale(today):
        raise RuleViolation(f"{version.name} is not on sale", code="plan_not_on_sale", field="plan_id")
    if version.expired_on(today):
        raise RuleViolation(
            f"{version.name} expired on {version.fixed_expiry.isoformat()}", code="plan_expired", field="plan_id"
        )
    granted = sum(line.granted for line in lines)
    deferred = sum(line.deferred_value for line in lines)
    tax_back = sold_tax(package).tax_on(deferred)
    credit = deferred + tax_back + collected_money(package).advances
    new_gross = split_tax(version.price, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive).gross
    # Top-ups add to the value carried, so the credit can exceed the old price: the new order must still
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
    order = single_line_order(
        tenant=tenant,
        actor=actor,
        package=package,
        kind=OrderLineKind.UPGRADE,
        version=version,
        price=version.price,
        now=now,
        key=key,
        digest=digest,
        start_date=start,
        credit=credit,
    )
    cancel_waiting_top_ups(waiting, actor=actor, reason=f"package {package.id} upgraded", now=now)
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
        postings=posting.upgrade_credit(value_by_line={k: v for k, v in cleared.items() if v}, tax=tax_back),
    )
    if order.due == 0:
        activate_order(order, actor=actor, now=now, status=OrderStatus.PAID)
    return order


def open_upgraded_package(*, order: Order, line: OrderLine, actor: Actor, now: dt.datetime) -> None:
    """The upgrade line's activator: the new package opens, and the old one points at it."""
    new = activate_package(order=order, line=line, actor=actor, now=now)
    Package.objects.filter(pk=line.target_package_id).update(upgraded_to=new)
