"""What the promotion routes take and answer."""

import datetime as dt

from ninja import Field, Schema

from punchcard.kernel.schemas import Amount, BodyId, Date, Id, Input, Money, PageParams, Text

from .models import Promotion
from .rules import Kind


class TierIn(Input):
    min: int = Field(ge=0, le=100_000, description="packages already bought, at least")
    max: int | None = Field(None, ge=0, le=100_000, description="at most (null: and above)")
    percent_bp: int = Field(ge=1, le=10_000, description="discount in basis points: 500 = 5 %")


class PromotionIn(Input):
    name: Text(200, min_length=1)
    kind: Kind
    code: Text(64) | None = Field(None, description="what patients type; omit for an automatic-only promotion")
    automatic: bool = False
    stackable: bool = False
    priority: int = Field(100, ge=0, le=10_000)
    plan_ids: list[BodyId] = Field(default_factory=list, max_length=200, description="empty: every plan")
    valid_from: Date | None = None
    valid_to: Date | None = None
    percent_bp: int = Field(0, ge=0, le=10_000, description="percent: 1000 = 10 %")
    amount: Amount = Field(0, description="fixed: minor units off each line")
    buy: int = Field(0, ge=0, le=10_000, description="bonus_sessions: buy N …")
    free: int = Field(0, ge=0, le=10_000, description="… free M")
    tiers: list[TierIn] = Field(default_factory=list, max_length=50, description="loyalty tiers")


class PromotionOut(Schema):
    id: int
    name: str
    kind: str
    code: str | None
    automatic: bool
    stackable: bool
    priority: int
    plan_ids: list[int]
    valid_from: dt.date | None
    valid_to: dt.date | None
    percent_bp: int
    amount: int
    buy: int
    free: int
    tiers: list[dict]
    retired: bool

    @staticmethod
    def of(p: Promotion) -> "PromotionOut":
        return PromotionOut(
            id=p.id,
            name=p.name,
            kind=p.kind,
            code=p.code or None,
            automatic=p.automatic,
            stackable=p.stackable,
            priority=p.priority,
            plan_ids=sorted(pl.id for pl in p.plans.all()),
            valid_from=p.valid_from,
            valid_to=p.valid_to,
            percent_bp=p.percent_bp,
            amount=p.amount,
            buy=p.buy,
            free=p.free,
            tiers=p.tiers,
            retired=p.retired_at is not None,
        )


class PromotionFilters(PageParams):
    include_retired: bool = False


class QuoteParams(Schema):
    patient_id: Id
    centre_id: Id
    plan_id: list[Id] = Field(..., min_length=1, max_length=20, description="repeat for several plans")
    promotion_code: Text(64, min_length=1) | None = None


class QuoteOut(Schema):
    plan_id: int
    name: str
    price: Money
    discount: Money
    net: Money
    tax: Money
    gross: Money
    promotion: dict
