"""Request and response bodies of the appointment routes (appointments.api)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt

from punchcard.domain.roles import Perm
from punchcard.kernel.schemas import (
    INSTANT_PATTERN,
    MAX_ID,
    NOT_BLANK,
    BackdateReason,
    BodyId,
    Ctx,
    Date,
    Input,
    Instant,
    Money,
    PageParams,
    PatientRef,
    Ref,
    Schema,
    Text,
    patient_ref,
    ref,
)
from punchcard.packages.schemas import HoldOut, RedemptionOut

from .events import MAX_REF, STATUS_MAP
from .models import AppointmentCharge, AppointmentEvent, CommissionCredit
from .selectors import AppointmentView

ExternalId = Text(200, min_length=1)
PackageChoice = BodyId | Literal["auto"]


# ---------------------------------------------------------------- requests


class BookIn(Input):
    external_id: ExternalId = Field(description="the scheduling system's id of the appointment (unique per tenant)")
    patient_id: BodyId
    beneficiary_id: BodyId | None = Field(None, description="who attends, when not the patient (e.g. a child)")
    service_id: BodyId
    centre_id: BodyId
    practitioner_id: BodyId | None = None
    start: Instant
    end: Instant | None = None
    package_id: PackageChoice | None = Field(
        "auto",
        description="'auto' (default): pre-select the patient's package — soonest expiry first, no expiry "
        "last, then the oldest — and book without one if none can cover the date; a package id: "
        "hold that one (a refusal refuses the booking); null: book without a package",
    )
    backdate_reason: BackdateReason = None


class ApplyPackageIn(Input):
    package_id: PackageChoice = Field("auto", description="'auto' (the pre-selection rule) or a package id")


class ReasonOptionalIn(Input):
    reason: Text(2000) = ""


class ReasonRequiredIn(Input):
    reason: Text(2000, min_length=1)


class RescheduleIn(Input):
    start: Instant
    end: Instant | None = None
    centre_id: BodyId | None = Field(None, description="move to another centre (default: the same)")


class PractitionerIn(Input):
    practitioner_id: BodyId | None


class NoShowIn(Input):
    option: Literal["redeem", "fee"] | None = Field(
        None,
        description="'redeem': a session is used, billed like an arrival; 'fee': the hold is released and a "
        "no-show fee charged; omitted: the tenant's default",
    )
    fee_code: Text(64, min_length=1) | None = Field(None, description="which configured fee (default: the default fee)")


class NoShowFeeIn(Input):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: Text(200, min_length=1)
    amount: Annotated[StrictInt, Field(ge=1, le=10**15, description="minor units")]


class NoShowSettingsIn(Input):
    fees: list[NoShowFeeIn] = Field(max_length=50)
    default_option: Literal["redeem", "fee"] | None = None
    default_fee_code: Annotated[str, Field(max_length=64)] | None = None


class CommissionRateIn(Input):
    rate_bp: Annotated[StrictInt, Field(ge=0, le=10000, description="basis points: 1000 = 10 %")]


class AppointmentFilters(PageParams):
    patient: int | None = Field(None, ge=1, le=2**63 - 1, description="patient or beneficiary id")
    status: Literal["booked", "arrived", "noshow", "cancelled"] | None = None
    external_id: str | None = Field(None, max_length=200)


class EventFilters(PageParams):
    status: Literal["accepted", "rejected", "duplicate"] | None = None
    external_id: str | None = Field(None, max_length=200)


class CommissionFilters(Schema):
    date_from: Date | None = None
    date_to: Date | None = None


# ---------------------------------------------------------------- responses


class ChargeOut(Schema):
    id: int
    appointment_id: int
    external_id: str
    kind: str
    code: str
    description: str
    amount: Money
    redemption_id: int | None
    created_at: dt.datetime
    created_by: str
    reversed: bool
    reversed_at: dt.datetime | None
    reversal_reason: str

    @classmethod
    def of(cls, c: AppointmentCharge, ctx: Ctx) -> ChargeOut:
        return cls(
            id=c.id,
            appointment_id=c.appointment_id,
            external_id=c.appointment.external_id,
            kind=c.kind,
            code=c.code,
            description=c.description,
            amount=ctx.money(c.amount, c.currency),
            redemption_id=c.redemption_id,
            created_at=c.created_at,
            created_by=c.created_by,
            reversed=c.reversed_at is not None,
            reversed_at=c.reversed_at,
            reversal_reason=c.reversal_reason,
        )


class CommissionOut(Schema):
    id: int
    staff: Ref
    event_type: str
    event_id: int
    package_id: int
    appointment_id: int | None
    base: Money
    rate_bp: int
    amount: Money
    day: dt.date
    reversed: bool
    reversed_at: dt.datetime | None

    @classmethod
    def of(cls, c: CommissionCredit, ctx: Ctx) -> CommissionOut:
        return cls(
            id=c.id,
            staff=ref(c.staff),
            event_type=c.event_type,
            event_id=c.event_id,
            package_id=c.package_id,
            appointment_id=c.appointment_id,
            base=ctx.money(c.base_amount),
            rate_bp=c.rate_bp,
            amount=ctx.money(c.amount),
            day=c.day,
            reversed=c.reversed_at is not None,
            reversed_at=c.reversed_at,
        )


class AppointmentOut(Schema):
    id: int
    external_id: str
    status: str
    no_show_choice: str | None
    patient: PatientRef
    beneficiary: PatientRef | None
    service: Ref
    centre: Ref
    practitioner: Ref | None
    start: dt.datetime
    end: dt.datetime | None
    day: dt.date = Field(description="the appointment's local date at its centre (holds and checks use it)")
    package_id: int | None
    package_state: str = Field(description="none, held (before arrival) or redeemed")
    hold: HoldOut | None
    redemption: RedemptionOut | None
    charges: list[ChargeOut]
    amount_to_collect: Money = Field(description="live co-pays and no-show fees; 0 means already paid")
    commissions: list[CommissionOut] | None = Field(description="null unless the role may read money")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, view: AppointmentView, ctx: Ctx) -> AppointmentOut:
        a = view.appointment
        money = ctx.principal.can(Perm.READ_MONEY)
        return cls(
            id=a.id,
            external_id=a.external_id,
            status=a.status,
            no_show_choice=a.no_show_choice or None,
            patient=patient_ref(a.patient),
            beneficiary=patient_ref(a.beneficiary) if a.beneficiary else None,
            service=ref(a.service),
            centre=ref(a.centre),
            practitioner=ref(a.practitioner),
            start=a.start,
            end=a.end,
            day=view.day,
            package_id=a.package_id,
            package_state=view.package_state,
            hold=HoldOut.of(view.hold) if view.hold else None,
            redemption=RedemptionOut.of(view.redemption, ctx) if view.redemption else None,
            charges=[ChargeOut.of(c, ctx) for c in view.charges],
            amount_to_collect=ctx.money(view.amount_to_collect),
            commissions=[CommissionOut.of(c, ctx) for c in view.commissions] if money else None,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class AppointmentEventOut(Schema):
    id: int
    source: str
    status: str = Field(description="accepted, rejected (kept for review) or duplicate")
    external_id: str
    event_status: str = Field(description="the status the event carried")
    dedupe_key: str
    appointment_id: int | None
    outcome: str
    error_code: str | None
    error_message: str | None
    error_field: str | None
    retry_of: int | None
    received_at: dt.datetime
    actor: str
    payload: Any

    @classmethod
    def of(cls, e: AppointmentEvent) -> AppointmentEventOut:
        return cls(
            id=e.id,
            source=e.source,
            status=e.status,
            external_id=e.external_id,
            event_status=e.event_status,
            dedupe_key=e.dedupe_key,
            appointment_id=e.appointment_id,
            outcome=e.outcome,
            error_code=e.error_code or None,
            error_message=e.error_message or None,
            error_field=e.error_field or None,
            retry_of=e.retry_of_id,
            received_at=e.received_at,
            actor=e.actor,
            payload=e.payload,
        )


class NoShowFeeOut(Schema):
    code: str
    name: str
    amount: Money


class NoShowSettingsOut(Schema):
    fees: list[NoShowFeeOut]
    default_option: str
    default_fee_code: str | None


class PatientChargesOut(Schema):
    patient: PatientRef
    total_to_collect: Money = Field(description="live co-pays and no-show fees of the patient's appointments")
    charges: list[ChargeOut]


class CommissionTotalOut(Schema):
    staff: Ref
    amount: Money


# ---------------------------------------------------------------- event bodies (read raw, documented here)

FHIR_JSON = "application/fhir+json"
_REF = {"type": "string", "minLength": 1, "maxLength": MAX_REF, "pattern": NOT_BLANK}
_TIME = {"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}
JSON_EVENT_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["external_id", "status", "patient", "service", "start"],
                "properties": {
                    "event_id": {**_REF, "description": "dedupe key (else a hash of the body)"},
                    "external_id": _REF,
                    "status": {"type": "string", "enum": sorted(STATUS_MAP)},
                    "patient": {**_REF, "description": "Patient.external_ref"},
                    "beneficiary": _REF,
                    "service": {**_REF, "description": "Service.code"},
                    "centre": {**_REF, "description": "Centre.code"},
                    "start": _TIME,
                    "end": _TIME,
                    "practitioner": {
                        "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ID}, _REF],
                        "description": "StaffMember id",
                    },
                    "updated_at": _TIME,
                },
            }
        }
    },
    "required": True,
}
_FHIR_APPOINTMENT = {
    "type": "object",
    "description": "a FHIR R4/R4B/R5 Appointment",
    "required": ["resourceType"],
    "properties": {"resourceType": {"const": "Appointment"}},
}
FHIR_EVENT_BODY = {
    "content": {FHIR_JSON: {"schema": _FHIR_APPOINTMENT}, "application/json": {"schema": _FHIR_APPOINTMENT}},
    "required": True,
}
