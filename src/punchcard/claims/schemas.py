"""What the claim-code routes take and answer. A code itself appears only in the answer that made it."""

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from punchcard.billing.models import Order
from punchcard.kernel.schemas import Amount, BodyId, Ctx, Date, Id, Input, Money, PageParams, Reason, Text

from . import services
from .codes import display
from .models import ClaimCode, ClaimKind, ClaimStatus


class ClaimOrderIn(Input):
    buyer_id: BodyId = Field(description="the paying patient or company account")
    centre_id: BodyId
    plan_id: BodyId
    quantity: int = Field(1, ge=1, le=services.MAX_BULK_CODES)
    kind: Literal["bulk", "gift"] = "bulk"
    start_date: Date | None = None
    expires_on: Date | None = Field(None, description="last day a code can be claimed (default: valid_days)")
    valid_days: int | None = Field(services.DEFAULT_CODE_VALID_DAYS, ge=1, le=3650)
    recipient: Text(200) = ""
    message: Text(500) = ""
    credited_staff_id: BodyId | None = None
    promotion_code: Text(64) | None = None


class ClaimCodeOut(Schema):
    id: int
    kind: str
    status: str
    code: str | None = Field(None, description="the code itself: only in the answer that made it")
    hint: str
    buyer_id: int
    order_id: int | None
    package_id: int | None
    claimant_id: int | None
    value_held: Money | None = Field(None, description="deferred value held until claimed (read_money only)")
    price: Money | None
    recipient: str
    message: str
    expires_on: dt.date | None
    claimed_at: dt.datetime | None
    closed_reason: str

    @staticmethod
    def of(code: ClaimCode, ctx: Ctx, plaintext: str | None = None) -> "ClaimCodeOut":
        return ClaimCodeOut(
            id=code.id,
            kind=code.kind,
            status=code.status,
            code=display(plaintext) if plaintext else None,
            hint=code.hint,
            buyer_id=code.buyer_id,
            order_id=code.order_line.order_id if code.order_line_id else None,
            package_id=code.package_id,
            claimant_id=code.claimant_id,
            value_held=ctx.money_if_allowed(code.deferred_value),
            price=ctx.money(code.gross) if code.kind != ClaimKind.TRANSFER else None,
            recipient=code.recipient,
            message=code.message,
            expires_on=code.expires_on,
            claimed_at=code.claimed_at,
            closed_reason=code.closed_reason,
        )


class OrderSummary(Schema):
    id: int
    number: int
    status: str
    gross: Money
    discount: Money
    due: Money

    @staticmethod
    def of(order: Order, ctx: Ctx) -> "OrderSummary":
        return OrderSummary(
            id=order.id,
            number=order.number,
            status=order.status,
            gross=ctx.money(order.gross),
            discount=ctx.money(order.discount),
            due=ctx.money(order.due),
        )


class ClaimOrderOut(Schema):
    order: OrderSummary
    codes: list[ClaimCodeOut]


class ClaimIn(Input):
    code: Text(64, min_length=1)
    patient_id: BodyId


class TransferCodeIn(Input):
    expires_on: Date | None = None
    valid_days: int | None = Field(services.DEFAULT_TRANSFER_VALID_DAYS, ge=1, le=3650)
    reason: Text(500) = ""


class RevokeIn(Input):
    reason: Reason
    refund: bool = Field(True, description="refund the buyer's credit (else the value is forfeited as breakage)")
    amount: Amount | None = Field(None, description="refund amount; default: all that was paid for the code")


class CodeFilters(PageParams):
    status: ClaimStatus | None = None
    kind: ClaimKind | None = None
    buyer_id: Id | None = None
    order_id: Id | None = None
