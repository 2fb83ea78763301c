"""HTTP routes for selling: orders and payments (SPEC §3), stored payment methods and charges (§10.2)."""

import uuid

from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent, key_of
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE
from punchcard.kernel.schemas import Ctx, Id, Page, ReasonIn, ref
from punchcard.packages import selectors as package_selectors
from punchcard.tenancy import selectors as tenancy_selectors
from punchcard.tenancy.schemas import CreditOut

from . import selectors, services
from .models import Refund
from .schemas import (
    ChargeIn,
    CheckoutIn,
    CheckoutOut,
    OrderFilters,
    OrderIn,
    OrderOut,
    PackageMoneyOut,
    PaymentIn,
    PaymentMethodFilters,
    PaymentMethodIn,
    PaymentMethodOut,
    PaymentOut,
    PaymentResultOut,
    PayoutIn,
    PayoutOut,
    RefundIn,
    RefundOut,
    TopUpIn,
    UpgradeIn,
)

router = Router(tags=["orders and money"])


@router.get("/orders", response={200: Page[OrderOut], **READ})
def list_orders(request, filters: Query[OrderFilters]):
    """Orders, newest first."""
    p = caller(request, Perm.READ)
    qs = selectors.filter_orders(
        p.tenant,
        patient=filters.patient,
        centre=filters.centre,
        status=filters.status,
        placed_from=filters.placed_from,
        placed_to=filters.placed_to,
    )
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit)
    ctx = Ctx(p)
    return Page[OrderOut](items=[OrderOut.of(o, ctx) for o in page.items], next_cursor=page.next_cursor)


@router.post("/orders", response={201: OrderOut, **WRITE})
@idempotent(perm=Perm.SELL)
def create_order(request, payload: OrderIn):
    """An order for one or more plans. Its packages activate when it is paid in full (or marked pay-later);
    a free order activates at once."""
    p = caller(request)
    order = services.place_order(
        tenant=p.tenant,
        actor=p.actor,
        patient_id=payload.patient_id,
        centre_id=payload.centre_id,
        items=[services.OrderItem(plan_id=i.plan_id, start_date=i.start_date) for i in payload.items],
        credited_staff_id=payload.credited_staff_id,
        promotion_code=payload.promotion_code,
        idempotency_key=key_of(request),
    )
    return Status(201, OrderOut.of(selectors.order(p.tenant, order.id), Ctx(p)))


@router.get("/orders/{order_id}", response={200: OrderOut, **READ})
def get_order(request, order_id: Id):
    p = caller(request, Perm.READ)
    return OrderOut.of(selectors.order(p.tenant, order_id), Ctx(p))


@router.post("/orders/{order_id}/payments", response={201: PaymentResultOut, **WRITE})
@idempotent(perm=Perm.SELL)
def record_payment(request, order_id: Id, payload: PaymentIn):
    """A payment against the order; when nothing is left to pay, its packages activate."""
    p = caller(request)
    payment = services.record_payment(
        tenant=p.tenant,
        actor=p.actor,
        order_id=order_id,
        method=payload.method.value,
        amount=payload.amount,
        reference=payload.reference,
        idempotency_key=key_of(request),
    )
    ctx = Ctx(p)
    return Status(
        201,
        PaymentResultOut(
            payment=PaymentOut.of(payment, ctx), order=OrderOut.of(selectors.order(p.tenant, order_id), ctx)
        ),
    )


@router.post("/orders/{order_id}/charges", response={201: PaymentResultOut, **WRITE})
@idempotent(perm=Perm.SELL, calls_out=True)
def charge_order(request, order_id: Id, payload: ChargeIn):
    """Pay the order with one of the patient's stored payment methods, through its provider. A declined
    card is a 409 `payment_failed` whose `context.failure_code` says why; nothing is paid. Send an
    Idempotency-Key: a retry with it never charges twice."""
    p = caller(request)
    payment = services.charge_order(
        tenant=p.tenant,
        actor=p.actor,
        order_id=order_id,
        method_id=payload.payment_method_id,
        amount=payload.amount,
        idempotency_key=key_of(request) or f"charge-{uuid.uuid4().hex}",
    )
    ctx = Ctx(p)
    return Status(
        201,
        PaymentResultOut(
            payment=PaymentOut.of(payment, ctx), order=OrderOut.of(selectors.order(p.tenant, order_id), ctx)
        ),
    )


@router.post("/orders/{order_id}/checkout", response={201: CheckoutOut, **WRITE})
@idempotent(perm=Perm.SELL, calls_out=True)
def start_checkout(request, order_id: Id, payload: CheckoutIn):
    """A hosted payment page for what is due on the order: send the patient to `redirect_url`; they come
    back to `return_url` with `?checkout=<session>&status=paid|failed`."""
    p = caller(request)
    checkout = services.start_checkout(
        tenant=p.tenant,
        actor=p.actor,
        order_id=order_id,
        provider=payload.provider,
        return_url=payload.return_url,
        idempotency_key=key_of(request),
    )
    return Status(201, CheckoutOut.of(checkout, Ctx(p)))


@router.post("/orders/{order_id}/pay-later", response={200: OrderOut, **WRITE})
@idempotent(perm=Perm.ADJUST)
def pay_later(request, order_id: Id, payload: ReasonIn):
    """A manager activates an unpaid order; the balance stays receivable."""
    p = caller(request)
    services.mark_pay_later(tenant=p.tenant, actor=p.actor, order_id=order_id, reason=payload.reason)
    return Status(200, OrderOut.of(selectors.order(p.tenant, order_id), Ctx(p)))


@router.post("/orders/{order_id}/cancel", response={200: OrderOut, **WRITE})
@idempotent(perm=Perm.SELL)
def cancel_order(request, order_id: Id, payload: ReasonIn):
    """Cancel an open order that has no payments."""
    p = caller(request)
    services.cancel_order(tenant=p.tenant, actor=p.actor, order_id=order_id, reason=payload.reason)
    return Status(200, OrderOut.of(selectors.order(p.tenant, order_id), Ctx(p)))


# ---------------------------------------------------------------- money of a package (SPEC §8)


def _refund_out(refund, ctx: Ctx) -> RefundOut:
    return RefundOut(
        id=refund.id,
        package_id=refund.package_id,
        patient=ref(refund.patient),
        suggested=ctx.money(refund.suggested),
        amount=ctx.money(refund.amount),
        deferred_cleared=ctx.money(refund.deferred_cleared),
        tax_credited=ctx.money(refund.tax_credited),
        advances_returned=ctx.money(refund.advances_returned),
        reason=refund.reason,
        created_at=refund.created_at,
        created_by=refund.created_by,
    )


@router.get("/packages/{package_id}/money", response={200: PackageMoneyOut, **READ})
def get_package_money(request, package_id: Id):
    """The package's money story from the journal, and the suggested refund. Needs read_money."""
    p = caller(request, Perm.READ_MONEY)
    package = package_selectors.package_detail(p.tenant, package_id)
    money = selectors.package_money(package)
    ctx = Ctx(p)
    collected = selectors.collected_money(package)
    return PackageMoneyOut(
        package_id=package.id,
        sold=ctx.money(money.sold),
        recognised=ctx.money(money.recognised),
        breakage=ctx.money(money.breakage),
        refunded=ctx.money(money.refunded),
        upgraded=ctx.money(money.upgraded),
        deferred=ctx.money(money.deferred),
        collected=ctx.money(collected.total),
        advances=ctx.money(collected.advances),
        suggested_refund=ctx.money(selectors.suggested_refund(package)),
    )


@router.post("/packages/{package_id}/refund", response={200: RefundOut, **WRITE})
@idempotent(perm=Perm.REFUND)
def refund_package(request, package_id: Id, payload: RefundIn):
    """Refund to the patient's credit (default: the suggested amount); the package is cancelled."""
    p = caller(request)
    refund = services.refund_package(
        tenant=p.tenant, actor=p.actor, package_id=package_id, reason=payload.reason, amount=payload.amount
    )
    return Status(200, _refund_out(Refund.objects.select_related("patient").get(pk=refund.pk), Ctx(p)))


@router.post("/packages/{package_id}/top-ups", response={201: OrderOut, **WRITE})
@idempotent(perm=Perm.SELL)
def top_up_package(request, package_id: Id, payload: TopUpIn):
    """An order for more sessions of a line at the plan's top-up price; granted when paid."""
    p = caller(request)
    order = services.top_up_package(
        tenant=p.tenant,
        actor=p.actor,
        package_id=package_id,
        line_id=payload.line_id,
        sessions=payload.sessions,
        idempotency_key=key_of(request),
    )
    return Status(201, OrderOut.of(selectors.order(p.tenant, order.id), Ctx(p)))


@router.post("/packages/{package_id}/upgrade", response={201: OrderOut, **WRITE})
@idempotent(perm=Perm.SELL)
def upgrade_package(request, package_id: Id, payload: UpgradeIn):
    """Convert into a larger plan: the remaining value is credited to a new order, this package closes as
    upgraded, and the new one starts when the rest is paid."""
    p = caller(request)
    order = services.upgrade_package(
        tenant=p.tenant,
        actor=p.actor,
        package_id=package_id,
        plan_id=payload.plan_id,
        start_date=payload.start_date,
        idempotency_key=key_of(request),
    )
    return Status(201, OrderOut.of(selectors.order(p.tenant, order.id), Ctx(p)))


# ---------------------------------------------------------------- patient credit (SPEC §8.2)


@router.get("/patients/{patient_id}/credit", response={200: CreditOut, **READ})
def get_patient_credit(request, patient_id: Id):
    """The patient's credit balance (refunds to credit), from the journal. Needs read_money."""
    p = caller(request, Perm.READ_MONEY)
    patient = tenancy_selectors.patient(p.tenant, patient_id)
    return CreditOut(patient_id=patient.id, balance=Ctx(p).money(selectors.credit_balance(p.tenant, patient.id)))


@router.post("/patients/{patient_id}/credit/payouts", response={201: PayoutOut, **WRITE})
@idempotent(perm=Perm.REFUND)
def pay_out_credit(request, patient_id: Id, payload: PayoutIn):
    """Pay the patient's credit back to a payment method (the refund's second step)."""
    p = caller(request)
    payout = services.pay_out_credit(
        tenant=p.tenant,
        actor=p.actor,
        patient_id=patient_id,
        method=payload.method,
        amount=payload.amount,
        reference=payload.reference,
        idempotency_key=key_of(request),
    )
    ctx = Ctx(p)
    return Status(
        201,
        PayoutOut(
            id=payout.id,
            patient_id=payout.patient_id,
            method=payout.method,
            amount=ctx.money(payout.amount),
            reference=payout.reference,
            created_at=payout.created_at,
            created_by=payout.created_by,
            balance=ctx.money(selectors.credit_balance(p.tenant, payout.patient_id)),
        ),
    )


# ---------------------------------------------------------------- stored payment methods (SPEC §10.2)


@router.get("/patients/{patient_id}/payment-methods", response={200: Page[PaymentMethodOut], **READ})
def list_payment_methods(request, patient_id: Id, filters: Query[PaymentMethodFilters]):
    """The patient's stored payment methods, newest first (brand, last four digits, expiry: never a number)."""
    p = caller(request, Perm.READ)
    patient = tenancy_selectors.patient(p.tenant, patient_id)
    qs = selectors.payment_methods(p.tenant, patient, status=filters.status)
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit)
    return Page[PaymentMethodOut](items=[PaymentMethodOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.post("/patients/{patient_id}/payment-methods", response={201: PaymentMethodOut, **WRITE})
@idempotent(perm=Perm.SELL, calls_out=True)
def add_payment_method(request, patient_id: Id, payload: PaymentMethodIn):
    """Store a payment method for the patient through a provider. An unknown or expired token is a 409
    `payment_method_refused`; an unknown provider a 422 `unknown_provider`."""
    p = caller(request)
    method = services.add_payment_method(
        tenant=p.tenant,
        actor=p.actor,
        patient_id=patient_id,
        provider=payload.provider,
        token=payload.token,
        idempotency_key=key_of(request),
    )
    return Status(201, PaymentMethodOut.of(method))


@router.delete("/payment-methods/{method_id}", response={200: PaymentMethodOut, **WRITE})
def detach_payment_method(request, method_id: Id):
    """Detach a stored method: it is never charged again; what it paid stays. Detaching twice is harmless."""
    p = caller(request)
    method = services.detach_payment_method(tenant=p.tenant, actor=p.actor, method_id=method_id)
    return Status(200, PaymentMethodOut.of(method))
