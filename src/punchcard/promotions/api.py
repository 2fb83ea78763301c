"""HTTP routes for promotions, bulk and gift orders, and claim codes (SPEC §7, §9).

Mount with `api.add_router("", punchcard.promotions.api.router)`. Claim codes are in an answer once:
when made (POST /claim-orders, POST /packages/{id}/transfer-code, POST /claim-codes/{id}/reissue);
afterwards only their last four symbols (`hint`) are shown.

POST /claim-codes/claim is deliberately not replayed by Idempotency-Key: claiming is idempotent by
itself (the same code for the same patient answers the same), and every refused attempt must be
counted for the guessing limit (429 with Retry-After after too many).
"""

import datetime as dt
from typing import Literal

from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from punchcard.billing.models import Order
from punchcard.domain.errors import RateLimited
from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent, key_of
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE, errors, problem
from punchcard.kernel.schemas import Amount, BodyId, Ctx, Date, Id, Input, Money, Page, PageParams, Reason, Text

from . import selectors, services
from .models import ClaimCode, ClaimKind, ClaimStatus, Promotion
from .rules import Kind

router = Router(tags=["promotions"])
CLAIM = {**WRITE, **errors(429)}


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
        from .codes import display

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


class ReasonIn(Input):
    reason: Reason


class CodeFilters(PageParams):
    status: ClaimStatus | None = None
    kind: ClaimKind | None = None
    buyer_id: Id | None = None
    order_id: Id | None = None


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


# ---------------------------------------------------------------- claim codes


def _order_summary(order: Order, ctx: Ctx) -> OrderSummary:
    return OrderSummary(
        id=order.id,
        number=order.number,
        status=order.status,
        gross=ctx.money(order.gross),
        discount=ctx.money(order.discount),
        due=ctx.money(order.due),
    )


@router.post("/claim-orders", response={201: ClaimOrderOut, **WRITE})
@idempotent
def create_claim_order(request, payload: ClaimOrderIn):
    """A bulk order (a company buys `quantity` packages) or a gift: an order to the buyer with one claim code per
    package. Pay it like any order (POST /orders/{id}/payments); the codes can be claimed once it is paid.
    The codes are in this answer only — hand them out from here."""
    p = caller(request)
    made = services.place_claim_order(
        tenant=p.tenant,
        actor=p.actor,
        buyer_id=payload.buyer_id,
        centre_id=payload.centre_id,
        plan_id=payload.plan_id,
        quantity=payload.quantity,
        kind=payload.kind,
        start_date=payload.start_date,
        expires_on=payload.expires_on,
        valid_days=payload.valid_days,
        recipient=payload.recipient,
        message=payload.message,
        credited_staff_id=payload.credited_staff_id,
        promotion_code=payload.promotion_code,
        idempotency_key=key_of(request),
    )
    ctx = Ctx(p)
    made.order.refresh_from_db()
    return Status(
        201,
        ClaimOrderOut(
            order=_order_summary(made.order, ctx), codes=[ClaimCodeOut.of(i.code, ctx, i.plaintext) for i in made.codes]
        ),
    )


@router.get("/claim-codes", response={200: Page[ClaimCodeOut], **READ})
def list_claim_codes(request, filters: Query[CodeFilters]):
    """Claim codes (their hints, never the codes), newest first."""
    p = caller(request, Perm.READ)
    qs = selectors.claim_codes(p.tenant, status=filters.status, kind=filters.kind, buyer_id=filters.buyer_id)
    if filters.order_id:
        qs = qs.filter(order_line__order_id=filters.order_id)
    page = paginate(qs.select_related("order_line"), cursor=filters.cursor, limit=filters.limit)
    ctx = Ctx(p)
    return Page[ClaimCodeOut](items=[ClaimCodeOut.of(c, ctx) for c in page.items], next_cursor=page.next_cursor)


@router.get("/claim-codes/{int:code_id}", response={200: ClaimCodeOut, **READ})
def get_claim_code(request, code_id: Id):
    p = caller(request, Perm.READ)
    from punchcard.tenancy.selectors import scoped_get

    code = scoped_get(
        ClaimCode, tenant=p.tenant, pk=code_id, field="code_id", queryset=ClaimCode.objects.select_related("order_line")
    )
    return ClaimCodeOut.of(code, Ctx(p))


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@router.post("/claim-codes/claim", response={200: ClaimCodeOut, **CLAIM})
def claim(request, payload: ClaimIn):
    """Claim a code for a patient: a bulk or gift code creates the package in their name; a transfer code moves
    its package to them. Refusals: claim_code_mistyped (422: a typo, caught by the check symbol),
    claim_code_unknown (404), claim_code_used / _revoked / _expired / _unpaid (409). Too many refusals from one
    caller or IP: 429 rate_limited with Retry-After."""
    p = caller(request)
    try:
        code = services.claim_code(
            tenant=p.tenant,
            actor=p.actor,
            code=payload.code,
            patient_id=payload.patient_id,
            client_ip=_client_ip(request),
        )
    except RateLimited as exc:
        response = problem(
            status=429, code=exc.code, detail=exc.message, context={"retry_after": exc.context.get("retry_after")}
        )
        response["Retry-After"] = str(exc.context.get("retry_after", 60))
        return response
    return ClaimCodeOut.of(ClaimCode.objects.select_related("order_line").get(pk=code.pk), Ctx(p))


@router.post("/packages/{int:package_id}/transfer-code", response={201: ClaimCodeOut, **WRITE})
@idempotent
def create_transfer_code(request, package_id: Id, payload: TransferCodeIn):
    """A one-time code that transfers this (transferable) package to whoever claims it. Shown once."""
    p = caller(request)
    issued = services.create_transfer_code(
        tenant=p.tenant,
        actor=p.actor,
        package_id=package_id,
        expires_on=payload.expires_on,
        valid_days=payload.valid_days,
        reason=payload.reason,
    )
    return Status(201, ClaimCodeOut.of(issued.code, Ctx(p), issued.plaintext))


@router.post("/claim-codes/{int:code_id}/revoke", response={200: ClaimCodeOut, **WRITE})
@idempotent
def revoke(request, code_id: Id, payload: RevokeIn):
    """Revoke an open code: its value is refunded to the buyer's credit (or forfeited with refund=false)."""
    p = caller(request)
    code = services.revoke_claim_code(
        tenant=p.tenant,
        actor=p.actor,
        code_id=code_id,
        reason=payload.reason,
        refund=payload.refund,
        amount=payload.amount,
    )
    return Status(200, ClaimCodeOut.of(code, Ctx(p)))


@router.post("/claim-codes/{int:code_id}/reissue", response={200: ClaimCodeOut, **WRITE})
@idempotent
def reissue(request, code_id: Id, payload: ReasonIn):
    """A lost code: the same claim (and value) gets a new code, shown in this answer; the old code stops working."""
    p = caller(request)
    issued = services.reissue_claim_code(tenant=p.tenant, actor=p.actor, code_id=code_id, reason=payload.reason)
    return Status(200, ClaimCodeOut.of(issued.code, Ctx(p), issued.plaintext))
