"""Top-ups (SPEC §8.4): more sessions of a package line, sold by an order and granted when it is paid.

Money paid on a top-up order before it is paid in full is an advance collected for the package
(`selectors.Collected`): no sessions and no tax yet. A refund or an upgrade of the package cancels its
waiting top-up orders and carries their advances along (`lock_waiting_top_ups`, `cancel_waiting_top_ups`).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, NotFound
from punchcard.domain.idempotency import fingerprint, replay
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.packages.models import EntryKind
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date
from punchcard.tenancy.services import audit

from ..models import Order, OrderLine, OrderLineKind, OrderStatus
from ..selectors import top_up_orders_waiting
from .activation import activate_order
from .orders import single_line_order


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
    key = validation.idempotency_key(idempotency_key)
    digest = fingerprint(kind="top_up", package_id=package_id, line_id=line_id, sessions=sessions)
    if key and (existing := Order.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="order", request_hash=digest)
    sessions = validation.whole(sessions, "sessions", low=1, high=packages.MAX_SESSIONS_PER_USE)
    package = packages.lock_package(tenant, package_id)
    lines = packages.lines_of(package)
    ensure_allowed(
        Action.TOP_UP, package_selectors.status_of(package, lines, package_selectors.today_for(package, now))
    )
    line = next((line for line in lines if line.id == line_id), None)
    if line is None:
        raise NotFound(f"package {package.id} has no line {line_id}", field="line_id")
    unit = line.plan_line.top_up_price
    if unit is None:
        raise Conflict(f"{line.label} has no top-up price", code="topup_not_allowed", field="line_id")
    order = single_line_order(
        tenant=tenant,
        actor=actor,
        package=package,
        kind=OrderLineKind.TOP_UP,
        version=package.plan_version,
        price=unit * sessions,
        now=now,
        key=key,
        digest=digest,
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
        activate_order(order, actor=actor, now=now, status=OrderStatus.PAID)
    return order


def apply_top_up(*, order: Order, line: OrderLine, actor: Actor, now: dt.datetime) -> None:
    """The top-up line's activator. Paid: the sessions join the line and the new money joins its
    deferred value, which re-spreads over the remaining sessions (domain.money.value_of_next)."""
    package = packages.lock_package(order.tenant, line.target_package_id)
    lines = packages.lines_of(package)
    ensure_allowed(
        Action.TOP_UP, package_selectors.status_of(package, lines, package_selectors.today_for(package, now))
    )
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


def lock_waiting_top_ups(tenant: Tenant, package_id, *, locked: list[Order] | None = None) -> list[Order]:
    """Lock the package's open top-up orders, in id order, *before* the package (lock order: an order
    comes before its package, as a payment that activates a top-up takes them).

    Called again with `locked` once the package is locked, it adds any top-up order placed in between
    (placing one takes the package's lock, so none can appear after that)."""
    waiting = top_up_orders_waiting(package_id).filter(tenant=tenant, status=OrderStatus.OPEN)
    if locked:
        waiting = waiting.exclude(pk__in=[order.pk for order in locked])
    return (locked or []) + list(waiting.select_for_update(no_key=True, of=("self",)).order_by("id"))


def cancel_waiting_top_ups(orders: list[Order], *, actor: Actor, reason: str, now: dt.datetime) -> int:
    """Cancel the package's open top-up orders (it is closing); returns the advances paid on them, which
    the caller carries into the refund or the upgrade credit."""
    for order in orders:
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
        order.status = OrderStatus.CANCELLED
        audit(
            tenant=order.tenant,
            actor=actor,
            action="order.cancel",
            subject=order,
            reason=reason,
            now=now,
            data={"advance": order.paid},
        )
    return sum(order.paid for order in orders)
