"""HTTP routes for promotions (SPEC §9).

Mount with `api.add_router("", punchcard.promotions.api.router)`.
"""

import datetime as dt

from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from punchcard.api.auth import caller
from punchcard.api.idempotency import idempotent
from punchcard.api.pagination import paginate
from punchcard.api.problems import READ, WRITE, errors
from punchcard.api.schemas.common import Amount, BodyId, Ctx, Date, Id, Input, Money, Page, PageParams, Text
from punchcard.tenancy.permissions import Perm

from . import selectors, services
from .models import Promotion
from .rules import Kind

router = Router(tags=["promotions"])


# ---------------------------------------------------------------- schemas


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
    promotion_code: str | None = Field(None, max_length=64)


class QuoteOut(Schema):
    plan_id: int
    name: str
    price: Money
    discount: Money
    net: Money
    tax: Money
    gross: Money
    promotion: dict


# ---------------------------------------------------------------- promotions


@router.get("/promotions", response={200: Page[PromotionOut], **READ})
def list_promotions(request, filters: Query[PromotionFilters]):
    """Promotions, newest first."""
    p = caller(request, Perm.READ)
    qs = Promotion.objects.filter(tenant=p.tenant).prefetch_related("plans")
    if not filters.include_retired:
        qs = qs.filter(retired_at__isnull=True)
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit)
    return Page[PromotionOut](items=[PromotionOut.of(x) for x in page.items], next_cursor=page.next_cursor)


@router.post("/promotions", response={201: PromotionOut, **WRITE})
@idempotent
def create_promotion(request, payload: PromotionIn):
    """A promotion: `bonus_sessions` (Buy N Free M), `percent`, `fixed` or `loyalty` (tiers by packages bought);
    applied at sale by code and/or automatically, in its window, to its plans (none listed: every plan)."""
    p = caller(request)
    promotion = services.create_promotion(
        tenant=p.tenant,
        actor=p.actor,
        name=payload.name,
        kind=payload.kind.value,
        code=payload.code,
        automatic=payload.automatic,
        stackable=payload.stackable,
        priority=payload.priority,
        plan_ids=payload.plan_ids,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        percent_bp=payload.percent_bp,
        amount=payload.amount,
        buy=payload.buy,
        free=payload.free,
        tiers=[t.model_dump() for t in payload.tiers],
    )
    return Status(201, PromotionOut.of(promotion))


@router.get("/promotions/quote", response={200: list[QuoteOut], **READ, **errors(409)})  # a code may not apply
def quote(request, params: Query[QuoteParams]):
    """What an order for these plans would cost today with the automatic promotions and the code."""
    p = caller(request, Perm.READ)
    ctx = Ctx(p)
    quotes = services.quote(
        tenant=p.tenant,
        actor=p.actor,
        patient_id=params.patient_id,
        centre_id=params.centre_id,
        plan_ids=params.plan_id,
        promotion_code=params.promotion_code,
    )
    return [
        QuoteOut(
            plan_id=q.plan_id,
            name=q.name,
            price=ctx.money(q.price),
            discount=ctx.money(q.discount),
            net=ctx.money(q.net),
            tax=ctx.money(q.tax),
            gross=ctx.money(q.gross),
            promotion=q.promotion,
        )
        for q in quotes
    ]


@router.get("/promotions/{int:promotion_id}", response={200: PromotionOut, **READ})
def get_promotion(request, promotion_id: Id):
    p = caller(request, Perm.READ)
    return PromotionOut.of(selectors.get_promotion(p.tenant, promotion_id))


@router.post("/promotions/{int:promotion_id}/retire", response={200: PromotionOut, **WRITE})
@idempotent
def retire_promotion(request, promotion_id: Id):
    """Stop applying it to new orders (orders already placed keep what they got)."""
    p = caller(request)
    return Status(
        200, PromotionOut.of(services.retire_promotion(tenant=p.tenant, actor=p.actor, promotion_id=promotion_id))
    )
