"""Orders and payments (SPEC §3)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StrictInt

from punchcard.billing.models import Checkout, Order, OrderStatus, Payment, PaymentMethod, PaymentMethodStatus, Tender
from punchcard.billing.services.checkout import RETURN_PATH
from punchcard.kernel.schemas import (
    Amount,
    BodyId,
    Ctx,
    Date,
    Id,
    Input,
    Money,
    PageParams,
    PositiveAmount,
    Reason,
    Ref,
    Schema,
    Text,
    ref,
)


class OrderItemIn(Input):
    plan_id: BodyId
    start_date: Date | None = Field(None, description="today (at the centre) when omitted; may be in the future")


class OrderIn(Input):
    patient_id: BodyId
    centre_id: BodyId
    items: list[OrderItemIn] = Field(min_length=1, max_length=20)
    credited_staff_id: BodyId | None = Field(None, description="staff member credited with the sale (commission)")
    promotion_code: Text(64, min_length=1) | None = Field(
        None, description="a promotion code the patient gave (see GET /promotions/quote); letters' case is ignored"
    )


class PaymentIn(Input):
    method: Tender
    amount: PositiveAmount
    reference: Text(200) = Field("", description="card slip, processor reference, …")


class OrderFilters(PageParams):
    patient: Id | None = None
    centre: Id | None = None
    status: OrderStatus | None = None
    placed_from: Date | None = Field(None, description="first local date (at the order's centre), inclusive")
    placed_to: Date | None = Field(None, description="last local date (at the order's centre), inclusive")


class OrderLineOut(Schema):
    id: int
    kind: str
    plan_id: int
    plan_version: int
    plan_name: str
    start_date: dt.date
    net: Money
    tax: Money
    gross: Money
    package_id: int | None


class PaymentOut(Schema):
    id: int
    method: str
    amount: Money
    reference: str
    received_at: dt.datetime
    recorded_by: str

    @classmethod
    def of(cls, payment: Payment, ctx: Ctx) -> PaymentOut:
        return cls(
            id=payment.id,
            method=payment.method,
            amount=ctx.money(payment.amount),
            reference=payment.reference,
            received_at=payment.received_at,
            recorded_by=payment.recorded_by,
        )


class OrderOut(Schema):
    id: int
    number: int
    status: str
    patient: Ref
    centre: Ref
    currency: str
    net: Money
    tax: Money
    gross: Money
    discount: Money
    credit_applied: Money
    paid: Money
    due: Money
    credited_staff: Ref | None
    lines: list[OrderLineOut]
    payments: list[PaymentOut]
    created_at: dt.datetime
    created_by: str

    @classmethod
    def of(cls, order: Order, ctx: Ctx) -> OrderOut:
        def m(amount):
            return ctx.money(amount, order.currency)

        lines = []
        for line in order.lines.all():
            package = next(iter(line.packages.all()), None)
            version = line.plan_version
            lines.append(
                OrderLineOut(
                    id=line.id,
                    kind=line.kind,
                    plan_id=version.plan_id,
                    plan_version=version.number,
                    plan_name=version.name,
                    start_date=line.start_date,
                    net=m(line.net),
                    tax=m(line.tax),
                    gross=m(line.gross),
                    package_id=package.id if package else None,
                )
            )
        return cls(
            id=order.id,
            number=order.number,
            status=order.status,
            patient=ref(order.patient),
            centre=ref(order.centre),
            currency=order.currency,
            net=m(order.net),
            tax=m(order.tax),
            gross=m(order.gross),
            discount=m(order.discount),
            credit_applied=m(order.credit_applied),
            paid=m(order.paid),
            due=m(order.due),
            credited_staff=ref(order.credited_staff),
            lines=lines,
            payments=[PaymentOut.of(p, ctx) for p in sorted(order.payments.all(), key=lambda p: p.id)],
            created_at=order.created_at,
            created_by=order.created_by,
        )


class PaymentResultOut(Schema):
    payment: PaymentOut
    order: OrderOut


class RefundIn(Input):
    amount: Amount | None = Field(
        None,
        description="minor units, from what was paid on open top-up orders (0 if none) to what was collected; "
        "default: the suggestion (price paid ÷ sessions × sessions remaining, plus those top-up payments)",
    )
    reason: Reason


class RefundOut(Schema):
    id: int
    package_id: int
    patient: Ref
    suggested: Money
    amount: Money = Field(description="credited to the patient's account (pay it out with a credit payout)")
    deferred_cleared: Money
    tax_credited: Money = Field(description="the credit note's tax: tax on the refunded part, no longer owed")
    advances_returned: Money = Field(description="paid on the package's open top-up orders, which the refund cancels")
    reason: str
    created_at: dt.datetime
    created_by: str


class PayoutIn(Input):
    method: Literal["cash", "card", "bank_transfer", "external"] = Field(description="how the credit is paid out")
    amount: PositiveAmount
    reference: Text(200) = ""


class PayoutOut(Schema):
    id: int
    patient_id: int
    method: str
    amount: Money
    reference: str
    created_at: dt.datetime
    created_by: str
    balance: Money = Field(description="the patient's credit left after the payout")


class TopUpIn(Input):
    line_id: BodyId
    sessions: Annotated[StrictInt, Field(ge=1, le=100)]


class UpgradeIn(Input):
    plan_id: BodyId = Field(description="the larger plan")
    start_date: Date | None = Field(None, description="when the new package starts; default today")


class PackageMoneyOut(Schema):
    """Net of tax: sold = recognised + breakage + refunded + upgraded + deferred."""

    package_id: int
    sold: Money
    recognised: Money
    breakage: Money
    refunded: Money
    upgraded: Money
    deferred: Money
    collected: Money = Field(
        description="what the patient paid for it, tax included: sale, top-ups and upgrade credit, and any "
        "payment on its top-up orders not yet activated"
    )
    advances: Money = Field(description="the part of collected paid on top-up orders not yet activated")
    suggested_refund: Money


# ---------------------------------------------------------------- payment methods and providers (SPEC §10.2)

ProviderName = Text(32, min_length=1, pattern="^[a-z][a-z0-9_]{0,31}$")


class PaymentMethodIn(Input):
    provider: ProviderName = Field(description="`test` (tokens such as tok_ok) or `manual` (cash, card, bank_transfer)")
    token: Text(200, min_length=1) = Field(description="what the provider gave for the patient's method")


class PaymentMethodFilters(PageParams):
    status: PaymentMethodStatus | None = None


class PaymentMethodOut(Schema):
    id: int
    patient_id: int
    provider: str
    brand: str
    last4: str
    expiry_month: int | None
    expiry_year: int | None
    status: str
    created_at: dt.datetime
    created_by: str
    detached_at: dt.datetime | None

    @classmethod
    def of(cls, method: PaymentMethod) -> PaymentMethodOut:
        return cls(
            id=method.id,
            patient_id=method.patient_id,
            provider=method.provider,
            brand=method.brand,
            last4=method.last4,
            expiry_month=method.expiry_month,
            expiry_year=method.expiry_year,
            status=method.status,
            created_at=method.created_at,
            created_by=method.created_by,
            detached_at=method.detached_at,
        )


class ChargeIn(Input):
    payment_method_id: BodyId
    amount: PositiveAmount | None = Field(None, description="what is due on the order when omitted")


class CheckoutIn(Input):
    provider: ProviderName
    return_url: Text(500, min_length=1, pattern=RETURN_PATH) = Field(
        description="a path on this server the patient comes back to, e.g. /portal/orders/12"
    )


class CheckoutOut(Schema):
    session: str
    redirect_url: str = Field(description="send the patient here")
    status: str
    order_id: int
    amount: Money
    return_url: str
    created_at: dt.datetime

    @classmethod
    def of(cls, checkout: Checkout, ctx: Ctx) -> CheckoutOut:
        return cls(
            session=checkout.session,
            redirect_url=checkout.redirect_url,
            status=checkout.status,
            order_id=checkout.order_id,
            amount=ctx.money(checkout.amount),
            return_url=checkout.return_url,
            created_at=checkout.created_at,
        )


class WebhookReceivedOut(Schema):
    event_id: str
    type: str
    duplicate: bool = Field(description="true when this event was received before (and nothing was done again)")
