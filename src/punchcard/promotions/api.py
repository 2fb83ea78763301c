"""HTTP routes for promotions (SPEC §9): define, list, retire, and quote what an order would cost.

Mount with `api.add_router("", punchcard.promotions.api.router)`.
"""

from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE, errors
from punchcard.kernel.schemas import Ctx, Id, Page

from . import selectors, services
from .models import Promotion
from .schemas import PromotionFilters, PromotionIn, PromotionOut, QuoteOut, QuoteParams

router = Router(tags=["promotions"])


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
@idempotent(perm=Perm.EDIT_CATALOGUE)
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
@idempotent(perm=Perm.EDIT_CATALOGUE)
def retire_promotion(request, promotion_id: Id):
    """Stop applying it to new orders (orders already placed keep what they got)."""
    p = caller(request)
    return Status(
        200, PromotionOut.of(services.retire_promotion(tenant=p.tenant, actor=p.actor, promotion_id=promotion_id))
    )
