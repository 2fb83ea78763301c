"""Making claim codes: bulk and gift orders (one code per order line), opening them when the order is
paid, and transfer codes for an existing package (SPEC §7, §9)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import transaction

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.billing.models import Order, OrderLine, OrderStatus
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput, RuleViolation
from punchcard.domain.idempotency import replay
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.tenancy.models import AuditEvent, Tenant
from punchcard.tenancy.selectors import local_date
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import ClaimCode, ClaimKind, ClaimStatus
from .issuing import IssuedCode, new_code

MAX_BULK_CODES = 500
MAX_GIFT_CODES = 20
DEFAULT_CODE_VALID_DAYS = 365
DEFAULT_TRANSFER_VALID_DAYS = 30


@dataclass
class ClaimOrder:
    order: Order
    codes: list[IssuedCode]


def _expiry(expires_on, valid_days, today: dt.date) -> dt.date | None:
    if expires_on is not None:
        expires_on = validation.date(expires_on, "expires_on", parse=False)
        if expires_on < today:
            raise InvalidInput("a code cannot expire before today", field="expires_on")
        return expires_on
    if valid_days is None:
        return None
    return today + dt.timedelta(days=validation.whole(valid_days, "valid_days", low=1, high=3650) - 1)


@transaction.atomic
def place_claim_order(
    *,
    tenant: Tenant,
    actor: Actor,
    buyer_id: int,
    centre_id: int,
    plan_id: int,
    quantity: int = 1,
    kind: str = ClaimKind.BULK,
    start_date: dt.date | None = None,
    expires_on: dt.date | None = None,
    valid_days: int | None = DEFAULT_CODE_VALID_DAYS,
    recipient: str = "",
    message: str = "",
    credited_staff_id: int | None = None,
    promotion_code: str | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> ClaimOrder:
    """A bulk order (a company buys `quantity` packages) or a gift: an order to the buyer with one line per
    code. The codes open when the order is paid; each claim makes a package in the claimant's name.

    The buyer is a patient record standing for the payer (a company is a customer account like any other).
    The codes are in the answer, once: only their digests are kept.
    """
    actor.require(Perm.SELL)
    now = now or clock.now()
    if kind not in (ClaimKind.BULK, ClaimKind.GIFT):
        raise InvalidInput("kind must be bulk or gift", field="kind")
    limit = MAX_BULK_CODES if kind == ClaimKind.BULK else MAX_GIFT_CODES
    quantity = validation.whole(quantity, "quantity", low=1, high=limit)
    recipient = validation.text(recipient, "recipient", max_length=200, required=False)
    message = validation.text(message, "message", max_length=500, required=False)
    if idempotency_key:
        existing = Order.objects.filter(tenant=tenant, idempotency_key=idempotency_key).first()
        if existing is not None:
            # The key's first order must have made codes (else it was an ordinary sale), as many and as kind.
            issued = selectors.codes_of_order(tenant, existing.id)
            replay(SimpleNamespace(made_codes=bool(issued)), what="order", made_codes=True)
            first = SimpleNamespace(quantity=len(issued), kind=issued[0].kind)
            replay(first, what="claim-code order", quantity=quantity, kind=kind)
    order = billing.place_order(
        tenant=tenant,
        actor=actor,
        patient_id=buyer_id,
        centre_id=centre_id,
        items=[billing.OrderItem(plan_id=plan_id, start_date=start_date)] * quantity,
        credited_staff_id=credited_staff_id,
        idempotency_key=idempotency_key,
        promotion_code=promotion_code,
        max_items=limit,
        now=now,
    )
    made = selectors.codes_of_order(tenant, order.id)
    if made:  # the same request again: the codes were shown the first time
        return ClaimOrder(order, [IssuedCode(code, None) for code in made])
    if order.status != OrderStatus.OPEN:
        # A free order activates at once, which would make packages for the buyer instead of codes.
        raise InvalidInput("a bulk or gift order must have something to pay", field="plan_id")
    expiry = _expiry(expires_on, valid_days, local_date(now, order.centre))
    issued = [
        new_code(
            tenant=tenant,
            kind=kind,
            status=ClaimStatus.UNPAID,
            buyer_id=buyer_id,
            order_line=line,
            gross=line.gross,
            recipient=recipient,
            message=message,
            expires_on=expiry,
            created_at=now,
            created_by=actor.label,
        )
        for line in order.lines.order_by("id")
    ]
    audit(
        tenant=tenant,
        actor=actor,
        action=f"claim_order.{kind}",
        subject=order,
        now=now,
        data={
            "quantity": quantity,
            "codes": [i.code.hint for i in issued],
            "expires_on": expiry.isoformat() if expiry else None,
        },
    )
    return ClaimOrder(order, issued)


def hold_for_claim(*, order: Order, line: OrderLine, actor: Actor, now: dt.datetime) -> bool:
    """Called by billing when an order is paid: a line sold as a claim code defers its value on the code.

    Returns False for an ordinary line (billing then creates its package as usual). A line taker (see
    billing.hooks): it runs inside the transaction in which billing activates the order.
    """
    code = ClaimCode.objects.select_for_update(no_key=True).filter(order_line=line).first()
    if code is None:
        return False
    if code.status != ClaimStatus.UNPAID:  # pragma: no cover - an order activates once
        raise AssertionError(f"claim code {code.id} is {code.status}, not unpaid")
    code.status, code.opened_at, code.deferred_value, code.gross = ClaimStatus.OPEN, now, line.net, line.gross
    code.save(update_fields=["status", "opened_at", "deferred_value", "gross"])
    entry = journal.record(
        tenant=order.tenant,
        kind="sale",
        event=("claim_code", code.id),
        at=now,
        date=local_date(now, order.centre),
        centre=order.centre,
        patient=order.patient,
        memo=f"{line.plan_version.name} sold as claim code …{code.hint} on order {billing.order_number(order)}",
        postings=posting.sale(gross=line.gross, tax=line.tax, deferred_by_line={None: line.net}),
    )
    billing.mention_memo(order, entry)
    data = {"order": order.number, "held": line.net}
    opened = audit(tenant=order.tenant, actor=actor, action="claim_code.open", subject=code, now=now, data=data)
    billing.mention_data(order, AuditEvent.objects.filter(pk=opened.pk), data)
    return True


@transaction.atomic
def create_transfer_code(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    expires_on: dt.date | None = None,
    valid_days: int | None = DEFAULT_TRANSFER_VALID_DAYS,
    reason: str = "",
    now: dt.datetime | None = None,
) -> IssuedCode:
    """A one-time code that moves a transferable package to whoever claims it (SPEC §7)."""
    actor.require(Perm.TRANSFER)
    now = now or clock.now()
    package = packages.lock_package(tenant, package_id)
    if not package.plan_version.transferable:
        raise RuleViolation("this package is not transferable", code="not_transferable")
    today = package_selectors.today_for(package, now)
    ensure_allowed(Action.TRANSFER, package_selectors.status_of(package, packages.lines_of(package), today))
    if ClaimCode.objects.filter(package=package, kind=ClaimKind.TRANSFER, status=ClaimStatus.OPEN).exists():
        raise Conflict(
            "the package already has an open transfer code; revoke it first",
            code="transition_not_allowed",
            field="package_id",
        )
    issued = new_code(
        tenant=tenant,
        kind=ClaimKind.TRANSFER,
        status=ClaimStatus.OPEN,
        buyer_id=package.holder_id,
        package=package,
        expires_on=_expiry(expires_on, valid_days, today),
        created_at=now,
        opened_at=now,
        created_by=actor.label,
        message=validation.text(reason, "reason", max_length=500, required=False),
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="claim_code.transfer",
        subject=package,
        now=now,
        data={"code": issued.code.hint, "claim_code_id": issued.code.id},
    )
    return issued
