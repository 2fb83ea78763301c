"""HTTP routes for appointments (SPEC §5, §12): booking with the package pre-selected, applying and
removing it, arrival, reschedule, no-shows, cancellation, the patient's appointment charges, and the
scheduling system's event intake (our JSON and FHIR Appointment R4/R5).

Mount with `api.add_router("", router)` in punchcard.api.router (paths below are absolute).
Each write is one service call; the response re-reads the appointment.
"""

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.idempotency import idempotent
from punchcard.kernel.pagination import paginate
from punchcard.kernel.parsing import loads
from punchcard.kernel.problems import READ, WRITE, domain_error, errors
from punchcard.kernel.schemas import Ctx, Id, Page, patient_ref, ref
from punchcard.tenancy.models import Patient, StaffMember
from punchcard.tenancy.selectors import scoped_get

from . import events as intake
from . import fhir, retry, selectors, services
from .models import AppointmentEvent
from .schemas import (
    FHIR_EVENT_BODY,
    JSON_EVENT_BODY,
    ApplyPackageIn,
    AppointmentEventOut,
    AppointmentFilters,
    AppointmentOut,
    BookIn,
    ChargeOut,
    CommissionFilters,
    CommissionRateIn,
    CommissionTotalOut,
    EventFilters,
    NoShowFeeOut,
    NoShowIn,
    NoShowSettingsIn,
    NoShowSettingsOut,
    PatientChargesOut,
    PractitionerIn,
    ReasonOptionalIn,
    ReasonRequiredIn,
    RescheduleIn,
)

router = Router(tags=["appointments"])
events_router = Router(tags=["appointment events"])
router.add_router("", events_router)

MAX_EVENT_BYTES = 256 * 1024


def _out(p, appointment_id: int) -> AppointmentOut:
    return AppointmentOut.of(selectors.view(selectors.get_appointment(p.tenant, appointment_id)), Ctx(p))


# ---------------------------------------------------------------- reading


@router.get("/appointments", response={200: Page[AppointmentOut], **READ})
def list_appointments(request, filters: Query[AppointmentFilters]):
    """Appointments, newest first; filter by patient (or beneficiary), status or the scheduler's id."""
    p = caller(request, Perm.READ)
    qs = selectors.appointments(p.tenant, patient_id=filters.patient, status=filters.status)
    if filters.external_id:
        qs = qs.filter(external_id=filters.external_id)
    page = paginate(qs, cursor=filters.cursor, limit=filters.limit, prepare=selectors.views)
    ctx = Ctx(p)
    return Page[AppointmentOut](items=[AppointmentOut.of(v, ctx) for v in page.items], next_cursor=page.next_cursor)


@router.get("/appointments/{appointment_id}", response={200: AppointmentOut, **READ})
def get_appointment(request, appointment_id: Id):
    """The appointment with its package (held or redeemed), its charges and what is left to collect."""
    p = caller(request, Perm.READ)
    return _out(p, appointment_id)


@router.get("/patients/{patient_id}/appointment-charges", response={200: PatientChargesOut, **READ})
def patient_charges(request, patient_id: Id):
    """Co-pays and no-show fees charged to the patient (reversed ones included, flagged)."""
    p = caller(request, Perm.READ)
    patient = scoped_get(Patient, tenant=p.tenant, pk=patient_id, field="patient_id")
    ctx = Ctx(p)
    return PatientChargesOut(
        patient=patient_ref(patient),
        total_to_collect=ctx.money(selectors.patient_charges_total(p.tenant, patient.id)),
        charges=[ChargeOut.of(c, ctx) for c in selectors.patient_charges(p.tenant, patient.id)],
    )


@router.get("/commissions", response={200: list[CommissionTotalOut], **READ})
def commission_totals(request, filters: Query[CommissionFilters]):
    """Live commission per staff member for a period (sales credited to them, or sessions they delivered)."""
    p = caller(request, Perm.READ_MONEY)
    totals = selectors.commission_by_staff(p.tenant, date_from=filters.date_from, date_to=filters.date_to)
    staff = {s.id: s for s in StaffMember.objects.filter(tenant=p.tenant, id__in=totals)}
    ctx = Ctx(p)
    return [
        CommissionTotalOut(staff=ref(staff[sid]), amount=ctx.money(amount)) for sid, amount in sorted(totals.items())
    ]


# ---------------------------------------------------------------- booking and the package


@router.post("/appointments", response={201: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def book(request, payload: BookIn):
    """Book an appointment. With package_id 'auto' the patient's package is pre-selected (soonest expiry first,
    no expiry last, then the oldest; own packages and shared ones) and a hold placed for the appointment's
    local date, every check made at that date. The same external_id with the same details answers the first
    booking; with different details, 409 idempotency_conflict."""
    p = caller(request)
    appointment = services.book_appointment(
        tenant=p.tenant,
        actor=p.actor,
        external_id=payload.external_id,
        patient_id=payload.patient_id,
        service_id=payload.service_id,
        centre_id=payload.centre_id,
        start=payload.start,
        end=payload.end,
        practitioner_id=payload.practitioner_id,
        beneficiary_id=payload.beneficiary_id,
        package_id=payload.package_id,
        backdate_reason=payload.backdate_reason,
    )
    return Status(201, _out(p, appointment.id))


@router.post("/appointments/{appointment_id}/package", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def apply_package(request, appointment_id: Id, payload: ApplyPackageIn):
    """Apply a package before arrival ('auto' or an id); a different package already held is swapped.
    A refusal names the rule and changes nothing."""
    p = caller(request)
    services.apply_package(tenant=p.tenant, actor=p.actor, appointment_id=appointment_id, package_id=payload.package_id)
    return Status(200, _out(p, appointment_id))


@router.post("/appointments/{appointment_id}/package/remove", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def remove_package(request, appointment_id: Id, payload: ReasonOptionalIn):
    """Take the package off before arrival (the hold is released). After arrival: 409 package_not_removable
    (a manager undoes the arrival, which voids the redemption)."""
    p = caller(request)
    services.remove_package(tenant=p.tenant, actor=p.actor, appointment_id=appointment_id, reason=payload.reason)
    return Status(200, _out(p, appointment_id))


# ---------------------------------------------------------------- the visit


@router.post("/appointments/{appointment_id}/arrive", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def arrive(request, appointment_id: Id):
    """The patient arrived: the hold becomes a redemption; the line's patient-pays amount (if not 0) becomes a
    charge; commission is credited when due. Repeating it changes nothing."""
    p = caller(request)
    services.arrive(tenant=p.tenant, actor=p.actor, appointment_id=appointment_id)
    return Status(200, _out(p, appointment_id))


@router.post("/appointments/{appointment_id}/undo-arrival", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.VOID)
def undo_arrival(request, appointment_id: Id, payload: ReasonRequiredIn):
    """Manager: the arrival was a mistake. The redemption is voided (sessions, revenue, co-pay and commission
    reversed) and the appointment is booked again with its package held."""
    p = caller(request)
    services.undo_arrival(tenant=p.tenant, actor=p.actor, appointment_id=appointment_id, reason=payload.reason)
    return Status(200, _out(p, appointment_id))


@router.post("/appointments/{appointment_id}/cancel", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def cancel(request, appointment_id: Id, payload: ReasonOptionalIn):
    """Cancel: the hold is released. After arrival: 409 package_not_removable."""
    p = caller(request)
    services.cancel_appointment(tenant=p.tenant, actor=p.actor, appointment_id=appointment_id, reason=payload.reason)
    return Status(200, _out(p, appointment_id))


@router.post("/appointments/{appointment_id}/reschedule", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def reschedule(request, appointment_id: Id, payload: RescheduleIn):
    """Move a booked appointment (and optionally its centre). The held package is re-checked at the new local
    date: past expiry, out of scope, a blackout date or a usage cap answer 409 reschedule_refused (context.rule
    names the rule) and nothing changes — remove the package or change its expiry first."""
    p = caller(request)
    services.reschedule_appointment(
        tenant=p.tenant,
        actor=p.actor,
        appointment_id=appointment_id,
        start=payload.start,
        end=payload.end,
        centre_id=payload.centre_id,
    )
    return Status(200, _out(p, appointment_id))


@router.post("/appointments/{appointment_id}/practitioner", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def change_practitioner(request, appointment_id: Id, payload: PractitionerIn):
    """Who treats the patient (the redemption, and its commission, follow)."""
    p = caller(request)
    services.change_practitioner(
        tenant=p.tenant, actor=p.actor, appointment_id=appointment_id, practitioner_id=payload.practitioner_id
    )
    return Status(200, _out(p, appointment_id))


@router.post("/appointments/{appointment_id}/no-show", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def no_show(request, appointment_id: Id, payload: NoShowIn):
    """Record a no-show: 'redeem' uses a session (billed exactly like an arrival) or 'fee' releases the hold
    and charges a configured no-show fee. Omitted: the tenant's default."""
    p = caller(request)
    services.record_no_show(
        tenant=p.tenant, actor=p.actor, appointment_id=appointment_id, option=payload.option, fee_code=payload.fee_code
    )
    return Status(200, _out(p, appointment_id))


@router.post("/appointments/{appointment_id}/no-show/undo", response={200: AppointmentOut, **WRITE})
@idempotent(perm=Perm.REDEEM)
def undo_no_show(request, appointment_id: Id, payload: ReasonOptionalIn):
    """Undo the no-show choice (the redemption voided — a manager's void — or the fee reversed); the appointment
    is booked again with its package held, ready for another choice."""
    p = caller(request)
    services.undo_no_show(tenant=p.tenant, actor=p.actor, appointment_id=appointment_id, reason=payload.reason)
    return Status(200, _out(p, appointment_id))


# ---------------------------------------------------------------- tenant settings


def _no_show_out(p) -> NoShowSettingsOut:
    settings = selectors.no_show_settings(p.tenant)
    ctx = Ctx(p)
    return NoShowSettingsOut(
        fees=[NoShowFeeOut(code=f.code, name=f.name, amount=ctx.money(f.amount)) for f in settings.fees],
        default_option=settings.default_option,
        default_fee_code=settings.default_fee_code,
    )


@router.get("/settings/no-show-fees", response={200: NoShowSettingsOut, **errors(401, 403)})
def get_no_show_fees(request):
    p = caller(request, Perm.READ)
    return _no_show_out(p)


@router.put("/settings/no-show-fees", response={200: NoShowSettingsOut, **errors(401, 403, 422)})
def put_no_show_fees(request, payload: NoShowSettingsIn):
    """Admin: the tenant's no-show fees, the default choice for automatic no-show events, the default fee."""
    p = caller(request)
    services.configure_no_show_fees(
        tenant=p.tenant,
        actor=p.actor,
        fees=[f.dict() for f in payload.fees],
        default_option=payload.default_option,
        default_fee_code=payload.default_fee_code,
    )
    return _no_show_out(p)


@router.put("/settings/commission-rate", response={200: CommissionRateIn, **errors(401, 403, 422)})
def put_commission_rate(request, payload: CommissionRateIn):
    """Admin: commission in basis points of the sale (credited staff) or of each session's value."""
    p = caller(request)
    services.set_commission_rate(tenant=p.tenant, actor=p.actor, rate_bp=payload.rate_bp)
    return CommissionRateIn(rate_bp=payload.rate_bp)


# ---------------------------------------------------------------- event intake

EVENT_RESPONSES = {200: AppointmentEventOut, 201: AppointmentEventOut, **WRITE}


def _event_reply(request: HttpRequest, ingest) -> Status:
    """201 accepted, 200 duplicate; a refusal is a problem whose context.event_id names the kept event.

    The refusal is answered, not raised: the kept (rejected) event must commit even under the
    Idempotency-Key transaction.
    """
    try:
        event = ingest()
    except DomainError as error:
        return domain_error(request, error)
    return Status(201 if event.status == "accepted" else 200, AppointmentEventOut.of(event))


def _body(request: HttpRequest):
    if len(request.body) > MAX_EVENT_BYTES:
        raise InvalidInput(f"an event is at most {MAX_EVENT_BYTES} bytes", field="body")
    try:
        return loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return request.body.decode("utf-8", "replace")  # kept as text; parsing refuses it


def _fhir_version(request: HttpRequest) -> str | None:
    version = request.GET.get("fhirVersion") or request.content_params.get("fhirVersion")
    return version[:16] if version else None


@events_router.post("/appointment-events", response=EVENT_RESPONSES, openapi_extra={"requestBody": JSON_EVENT_BODY})
@idempotent(perm=Perm.REDEEM)
def post_event(request):
    """A status event from the scheduling system (booked, rescheduled, arrived, no-show, cancelled). Applied
    once: a repeat answers 200 with status 'duplicate'. A refusal (e.g. 422 unknown_reference) is kept for
    review: GET /appointment-events?status=rejected, then POST /appointment-events/{id}/retry."""
    p = caller(request)
    payload = _body(request)
    return _event_reply(request, lambda: intake.ingest_event(tenant=p.tenant, actor=p.actor, payload=payload))


@events_router.post("/fhir/Appointment", response=EVENT_RESPONSES, openapi_extra={"requestBody": FHIR_EVENT_BODY})
@idempotent(perm=Perm.REDEEM)
def post_fhir_appointment(request):
    """A FHIR Appointment (R4/R4B or R5; `?fhirVersion=` or the content type's fhirVersion parameter, else
    detected). Appointment.status drives the flow; see the module appointments.fhir for the mapping."""
    p = caller(request)
    resource = _body(request)
    return _event_reply(
        request,
        lambda: fhir.ingest_fhir(
            tenant=p.tenant, actor=p.actor, resource=resource, fhir_version=_fhir_version(request)
        ),
    )


@events_router.put(
    "/fhir/Appointment/{resource_id}", response=EVENT_RESPONSES, openapi_extra={"requestBody": FHIR_EVENT_BODY}
)
def put_fhir_appointment(request, resource_id: str):
    """FHIR update: the resource's id must be the one in the path."""
    p = caller(request)
    resource = _body(request)
    if isinstance(resource, dict) and resource.get("id") != resource_id:
        return domain_error(request, InvalidInput("the resource id must match the URL", field="id"))
    return _event_reply(
        request,
        lambda: fhir.ingest_fhir(
            tenant=p.tenant, actor=p.actor, resource=resource, fhir_version=_fhir_version(request)
        ),
    )


@events_router.get("/appointment-events", response={200: Page[AppointmentEventOut], **READ})
def list_events(request, filters: Query[EventFilters]):
    """Every event received, newest first; ?status=rejected lists those kept for review."""
    p = caller(request, Perm.READ)
    page = paginate(
        selectors.events(p.tenant, status=filters.status, external_id=filters.external_id),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return Page[AppointmentEventOut](
        items=[AppointmentEventOut.of(e) for e in page.items], next_cursor=page.next_cursor
    )


@events_router.get("/appointment-events/{event_id}", response={200: AppointmentEventOut, **READ})
def get_event(request, event_id: Id):
    p = caller(request, Perm.READ)
    return AppointmentEventOut.of(scoped_get(AppointmentEvent, tenant=p.tenant, pk=event_id, field="event_id"))


@events_router.post("/appointment-events/{event_id}/retry", response=EVENT_RESPONSES)
@idempotent(perm=Perm.REDEEM)
def retry_event(request, event_id: Id):
    """Apply a rejected event again once its cause is fixed (the patient registered, the package extended...)."""
    p = caller(request)
    return _event_reply(request, lambda: retry.retry_event(tenant=p.tenant, actor=p.actor, event_id=event_id))
