"""Admin routes: the tenant's settings, its centres, staff and roles, and API keys, so an admin never needs
the shell. Every route needs the admin permission (reads included: they show who may do what)."""

from ninja import Path, Query, Router
from ninja.responses import Status

from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import errors
from punchcard.kernel.schemas import Id, Page, PageParams
from punchcard.tenancy.models import ApiKey, StaffMember

from . import onboarding, services, staffing
from .admin_schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    CentrePatch,
    DeactivateIn,
    StaffIn,
    StaffOut,
    StaffPatch,
    TenantPatch,
    TenantSettingsOut,
)
from .schemas import CentreOut

router = Router(tags=["admin"])

READ = errors(401, 403, 422)
CHANGE = errors(401, 403, 404, 409, 422)
PREFIX = Path(..., pattern=r"^pc_[0-9a-f]{8}$", description="the key's prefix, e.g. pc_1a2b3c4d")


# ---------------------------------------------------------------- the tenant's settings


@router.get("/tenant", response={200: TenantSettingsOut, **READ}, summary="The tenant's settings")
def get_tenant(request):
    p = caller(request, Perm.ADMIN)
    return TenantSettingsOut.of(p.tenant)


@router.patch("/tenant", response={200: TenantSettingsOut, **CHANGE}, summary="Change the tenant's settings")
def update_tenant(request, payload: TenantPatch):
    """Name, locale and the books' time zone; omitted fields stay as they are. The currency never changes."""
    p = caller(request)
    tenant = onboarding.update_tenant(
        tenant=p.tenant, actor=p.actor, name=payload.name, locale=payload.locale, time_zone=payload.time_zone
    )
    return TenantSettingsOut.of(tenant)


@router.patch("/centres/{centre_id}", response={200: CentreOut, **CHANGE}, summary="Rename a centre or move its zone")
def update_centre(request, centre_id: Id, payload: CentrePatch):
    p = caller(request)
    centre = onboarding.update_centre(
        tenant=p.tenant, actor=p.actor, centre_id=centre_id, name=payload.name, timezone=payload.timezone
    )
    return CentreOut.of(centre)


# ---------------------------------------------------------------- staff and roles


@router.get("/staff", response={200: Page[StaffOut], **READ}, summary="Staff members")
def list_staff(request, params: Query[PageParams]):
    p = caller(request, Perm.ADMIN)
    qs = StaffMember.objects.filter(tenant=p.tenant).select_related("user")
    page = paginate(qs, cursor=params.cursor, limit=params.limit, newest_first=False)
    return Page[StaffOut](items=[StaffOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.post("/staff", response={201: StaffOut, **CHANGE}, summary="Add a staff member (and their login)")
@idempotent(perm=Perm.ADMIN)
def create_staff(request, payload: StaffIn):
    """With an email, a login whose username is the email (and the password, if given)."""
    p = caller(request)
    member = services.create_staff_member(
        tenant=p.tenant,
        actor=p.actor,
        name=payload.name,
        role=payload.role.value,
        is_practitioner=payload.is_practitioner,
        email=payload.email,
        password=payload.password,
    )
    return Status(201, StaffOut.of(member))


@router.patch("/staff/{staff_id}", response={200: StaffOut, **CHANGE}, summary="Change a role, name or flag")
def update_staff(request, staff_id: Id, payload: StaffPatch):
    p = caller(request)
    member = staffing.update_staff_member(
        tenant=p.tenant,
        actor=p.actor,
        staff_id=staff_id,
        role=payload.role.value if payload.role else None,
        name=payload.name,
        is_practitioner=payload.is_practitioner,
    )
    return StaffOut.of(member)


@router.post("/staff/{staff_id}/deactivate", response={200: StaffOut, **CHANGE}, summary="A staff member leaves")
def deactivate_staff(request, staff_id: Id, payload: DeactivateIn):
    """Their login stops at once; what they sold and delivered stays credited to them."""
    p = caller(request)
    member = staffing.deactivate_staff_member(tenant=p.tenant, actor=p.actor, staff_id=staff_id, reason=payload.reason)
    return StaffOut.of(member)


# ---------------------------------------------------------------- API keys


@router.get("/api-keys", response={200: Page[ApiKeyOut], **READ}, summary="API keys")
def list_api_keys(request, params: Query[PageParams]):
    """Every key of the tenant, revoked ones included (never their secrets)."""
    p = caller(request, Perm.ADMIN)
    page = paginate(ApiKey.objects.filter(tenant=p.tenant), cursor=params.cursor, limit=params.limit)
    return Page[ApiKeyOut](items=[ApiKeyOut.of(k) for k in page.items], next_cursor=page.next_cursor)


@router.post("/api-keys", response={201: ApiKeyCreated, **CHANGE}, summary="Create an API key")
def create_api_key(request, payload: ApiKeyIn):
    """The secret is in this response only; it is never stored (and never replayed), so keep it now."""
    p = caller(request)
    key, secret = services.create_api_key(tenant=p.tenant, actor=p.actor, name=payload.name, role=payload.role.value)
    return Status(201, ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), secret=secret))


@router.post("/api-keys/{prefix}/revoke", response={200: ApiKeyOut, **CHANGE}, summary="Revoke an API key")
def revoke_api_key(request, prefix: str = PREFIX):
    """Requests with the key get 401 from now on. Revoking a revoked key changes nothing."""
    p = caller(request)
    return ApiKeyOut.of(services.revoke_api_key(tenant=p.tenant, actor=p.actor, prefix=prefix))
