"""HTTP routes for bulk and gift orders and claim codes (SPEC §7, §9).

Mount with `api.add_router("", punchcard.claims.api.router)`. Claim codes are in an answer once:
when made (POST /claim-orders, POST /packages/{id}/transfer-code, POST /claim-codes/{id}/reissue);
afterwards only their last four symbols (`hint`) are shown.

POST /claim-codes/claim is deliberately not replayed by Idempotency-Key: claiming is idempotent by
itself (the same code for the same patient answers the same), and every refused attempt must be
counted for the guessing limit (429 with Retry-After after too many).
"""

from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.errors import RateLimited
from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent, key_of
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE, errors, problem
from punchcard.kernel.schemas import Ctx, Id, Page, ReasonIn

from . import selectors, services
from .models import ClaimCode
from .schemas import (
    ClaimCodeOut,
    ClaimIn,
    ClaimOrderIn,
    ClaimOrderOut,
    CodeFilters,
    OrderSummary,
    RevokeIn,
    TransferCodeIn,
)

router = Router(tags=["promotions"])  # the tag these routes were published under
CLAIM = {**WRITE, **errors(429)}


@router.post("/claim-orders", response={201: ClaimOrderOut, **WRITE})
@idempotent(perm=Perm.SELL)
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
            order=OrderSummary.of(made.order, ctx),
            codes=[ClaimCodeOut.of(i.code, ctx, i.plaintext) for i in made.codes],
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
    return ClaimCodeOut.of(selectors.get_claim_code(p.tenant, code_id), Ctx(p))


@router.post("/claim-codes/claim", response={200: ClaimCodeOut, **CLAIM})
def claim(request, payload: ClaimIn):
    """Claim a code for a patient: a bulk or gift code creates the package in their name; a transfer code moves
    its package to them. Refusals: claim_code_mistyped (422: a typo, caught by the check symbol),
    claim_code_unknown (404), claim_code_used / _revoked / _expired / _unpaid (409). Too many refusals from one
    caller, or at codes starting alike: 429 rate_limited with Retry-After."""
    p = caller(request)
    try:
        code = services.claim_code(
            tenant=p.tenant,
            actor=p.actor,
            code=payload.code,
            patient_id=payload.patient_id,
        )
    except RateLimited as exc:
        response = problem(
            status=429, code=exc.code, detail=exc.message, context={"retry_after": exc.context.get("retry_after")}
        )
        response["Retry-After"] = str(exc.context.get("retry_after", 60))
        return response
    return ClaimCodeOut.of(ClaimCode.objects.select_related("order_line").get(pk=code.pk), Ctx(p))


@router.post("/packages/{int:package_id}/transfer-code", response={201: ClaimCodeOut, **WRITE})
@idempotent(perm=Perm.TRANSFER)
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
@idempotent(perm=Perm.REFUND)
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
@idempotent(perm=Perm.SELL)
def reissue(request, code_id: Id, payload: ReasonIn):
    """A lost code: the same claim (and value) gets a new code, shown in this answer; the old code stops working."""
    p = caller(request)
    issued = services.reissue_claim_code(tenant=p.tenant, actor=p.actor, code_id=code_id, reason=payload.reason)
    return Status(200, ClaimCodeOut.of(issued.code, Ctx(p), issued.plaintext))
