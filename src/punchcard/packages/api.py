"""HTTP routes for packages: balances, redemptions, holds, voids, adjustments, expiry, closing, sharing,
transfer and history (SPEC §4–§7). Each write is one service call. The hot ones (redeem, hold, post,
release, void) answer from the row the service returned, which carries what the schema shows; the others
re-read the result."""

from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent, key_of
from punchcard.kernel.pagination import paginate
from punchcard.kernel.problems import READ, WRITE
from punchcard.kernel.schemas import Ctx, Id, Page, PageParams, ReasonIn, patient_ref
from punchcard.tenancy import selectors as tenancy_selectors
from punchcard.tenancy.models import Patient
from punchcard.tenancy.selectors import scoped_get

from . import selectors, services
from .models import Beneficiary, Hold
from .schemas import (
    AdjustIn,
    BeneficiaryIn,
    BeneficiaryOut,
    ExpiryChangeIn,
    HistoryEntryOut,
    HoldIn,
    HoldOut,
    PackageFilters,
    PackageOut,
    PackageSummaryOut,
    RedeemIn,
    RedemptionOut,
    ReleaseIn,
    TransferIn,
    TransferOut,
    UsageOut,
)

router = Router(tags=["packages"])


def _detail(p, package_id: int) -> PackageOut:
    package = selectors.package_detail(p.tenant, package_id)
    return PackageOut.of(selectors.summaries([package])[0], Ctx(p))


def _appointment(p, appointment_id: int | None):
    """The tenant's appointment a hold or redemption is for. Its model is the one the foreign key names
    ("appointments.Appointment"): this app imports nothing from the appointments app above it."""
    if appointment_id is None:
        return None
    appointment_model = Hold.appointment.field.related_model
    return scoped_get(appointment_model, tenant=p.tenant, pk=appointment_id, field="appointment_id")


# ---------------------------------------------------------------- reading


@router.get("/packages", response={200: Page[PackageSummaryOut], **READ})
def list_packages(request, filters: Query[PackageFilters]):
    """Packages, newest first, with their derived status and session totals.

    Status is derived from the ledger, the dates and the clock, so a status filter is applied per row
    after the database query; such a page can hold fewer than `limit` items (even none) while
    `next_cursor` is set — keep following it until it is null.
    """
    p = caller(request, Perm.READ)
    qs = selectors.filter_packages(
        p.tenant,
        patient=filters.patient,
        status=filters.status,
        centre=filters.centre,
        plan=filters.plan,
        purchased_from=filters.purchased_from,
        purchased_to=filters.purchased_to,
    )
    page = paginate(
        qs,
        cursor=filters.cursor,
        limit=filters.limit,
        prepare=selectors.summaries,
        keep=selectors.status_is(filters.status) if filters.status is not None else None,
    )
    ctx = Ctx(p)
    return Page[PackageSummaryOut](
        items=[PackageSummaryOut.of(s, ctx) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/packages/{package_id}", response={200: PackageOut, **READ})
def get_package(request, package_id: Id):
    """Balances per line (granted, redeemed, held, remaining, available), status, expiry, holder and
    beneficiaries."""
    p = caller(request, Perm.READ)
    return _detail(p, package_id)


@router.get("/packages/{package_id}/redemptions", response={200: Page[RedemptionOut], **READ})
def list_redemptions(request, package_id: Id, params: Query[PageParams]):
    """Every redemption of the package, voided ones included, newest first."""
    p = caller(request, Perm.READ)
    package = selectors.package_detail(p.tenant, package_id)
    ctx = Ctx(p)
    page = paginate(selectors.redemptions(p.tenant).filter(package=package), cursor=params.cursor, limit=params.limit)
    return Page[RedemptionOut](items=[RedemptionOut.of(r, ctx) for r in page.items], next_cursor=page.next_cursor)


@router.get("/packages/{package_id}/holds", response={200: Page[HoldOut], **READ})
def list_holds(request, package_id: Id, params: Query[PageParams]):
    """Every hold of the package (pending, posted, released), newest first."""
    p = caller(request, Perm.READ)
    package = selectors.package_detail(p.tenant, package_id)
    page = paginate(selectors.holds(p.tenant).filter(package=package), cursor=params.cursor, limit=params.limit)
    return Page[HoldOut](items=[HoldOut.of(h) for h in page.items], next_cursor=page.next_cursor)


@router.get("/packages/{package_id}/history", response={200: Page[HistoryEntryOut], **READ})
def get_history(request, package_id: Id, params: Query[PageParams]):
    """Every ledger entry, oldest first: what changed, who, when, from where, why, and what it covered."""
    p = caller(request, Perm.READ)
    package = selectors.package_detail(p.tenant, package_id)
    ctx = Ctx(p)
    page = paginate(selectors.history(package), cursor=params.cursor, limit=params.limit, newest_first=False)
    return Page[HistoryEntryOut](items=[HistoryEntryOut.of(e, ctx) for e in page.items], next_cursor=page.next_cursor)


@router.get("/packages/{package_id}/usage", response={200: list[UsageOut], **READ})
def get_usage(request, package_id: Id):
    """Sessions used per person (SPEC §7): the holder, current and former beneficiaries."""
    p = caller(request, Perm.READ)
    package = selectors.package_detail(p.tenant, package_id)
    used = selectors.usage_by_person(package)
    current = selectors.beneficiary_ids(package)
    people = set(used) | set(current) | {package.holder_id}
    patients = Patient.objects.filter(tenant=p.tenant, id__in=people).order_by("id")
    return [
        UsageOut(
            person=patient_ref(x),
            is_holder=x.id == package.holder_id,
            is_beneficiary=x.id in current,
            sessions=used.get(x.id, 0),
        )
        for x in patients
    ]


@router.get("/patients/{patient_id}/packages", response={200: Page[PackageSummaryOut], **READ})
def list_patient_packages(request, patient_id: Id, params: Query[PageParams]):
    """Packages the patient holds or currently shares as a beneficiary, newest first."""
    p = caller(request, Perm.READ)
    patient = tenancy_selectors.patient(p.tenant, patient_id)
    ctx = Ctx(p)
    page = paginate(
        selectors.patient_package_rows(p.tenant, patient),
        cursor=params.cursor,
        limit=params.limit,
        prepare=selectors.summaries,
    )
    return Page[PackageSummaryOut](
        items=[PackageSummaryOut.of(s, ctx) for s in page.items], next_cursor=page.next_cursor
    )


# ---------------------------------------------------------------- redemption and holds


@router.post("/packages/{package_id}/redemptions", response={201: RedemptionOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def redeem(request, package_id: Id, payload: RedeemIn):
    """Use sessions now (walk-in or manual). Every rule of SPEC §5 is checked at the centre's local date;
    a refusal names the rule (e.g. 409 insufficient_sessions, expired, out_of_scope)."""
    p = caller(request)
    redemption = services.redeem_session(
        tenant=p.tenant,
        actor=p.actor,
        package_id=package_id,
        service_id=payload.service_id,
        centre_id=payload.centre_id,
        person_id=payload.person_id,
        sessions=payload.sessions,
        practitioner_id=payload.practitioner_id,
        appointment=_appointment(p, payload.appointment_id),
        idempotency_key=key_of(request),
    )
    return Status(201, RedemptionOut.of(redemption, Ctx(p)))


@router.post("/redemptions/{redemption_id}/void", response={200: RedemptionOut, **WRITE})
@idempotent(perm=Perm.VOID)
def void_redemption(request, redemption_id: Id, payload: ReasonIn):
    """Reverse a redemption made in error, once: sessions and revenue restored; the acting staff member
    (or API key) is recorded as the approver."""
    p = caller(request)
    redemption = services.void_redemption(
        tenant=p.tenant, actor=p.actor, redemption_id=redemption_id, reason=payload.reason
    )
    return Status(200, RedemptionOut.of(redemption, Ctx(p)))


@router.post("/packages/{package_id}/holds", response={201: HoldOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def place_hold(request, package_id: Id, payload: HoldIn):
    """Reserve sessions for a booked appointment; the checks are made against its date."""
    p = caller(request)
    hold = services.place_hold(
        tenant=p.tenant,
        actor=p.actor,
        package_id=package_id,
        service_id=payload.service_id,
        centre_id=payload.centre_id,
        day=payload.day,
        backdate_reason=payload.backdate_reason,
        person_id=payload.person_id,
        sessions=payload.sessions,
        practitioner_id=payload.practitioner_id,
        appointment=_appointment(p, payload.appointment_id),
        idempotency_key=key_of(request),
    )
    return Status(201, HoldOut.of(hold))


@router.post("/holds/{hold_id}/post", response={200: RedemptionOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def post_hold(request, hold_id: Id):
    """Arrival: the hold becomes a redemption (posting twice answers with the same redemption)."""
    p = caller(request)
    redemption = services.post_hold(tenant=p.tenant, actor=p.actor, hold_id=hold_id)
    return Status(200, RedemptionOut.of(redemption, Ctx(p)))


@router.post("/holds/{hold_id}/release", response={200: HoldOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def release_hold(request, hold_id: Id, payload: ReleaseIn | None = None):
    """Cancellation or removal before arrival: the held sessions become available again."""
    p = caller(request)
    hold = services.release_hold(
        tenant=p.tenant, actor=p.actor, hold_id=hold_id, reason=payload.reason if payload else ""
    )
    return Status(200, HoldOut.of(hold))


# ---------------------------------------------------------------- corrections, expiry, closing


@router.post("/packages/{package_id}/adjustments", response={201: HistoryEntryOut, **WRITE})
@idempotent(perm=Perm.ADJUST)
def adjust(request, package_id: Id, payload: AdjustIn):
    """A manager's correction of one line's sessions, with a reason."""
    p = caller(request)
    entry = services.adjust_sessions(
        tenant=p.tenant,
        actor=p.actor,
        package_id=package_id,
        line_id=payload.line_id,
        delta=payload.delta,
        reason=payload.reason,
    )
    package = selectors.package_detail(p.tenant, package_id)
    return Status(201, HistoryEntryOut.of(selectors.history(package).get(pk=entry.pk), Ctx(p)))


@router.post("/packages/{package_id}/expiry", response={200: PackageOut, **WRITE})
@idempotent(perm=Perm.CHANGE_EXPIRY)
def change_expiry(request, package_id: Id, payload: ExpiryChangeIn):
    """Extend, shorten or clear (null) the package's last valid day, with a reason."""
    p = caller(request)
    services.change_expiry(
        tenant=p.tenant, actor=p.actor, package_id=package_id, expires_on=payload.expires_on, reason=payload.reason
    )
    return Status(200, _detail(p, package_id))


@router.post("/packages/{package_id}/complete", response={200: PackageOut, **WRITE})
@idempotent(perm=Perm.CLOSE)
def complete(request, package_id: Id, payload: ReasonIn):
    """Close early (e.g. the treatment plan changed); remaining sessions are forfeited."""
    p = caller(request)
    services.complete_package(tenant=p.tenant, actor=p.actor, package_id=package_id, reason=payload.reason)
    return Status(200, _detail(p, package_id))


@router.post("/packages/{package_id}/cancel", response={200: PackageOut, **WRITE})
@idempotent(perm=Perm.CLOSE)
def cancel(request, package_id: Id, payload: ReasonIn):
    """Cancel without a refund; remaining sessions are voided."""
    p = caller(request)
    services.cancel_package(tenant=p.tenant, actor=p.actor, package_id=package_id, reason=payload.reason)
    return Status(200, _detail(p, package_id))


# ---------------------------------------------------------------- sharing and transfer


@router.post("/packages/{package_id}/beneficiaries", response={201: BeneficiaryOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def add_beneficiary(request, package_id: Id, payload: BeneficiaryIn):
    """Share the package with another patient, up to the plan's maximum (which counts the holder)."""
    p = caller(request)
    beneficiary = services.add_beneficiary(
        tenant=p.tenant, actor=p.actor, package_id=package_id, patient_id=payload.patient_id
    )
    return Status(201, BeneficiaryOut.of(Beneficiary.objects.select_related("patient").get(pk=beneficiary.pk)))


@router.delete("/packages/{package_id}/beneficiaries/{patient_id}", response={200: BeneficiaryOut, **WRITE})
def remove_beneficiary(request, package_id: Id, patient_id: Id):
    """Stop sharing with a patient; their usage history stays."""
    p = caller(request)
    beneficiary = services.remove_beneficiary(
        tenant=p.tenant, actor=p.actor, package_id=package_id, patient_id=patient_id
    )
    return BeneficiaryOut.of(Beneficiary.objects.select_related("patient").get(pk=beneficiary.pk))


@router.post("/packages/{package_id}/transfer", response={201: TransferOut, **WRITE})
@idempotent(perm=Perm.TRANSFER)
def transfer(request, package_id: Id, payload: TransferIn):
    """Move the whole package (its remaining sessions) to another patient."""
    p = caller(request)
    record = services.transfer_package(
        tenant=p.tenant,
        actor=p.actor,
        package_id=package_id,
        to_patient_id=payload.to_patient_id,
        reason=payload.reason,
    )
    return Status(201, TransferOut.of(record))
