"""What a paid (or pay-later) order brings about (SPEC §3): each line's activator runs, in line order.

Which activator runs is looked up by the line's kind (`hooks.activator_for`), so an app above billing
can sell a kind of its own; billing's kinds are registered in `BillingConfig.ready`.
"""

from __future__ import annotations

import datetime as dt

from punchcard import events
from punchcard.domain import posting
from punchcard.domain.roles import Actor
from punchcard.ledger import services as journal
from punchcard.packages import services as packages
from punchcard.packages.models import EntryKind, Package, SessionEntry
from punchcard.packages.opening import open_package
from punchcard.tenancy.models import AuditEvent, Patient
from punchcard.tenancy.selectors import local_date
from punchcard.tenancy.services import audit

from .. import hooks
from ..models import Order, OrderLine
from .numbering import mention_data, mention_memo, order_number


def activate_order(order: Order, *, actor: Actor, now: dt.datetime, status: str) -> None:
    """Run each line's activator, then set the order's status (paid or pay-later)."""
    for line in order.lines.select_related("plan_version").order_by("id"):
        hooks.activator_for(line.kind)(order=order, line=line, actor=actor, now=now)
    order.status = status
    Order.objects.filter(pk=order.pk).update(status=status)


def activate_package_line(*, order: Order, line: OrderLine, actor: Actor, now: dt.datetime) -> None:
    """A new-package line: its package opens, unless a line taker takes it (bulk and gift lines: claims)."""
    if not hooks.taken(order=order, line=line, actor=actor, now=now):
        activate_package(order=order, line=line, actor=actor, now=now)


def activate_package(
    *,
    order: Order,
    line: OrderLine,
    actor: Actor,
    now: dt.datetime,
    holder: Patient | None = None,
    claim_code_id: int | None = None,
) -> Package:
    """Open the line's package with its sessions (plan bonus + promotion bonus) and book its value.

    Sold directly, its net value is credited to deferred revenue by the sale entry. Made by claiming a
    code (`claim_code_id`), the value was already deferred at payment and held on the code: a "claim"
    entry moves it onto the package's lines, and the package starts no earlier than the claim day.
    """
    version = line.plan_version
    purchased_on = local_date(now, order.centre)
    start = line.start_date if claim_code_id is None else max(line.start_date, purchased_on)
    promo_bonus = (line.promotion or {}).get("bonus_sessions", {})  # Buy N Free M (promotions)
    package, deferred = open_package(
        tenant=order.tenant,
        holder=holder or order.patient,
        plan_version=version,
        sold_at=order.centre,
        currency=order.currency,
        price_gross=line.gross,
        price_net=line.net,
        purchased_on=purchased_on,
        start_date=start,
        actor=actor,
        now=now,
        order_line=line,
        credited_staff=order.credited_staff,
        bonus_sessions={int(plan_line_id): int(n) for plan_line_id, n in promo_bonus.items()},
        entry_data={"order": order.number},
    )
    mention_data(order, SessionEntry.objects.filter(package=package, kind=EntryKind.GRANT), {"order": None})
    if claim_code_id is None:
        entry = journal.record(
            tenant=order.tenant,
            kind="sale",
            event=("order_line", line.id),
            at=now,
            date=purchased_on,
            centre=order.centre,
            patient=order.patient,
            package=package,
            memo=f"{version.name} sold on order {order_number(order)}",
            postings=posting.sale(gross=line.gross, tax=line.tax, deferred_by_line=deferred),
        )
    else:
        # package=None: each posting is tagged by its own line key, the code's (untagged) side stays untagged.
        entry = journal.record(
            tenant=order.tenant,
            kind="claim",
            event=("claim_code", claim_code_id),
            at=now,
            date=purchased_on,
            centre=order.centre,
            patient=package.holder,
            memo=f"{version.name} claimed by code (order {order_number(order)})",
            postings=[posting.Posting(posting.Role.DEFERRED_REVENUE, line.net)]
            + [posting.Posting(posting.Role.DEFERRED_REVENUE, -v, pl) for pl, v in deferred.items()],
        )
    mention_memo(order, entry)
    data = {
        "order": order.number,
        "start_date": start.isoformat(),
        **({"claim_code_id": claim_code_id} if claim_code_id else {}),
    }
    activated = audit(tenant=order.tenant, actor=actor, action="package.activate", subject=package, now=now, data=data)
    mention_data(order, AuditEvent.objects.filter(pk=activated.pk), data)
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
    if package.start_date <= package.purchased_on:  # a future start is announced by the daily reminders
        packages.announce_activated(package, tenant=order.tenant, actor=actor, now=now)
    return package
