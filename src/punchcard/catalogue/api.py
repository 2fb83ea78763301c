"""HTTP routes for the catalogue: plans and their versions (SPEC §2)."""

from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE, errors
from punchcard.kernel.schemas import Ctx, Id, Page

from . import selectors, services
from .schemas import PlanDetailOut, PlanFilters, PlanIn, PlanOnlineIn, PlanOut, PlanStatusIn, TermsIn

router = Router(tags=["catalogue"])


@router.get("/plans", response={200: Page[PlanOut], **errors(401, 403, 422)})
def list_plans(request, filters: Query[PlanFilters]):
    """Plans with their current terms, oldest first."""
    p = caller(request, Perm.READ)
    qs = selectors.plans(p.tenant)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit, newest_first=False)
    ctx = Ctx(p)
    return Page[PlanOut](items=[PlanOut.of(plan, ctx) for plan in page.items], next_cursor=page.next_cursor)


@router.get("/plans/{plan_id}", response={200: PlanDetailOut, **READ})
def get_plan(request, plan_id: Id):
    """A plan with every version and its entitlement lines."""
    p = caller(request, Perm.READ)
    return PlanDetailOut.of(selectors.plan(p.tenant, plan_id), Ctx(p))


@router.post("/plans", response={201: PlanDetailOut, **WRITE})
@idempotent(perm=Perm.EDIT_CATALOGUE)
def create_plan(request, payload: PlanIn):
    p = caller(request)
    version = services.create_plan(
        tenant=p.tenant, actor=p.actor, code=payload.code, terms=payload.terms(), status=payload.status.value
    )
    return Status(201, PlanDetailOut.of(selectors.plan(p.tenant, version.plan_id), Ctx(p)))


@router.put("/plans/{plan_id}", response={200: PlanDetailOut, **WRITE})
def edit_plan(request, plan_id: Id, payload: TermsIn):
    """New terms for a plan. If the current version was sold, a new version is made and sold packages
    keep theirs; an unsold version is rewritten in place."""
    p = caller(request)
    services.edit_plan(tenant=p.tenant, actor=p.actor, plan_id=plan_id, terms=payload.terms())
    return PlanDetailOut.of(selectors.plan(p.tenant, plan_id), Ctx(p))


@router.post("/plans/{plan_id}/status", response={200: PlanDetailOut, **WRITE})
@idempotent(perm=Perm.EDIT_CATALOGUE)
def set_plan_status(request, plan_id: Id, payload: PlanStatusIn):
    """Draft, on sale or retired."""
    p = caller(request)
    services.set_plan_status(tenant=p.tenant, actor=p.actor, plan_id=plan_id, status=payload.status.value)
    return Status(200, PlanDetailOut.of(selectors.plan(p.tenant, plan_id), Ctx(p)))


@router.post("/plans/{plan_id}/online", response={200: PlanDetailOut, **WRITE})
@idempotent(perm=Perm.EDIT_CATALOGUE)
def set_plan_online(request, plan_id: Id, payload: PlanOnlineIn):
    """Whether patients may buy the plan themselves in the portal (while it is on sale)."""
    p = caller(request)
    services.set_plan_online(tenant=p.tenant, actor=p.actor, plan_id=plan_id, online=payload.online)
    return Status(200, PlanDetailOut.of(selectors.plan(p.tenant, plan_id), Ctx(p)))
