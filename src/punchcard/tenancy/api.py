"""HTTP routes for centres, services, patients and the caller (thin: services and selectors do the work)."""

from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.roles import GRANTS, Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE, errors
from punchcard.kernel.schemas import Ctx, Id, Page, PageParams
from punchcard.tenancy.models import Centre, Patient, Service

from . import portal_links, selectors, services
from .schemas import (
    CentreIn,
    CentreOut,
    MeOut,
    PatientFilters,
    PatientIn,
    PatientOut,
    PatientPatch,
    PortalLinkIn,
    PortalLinkOut,
    PortalRevokeIn,
    PortalRevokeOut,
    ServiceIn,
    ServiceOut,
    ServicePatch,
    TenantOut,
)

router = Router(tags=["tenancy"])

CREATE = errors(401, 403, 409, 422)
UPDATE = errors(401, 403, 404, 422)
LIST = errors(401, 403, 422)


@router.get("/me", response={200: MeOut, **errors(401)}, summary="Who am I")
def me(request):
    """The tenant, role and permissions the presented credentials act with."""
    p = caller(request)
    t = p.tenant
    return MeOut(
        tenant=TenantOut(id=t.id, slug=t.slug, name=t.name, currency=t.currency, locale=t.locale),
        actor=p.actor.label,
        role=p.actor.role,
        source=p.actor.source,
        staff_id=p.actor.staff_id,
        permissions=sorted(str(perm) for perm in GRANTS.get(p.actor.role, ())),
    )


# ---------------------------------------------------------------- centres


@router.get("/centres", response={200: Page[CentreOut], **LIST})
def list_centres(request, params: Query[PageParams]):
    p = caller(request, Perm.READ)
    page = paginate(
        Centre.objects.filter(tenant=p.tenant), cursor=params.cursor, limit=params.limit, newest_first=False
    )
    return Page[CentreOut](items=[CentreOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/centres", response={201: CentreOut, **CREATE})
@idempotent(perm=Perm.ADMIN)
def create_centre(request, payload: CentreIn):
    """A new location of the tenant, with its own time zone (admin)."""
    p = caller(request)
    centre = services.create_centre(
        tenant=p.tenant, actor=p.actor, name=payload.name, code=payload.code, timezone=payload.timezone
    )
    return Status(201, CentreOut.of(centre))


# ---------------------------------------------------------------- services


@router.get("/services", response={200: Page[ServiceOut], **LIST})
def list_services(request, params: Query[PageParams]):
    p = caller(request, Perm.READ)
    ctx = Ctx(p)
    page = paginate(
        Service.objects.filter(tenant=p.tenant), cursor=params.cursor, limit=params.limit, newest_first=False
    )
    return Page[ServiceOut](items=[ServiceOut.of(s, ctx) for s in page.items], next_cursor=page.next_cursor)


@router.post("/services", response={201: ServiceOut, **CREATE})
@idempotent(perm=Perm.EDIT_CATALOGUE)
def create_service(request, payload: ServiceIn):
    p = caller(request)
    service = services.create_service(
        tenant=p.tenant,
        actor=p.actor,
        name=payload.name,
        code=payload.code,
        list_price=payload.list_price,
        delivery_cost=payload.delivery_cost,
    )
    return Status(201, ServiceOut.of(service, Ctx(p)))


@router.patch("/services/{service_id}", response={200: ServiceOut, **UPDATE})
def update_service(request, service_id: Id, payload: ServicePatch):
    """Change a service's name, prices or active flag; omitted fields stay as they are."""
    p = caller(request)
    service = services.update_service(
        tenant=p.tenant,
        actor=p.actor,
        service_id=service_id,
        name=payload.name,
        list_price=payload.list_price,
        delivery_cost=payload.delivery_cost,
        active=payload.active,
    )
    return ServiceOut.of(service, Ctx(p))


# ---------------------------------------------------------------- patients


@router.get("/patients", response={200: Page[PatientOut], **LIST})
def list_patients(request, filters: Query[PatientFilters]):
    p = caller(request, Perm.READ)
    qs = Patient.objects.filter(tenant=p.tenant)
    if filters.external_ref is not None:
        qs = qs.filter(external_ref=filters.external_ref)
    if filters.name:
        qs = qs.filter(name__icontains=filters.name)
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit)
    return Page[PatientOut](items=[PatientOut.of(x) for x in page.items], next_cursor=page.next_cursor)


@router.post("/patients", response={201: PatientOut, **CREATE})
@idempotent(perm=Perm.MANAGE_PATIENTS)
def create_patient(request, payload: PatientIn):
    p = caller(request)
    patient = services.create_patient(
        tenant=p.tenant,
        actor=p.actor,
        external_ref=payload.external_ref,
        name=payload.name,
        email=payload.email,
        phone=payload.phone,
    )
    return Status(201, PatientOut.of(patient))


@router.get("/patients/{patient_id}", response={200: PatientOut, **READ})
def get_patient(request, patient_id: Id):
    p = caller(request, Perm.READ)
    return PatientOut.of(selectors.patient(p.tenant, patient_id))


@router.patch("/patients/{patient_id}", response={200: PatientOut, **UPDATE})
def update_patient(request, patient_id: Id, payload: PatientPatch):
    p = caller(request)
    patient = services.update_patient(
        tenant=p.tenant,
        actor=p.actor,
        patient_id=patient_id,
        name=payload.name,
        email=payload.email,
        phone=payload.phone,
    )
    return PatientOut.of(patient)


# ---------------------------------------------------------------- portal links


@router.post("/patients/{patient_id}/portal-links", response={201: PortalLinkOut, **WRITE})
@idempotent(perm=Perm.MANAGE_PATIENTS)
def create_portal_link(request, patient_id: Id, payload: PortalLinkIn):
    """A signed link to the patient's portal (their packages, receipts, credit; buying and claiming), valid
    for `days`. Send it to the patient yourself; it opens only their pages."""
    p = caller(request)
    link = portal_links.create_portal_link(tenant=p.tenant, actor=p.actor, patient_id=patient_id, days=payload.days)
    return Status(201, PortalLinkOut.of(link, portal_links.url(link)))


@router.post("/patients/{patient_id}/portal-links/revoke", response={200: PortalRevokeOut, **WRITE})
@idempotent(perm=Perm.MANAGE_PATIENTS)
def revoke_portal_links(request, patient_id: Id, payload: PortalRevokeIn):
    """Every portal link of the patient stops opening now (and every portal page open with one)."""
    p = caller(request)
    revoked = portal_links.revoke_portal_links(
        tenant=p.tenant, actor=p.actor, patient_id=patient_id, reason=payload.reason
    )
    return PortalRevokeOut(patient_id=patient_id, revoked=revoked)
