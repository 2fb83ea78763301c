"""HTTP routes for memberships (SPEC §10): tier groups, plans and their versions, subscribing, pausing and
cancelling, invoices."""

from django.http import HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from punchcard.catalogue.schemas import PlanStatusIn
from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.html import page_with_inline_styles
from punchcard.kernel.idempotency import idempotent, key_of
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE, errors
from punchcard.kernel.schemas import Ctx, Id, Page, PageParams

from . import documents, selectors, services
from .schemas import (
    CancelIn,
    InvoiceOut,
    InvoicePaymentIn,
    MembershipChangeIn,
    MembershipChangeOut,
    MembershipFilters,
    MembershipIn,
    MembershipOut,
    MembershipPlanFilters,
    MembershipPlanIn,
    MembershipPlanOut,
    MembershipTermsIn,
    PauseRequestIn,
    TierGroupIn,
    TierGroupOut,
)

router = Router(tags=["memberships"])


# ---------------------------------------------------------------- tier groups


@router.post("/tier-groups", response={201: TierGroupOut, **WRITE})
@idempotent(perm=Perm.MANAGE_MEMBERSHIP_PLANS)
def create_tier_group(request, payload: TierGroupIn):
    """A tier group (Gold / Platinum / VIP): its plans rank against each other."""
    p = caller(request)
    group = services.create_tier_group(tenant=p.tenant, actor=p.actor, code=payload.code, name=payload.name)
    return Status(201, TierGroupOut.of(selectors.tier_group(p.tenant, group.id)))


@router.get("/tier-groups", response={200: Page[TierGroupOut], **errors(401, 403, 422)})
def list_tier_groups(request, params: Query[PageParams]):
    p = caller(request, Perm.READ)
    page = paginate(selectors.tier_groups(p.tenant), cursor=params.cursor, limit=params.limit, newest_first=False)
    return Page[TierGroupOut](items=[TierGroupOut.of(g) for g in page.items], next_cursor=page.next_cursor)


@router.get("/tier-groups/{tier_group_id}", response={200: TierGroupOut, **READ})
def get_tier_group(request, tier_group_id: Id):
    p = caller(request, Perm.READ)
    return TierGroupOut.of(selectors.tier_group(p.tenant, tier_group_id))


# ---------------------------------------------------------------- plans


@router.post("/membership-plans", response={201: MembershipPlanOut, **WRITE})
@idempotent(perm=Perm.MANAGE_MEMBERSHIP_PLANS)
def create_membership_plan(request, payload: MembershipPlanIn):
    """A membership plan and its first version: prices per frequency, benefits per period, trial, policies."""
    p = caller(request)
    version = services.create_membership_plan(
        tenant=p.tenant,
        actor=p.actor,
        code=payload.code,
        terms=payload.terms(),
        tier_group_id=payload.tier_group_id,
        rank=payload.rank,
        status=payload.status.value,
    )
    return Status(201, MembershipPlanOut.of(selectors.membership_plan(p.tenant, version.plan_id), Ctx(p)))


@router.get("/membership-plans", response={200: Page[MembershipPlanOut], **errors(401, 403, 422)})
def list_membership_plans(request, filters: Query[MembershipPlanFilters]):
    p = caller(request, Perm.READ)
    qs = selectors.membership_plans(p.tenant)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit, newest_first=False)
    ctx = Ctx(p)
    return Page[MembershipPlanOut](
        items=[MembershipPlanOut.of(x, ctx) for x in page.items], next_cursor=page.next_cursor
    )


@router.get("/membership-plans/{membership_plan_id}", response={200: MembershipPlanOut, **READ})
def get_membership_plan(request, membership_plan_id: Id):
    p = caller(request, Perm.READ)
    return MembershipPlanOut.of(selectors.membership_plan(p.tenant, membership_plan_id), Ctx(p))


@router.put("/membership-plans/{membership_plan_id}", response={200: MembershipPlanOut, **WRITE})
def edit_membership_plan(request, membership_plan_id: Id, payload: MembershipTermsIn):
    """New terms: always a new immutable version; memberships keep the version they subscribed to."""
    p = caller(request)
    services.edit_membership_plan(tenant=p.tenant, actor=p.actor, plan_id=membership_plan_id, terms=payload.terms())
    return MembershipPlanOut.of(selectors.membership_plan(p.tenant, membership_plan_id), Ctx(p))


@router.post("/membership-plans/{membership_plan_id}/status", response={200: MembershipPlanOut, **WRITE})
@idempotent(perm=Perm.MANAGE_MEMBERSHIP_PLANS)
def set_membership_plan_status(request, membership_plan_id: Id, payload: PlanStatusIn):
    """Draft, on sale or retired (retired: no new members; existing ones carry on)."""
    p = caller(request)
    services.set_membership_plan_status(
        tenant=p.tenant, actor=p.actor, plan_id=membership_plan_id, status=payload.status.value
    )
    return Status(200, MembershipPlanOut.of(selectors.membership_plan(p.tenant, membership_plan_id), Ctx(p)))


# ---------------------------------------------------------------- memberships


def _out(membership, p) -> MembershipOut:
    return MembershipOut.of(membership, selectors.standing(membership), Ctx(p))


@router.post("/memberships", response={201: MembershipOut, **WRITE})
@idempotent(perm=Perm.SELL_MEMBERSHIP)
def subscribe(request, payload: MembershipIn):
    """Subscribe a patient: today (the first period is invoiced at once, charged to the stored method by the
    worker within seconds), or on a later day (`scheduled`). A free trial has no invoice."""
    p = caller(request)
    membership = services.subscribe(
        tenant=p.tenant,
        actor=p.actor,
        patient_id=payload.patient_id,
        plan_id=payload.plan_id,
        frequency=payload.frequency.value,
        centre_id=payload.centre_id,
        start_date=payload.start_date,
        payment_method_id=payload.payment_method_id,
        idempotency_key=key_of(request),
    )
    return Status(201, _out(selectors.membership(p.tenant, membership.id), p))


@router.get("/memberships", response={200: Page[MembershipOut], **errors(401, 403, 422)})
def list_memberships(request, filters: Query[MembershipFilters]):
    """Memberships, newest first; `patient_id` and `status` narrow the list."""
    p = caller(request, Perm.READ)
    qs = selectors.memberships(p.tenant)
    if filters.patient_id is not None:
        qs = qs.filter(patient_id=filters.patient_id)
    if filters.status is not None:
        qs = qs.filter(status=filters.status.value)
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit)
    return Page[MembershipOut](items=[_out(m, p) for m in page.items], next_cursor=page.next_cursor)


@router.get("/memberships/{membership_id}", response={200: MembershipOut, **READ})
def get_membership(request, membership_id: Id):
    """Status, the current period, the next billing date and amount, what is owed."""
    p = caller(request, Perm.READ)
    return _out(selectors.membership(p.tenant, membership_id), p)


@router.post("/memberships/{membership_id}/pause", response={200: MembershipOut, **WRITE})
@idempotent(perm=Perm.SELL_MEMBERSHIP)
def pause_membership(request, membership_id: Id, payload: PauseRequestIn):
    """Pause from today for `months` or `until` a day, within the plan's pause rules: no invoice while
    paused, the next billing date moves by the pause, and it resumes by itself on its resume day."""
    p = caller(request)
    services.pause(
        tenant=p.tenant,
        actor=p.actor,
        membership_id=membership_id,
        months=payload.months,
        until=payload.until,
        idempotency_key=key_of(request),
    )
    return Status(200, _out(selectors.membership(p.tenant, membership_id), p))


@router.post("/memberships/{membership_id}/resume", response={200: MembershipOut, **WRITE})
@idempotent(perm=Perm.SELL_MEMBERSHIP)
def resume_membership(request, membership_id: Id):
    """Resume a paused membership today: the days of the pause not used come off the next billing date."""
    p = caller(request)
    services.resume(tenant=p.tenant, actor=p.actor, membership_id=membership_id)
    return Status(200, _out(selectors.membership(p.tenant, membership_id), p))


@router.post("/memberships/{membership_id}/cancel", response={200: MembershipOut, **WRITE})
@idempotent(perm=Perm.SELL_MEMBERSHIP)
def cancel_membership(request, membership_id: Id, payload: CancelIn):
    """Cancel now or at the period end (not given: the plan's policy), honouring the notice period and the
    minimum commitment; `refund_unused` (now only, a manager's) gives the unused days back as credit."""
    p = caller(request)
    services.cancel(
        tenant=p.tenant,
        actor=p.actor,
        membership_id=membership_id,
        when=payload.when.value if payload.when else None,
        refund_unused=payload.refund_unused,
        reason=payload.reason,
    )
    return Status(200, _out(selectors.membership(p.tenant, membership_id), p))


@router.post("/memberships/{membership_id}/keep", response={200: MembershipOut, **WRITE})
@idempotent(perm=Perm.SELL_MEMBERSHIP)
def keep_membership(request, membership_id: Id):
    """Withdraw a cancellation at the period end: the membership renews as before."""
    p = caller(request)
    services.keep(tenant=p.tenant, actor=p.actor, membership_id=membership_id)
    return Status(200, _out(selectors.membership(p.tenant, membership_id), p))


@router.get("/memberships/{membership_id}/invoices", response={200: Page[InvoiceOut], **READ})
def list_invoices(request, membership_id: Id, params: Query[PageParams]):
    p = caller(request, Perm.READ)
    membership = selectors.membership(p.tenant, membership_id)
    qs = selectors.invoices(p.tenant).filter(membership=membership)
    page = paginate(qs, cursor=params.cursor, limit=params.limit)
    ctx = Ctx(p)
    return Page[InvoiceOut](items=[InvoiceOut.of(i, ctx) for i in page.items], next_cursor=page.next_cursor)


@router.post("/memberships/{membership_id}/change-preview", response={200: MembershipChangeOut, **WRITE})
def preview_change(request, membership_id: Id, payload: MembershipChangeIn):
    """What a change of plan or frequency would produce — the invoice lines, the credit for the unused part,
    the sessions — writing nothing: exactly what `…/change` with the same body does today."""
    p = caller(request, Perm.SELL_MEMBERSHIP)
    quote = services.preview_change(
        tenant=p.tenant,
        actor=p.actor,
        membership_id=membership_id,
        plan_id=payload.plan_id,
        frequency=payload.frequency.value if payload.frequency else None,
        effective=payload.effective.value if payload.effective else None,
    )
    return MembershipChangeOut.of_quote(selectors.membership(p.tenant, membership_id), quote, Ctx(p))


@router.post("/memberships/{membership_id}/change", response={201: MembershipChangeOut, **WRITE})
@idempotent(perm=Perm.SELL_MEMBERSHIP)
def change_membership(request, membership_id: Id, payload: MembershipChangeIn):
    """Upgrade, downgrade (by rank in the tier group) or change frequency: now, prorated by whole days (a
    credit for the unused part, a charge for the rest at the new plan), or at the period end."""
    p = caller(request)
    change = services.change_membership(
        tenant=p.tenant,
        actor=p.actor,
        membership_id=membership_id,
        plan_id=payload.plan_id,
        frequency=payload.frequency.value if payload.frequency else None,
        effective=payload.effective.value if payload.effective else None,
        idempotency_key=key_of(request),
    )
    return Status(201, MembershipChangeOut.of_change(selectors.change(p.tenant, change.id), Ctx(p)))


# ---------------------------------------------------------------- invoices


@router.get("/invoices/{int:invoice_id}", response={200: InvoiceOut, **READ})
def get_invoice(request, invoice_id: Id):
    p = caller(request, Perm.READ)
    return InvoiceOut.of(selectors.invoice(p.tenant, invoice_id), Ctx(p))


@router.get(
    "/invoices/{int:invoice_id}/html",
    response=READ,
    openapi_extra={
        "responses": {
            200: {
                "description": "The invoice as an HTML page",
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        }
    },
)
def invoice_html(request, invoice_id: Id):
    p = caller(request, Perm.READ)
    return page_with_inline_styles(documents.render_html(selectors.invoice(p.tenant, invoice_id)))


@router.get(
    "/invoices/{int:invoice_id}/pdf",
    response=READ,
    openapi_extra={
        "responses": {
            200: {
                "description": "The invoice as a PDF document",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def invoice_pdf(request, invoice_id: Id):
    p = caller(request, Perm.READ)
    invoice = selectors.invoice(p.tenant, invoice_id)
    response = HttpResponse(documents.render_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invoice-{invoice.number:06d}.pdf"'
    return response


@router.post("/invoices/{int:invoice_id}/payments", response={201: InvoiceOut, **WRITE})
@idempotent(perm=Perm.SELL_MEMBERSHIP)
def pay_invoice(request, invoice_id: Id, payload: InvoicePaymentIn):
    """The front desk's payment of an open invoice (cash, card, transfer, the patient's credit); paid in
    full, it brings a past-due or suspended membership back to active."""
    p = caller(request)
    services.pay_invoice(
        tenant=p.tenant,
        actor=p.actor,
        invoice_id=invoice_id,
        method=payload.method.value,
        amount=payload.amount,
        reference=payload.reference,
        idempotency_key=key_of(request),
    )
    return Status(201, InvoiceOut.of(selectors.invoice(p.tenant, invoice_id), Ctx(p)))
