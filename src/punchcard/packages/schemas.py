"""Packages, their balances, redemptions, holds, history and sharing (SPEC §4–§7)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, StrictInt

from punchcard.domain.status import PackageStatus
from punchcard.kernel.schemas import (
    BackdateReason,
    BodyId,
    Ctx,
    Date,
    Id,
    Input,
    Money,
    PageParams,
    PatientRef,
    Reason,
    Ref,
    Schema,
    Text,
    patient_ref,
    ref,
)
from punchcard.packages.models import Beneficiary, Hold, Redemption, SessionEntry, Transfer
from punchcard.packages.selectors import PackageSummary
from punchcard.packages.services import MAX_SESSIONS_PER_USE

UseSessions = Annotated[StrictInt, Field(ge=1, le=MAX_SESSIONS_PER_USE)]


class PackageFilters(PageParams):
    patient: Id | None = Field(None, description="the holder")
    status: PackageStatus | None = Field(
        None,
        description="derived status; filtered after the database query, so a page may hold fewer than "
        "`limit` items while next_cursor is set",
    )
    centre: Id | None = Field(None, description="the centre that sold it")
    plan: Id | None = None
    purchased_from: Date | None = Field(None, description="first purchase date, inclusive")
    purchased_to: Date | None = Field(None, description="last purchase date, inclusive")


class PlanRef(Schema):
    id: int
    code: str
    version: int
    name: str


class LineBalanceOut(Schema):
    id: int
    label: str
    service_ids: list[int]
    granted: int = Field(description="sessions granted, bonus included")
    redeemed: int
    held: int = Field(description="reserved for booked appointments")
    forfeited: int = Field(description="expired, cancelled, completed or removed")
    remaining: int = Field(description="granted − redeemed − forfeited")
    available: int = Field(description="remaining − held: what can be redeemed or held now")
    patient_pays: Money
    deferred_value: Money | None = Field(description="unrecognised revenue; null unless the role may read money")


class PackageSummaryOut(Schema):
    id: int
    plan: PlanRef
    holder: PatientRef
    sold_at: Ref
    status: PackageStatus
    in_grace: bool = Field(description="expired but inside a soft expiry's grace days: still redeemable")
    purchased_on: dt.date
    start_date: dt.date
    expires_on: dt.date | None = Field(description="last valid local day; null: no expiry (yet)")
    usable_until: dt.date | None = Field(description="last local day a redemption is accepted, grace included")
    granted: int
    redeemed: int
    held: int
    remaining: int
    available: int

    @classmethod
    def fields_of(cls, summary: PackageSummary) -> dict:
        package = summary.package
        version = package.plan_version
        return dict(
            id=package.id,
            plan=PlanRef(id=version.plan_id, code=version.plan.code, version=version.number, name=version.name),
            holder=patient_ref(package.holder),
            sold_at=ref(package.sold_at),
            status=summary.status.status,
            in_grace=summary.status.in_grace,
            purchased_on=package.purchased_on,
            start_date=package.start_date,
            expires_on=package.expires_on,
            usable_until=summary.usable_until,
            granted=summary.granted,
            redeemed=summary.redeemed,
            held=summary.held,
            remaining=summary.remaining,
            available=summary.available,
        )

    @classmethod
    def of(cls, summary: PackageSummary, ctx: Ctx) -> PackageSummaryOut:
        return cls(**cls.fields_of(summary))


class BeneficiaryOut(Schema):
    patient: PatientRef
    added_at: dt.datetime
    added_by: str
    removed_at: dt.datetime | None
    removed_by: str

    @classmethod
    def of(cls, beneficiary: Beneficiary) -> BeneficiaryOut:
        return cls(
            patient=patient_ref(beneficiary.patient),
            added_at=beneficiary.added_at,
            added_by=beneficiary.added_by,
            removed_at=beneficiary.removed_at,
            removed_by=beneficiary.removed_by,
        )


class PackageOut(PackageSummaryOut):
    price: Money
    currency: str
    expiry_rule: str
    expiry_mode: str
    grace_days: int
    first_used_on: dt.date | None
    shareable: bool
    max_beneficiaries: int = Field(description="people who may use it, the holder included")
    transferable: bool
    beneficiaries: list[BeneficiaryOut] = Field(description="current beneficiaries (the holder not included)")
    lines: list[LineBalanceOut]
    deferred_value: Money | None = Field(description="unrecognised revenue; null unless the role may read money")
    order_id: int | None
    credited_staff: Ref | None
    closed_at: dt.datetime | None
    closed_by: str
    closed_reason: str

    @classmethod
    def of(cls, summary: PackageSummary, ctx: Ctx, beneficiaries: list[Beneficiary] | None = None) -> PackageOut:
        package = summary.package
        version = package.plan_version
        if beneficiaries is None:
            beneficiaries = list(
                package.beneficiaries.filter(removed_at__isnull=True).select_related("patient").order_by("id")
            )
        lines = [
            LineBalanceOut(
                id=line.id,
                label=line.label,
                service_ids=list(line.service_ids),
                granted=line.granted,
                redeemed=line.redeemed,
                held=line.held,
                forfeited=line.forfeited,
                remaining=line.remaining,
                available=line.available,
                patient_pays=ctx.money(line.patient_pays, package.currency),
                deferred_value=ctx.money_if_allowed(line.deferred_value, package.currency),
            )
            for line in summary.lines
        ]
        return cls(
            **cls.fields_of(summary),
            price=ctx.money(package.price_gross, package.currency),
            currency=package.currency,
            expiry_rule=package.expiry_rule.describe(),
            expiry_mode=package.expiry_mode,
            grace_days=package.grace_days,
            first_used_on=package.first_used_on,
            shareable=version.shareable,
            max_beneficiaries=version.max_beneficiaries,
            transferable=version.transferable,
            beneficiaries=[BeneficiaryOut.of(b) for b in beneficiaries],
            lines=lines,
            deferred_value=ctx.money_if_allowed(summary.deferred_value, package.currency),
            order_id=package.order_line.order_id if package.order_line_id else None,
            credited_staff=ref(package.credited_staff),
            closed_at=package.closed_at,
            closed_by=package.closed_by,
            closed_reason=package.closed_reason,
        )


class RedeemIn(Input):
    service_id: BodyId
    centre_id: BodyId = Field(description="where the session is used")
    person_id: BodyId | None = Field(None, description="who uses it: the holder (default) or a beneficiary")
    sessions: UseSessions = 1
    practitioner_id: BodyId | None = None
    appointment_id: BodyId | None = None


class HoldIn(RedeemIn):
    day: Date = Field(description="the appointment's local date; every check is made against it")
    backdate_reason: BackdateReason = None


class ReleaseIn(Input):
    reason: Text(2000) = ""


class RedemptionOut(Schema):
    id: int
    package_id: int
    line_id: int
    service: Ref
    centre: Ref
    person: PatientRef
    practitioner: Ref | None
    appointment_id: int | None
    hold_id: int | None
    day: dt.date
    at: dt.datetime
    sessions: int
    value: Money | None = Field(description="revenue recognised; null unless the role may read money")
    in_grace: bool
    redeemed_by: str
    voided: bool
    voided_at: dt.datetime | None
    voided_by: str
    void_reason: str
    void_approver: Ref | None = Field(
        description="the approving staff member (null when an API key voided it; voided_by names the key)"
    )

    @classmethod
    def of(cls, r: Redemption, ctx: Ctx) -> RedemptionOut:
        return cls(
            id=r.id,
            package_id=r.package_id,
            line_id=r.line_id,
            service=ref(r.service),
            centre=ref(r.centre),
            person=patient_ref(r.person),
            practitioner=ref(r.practitioner),
            appointment_id=r.appointment_id,
            hold_id=r.hold_id,
            day=r.day,
            at=r.at,
            sessions=r.sessions,
            value=ctx.money_if_allowed(r.value),
            in_grace=r.in_grace,
            redeemed_by=r.redeemed_by,
            voided=r.voided_at is not None,
            voided_at=r.voided_at,
            voided_by=r.voided_by,
            void_reason=r.void_reason,
            void_approver=ref(r.void_approver),
        )


class HoldOut(Schema):
    id: int
    package_id: int
    line_id: int
    service: Ref
    centre: Ref
    person: PatientRef
    practitioner: Ref | None
    appointment_id: int | None
    day: dt.date
    sessions: int
    state: str
    placed_at: dt.datetime
    placed_by: str
    resolved_at: dt.datetime | None
    resolved_by: str
    redemption_id: int | None

    @classmethod
    def of(cls, h: Hold) -> HoldOut:
        redemption = getattr(h, "redemption", None) if h.state == "posted" else None
        return cls(
            id=h.id,
            package_id=h.package_id,
            line_id=h.line_id,
            service=ref(h.service),
            centre=ref(h.centre),
            person=patient_ref(h.person),
            practitioner=ref(h.practitioner),
            appointment_id=h.appointment_id,
            day=h.day,
            sessions=h.sessions,
            state=h.state,
            placed_at=h.placed_at,
            placed_by=h.placed_by,
            resolved_at=h.resolved_at,
            resolved_by=h.resolved_by,
            redemption_id=redemption.id if redemption else None,
        )


class AdjustIn(Input):
    line_id: BodyId
    delta: Annotated[StrictInt, Field(ge=-1000, le=1000)] = Field(
        json_schema_extra={"not": {"const": 0}},
        description="+ goodwill sessions, − sessions removed (their value becomes breakage); not 0",
    )
    reason: Reason


class ExpiryChangeIn(Input):
    expires_on: Date | None = Field(description="the new last valid day; null: no expiry")
    reason: Reason


class BeneficiaryIn(Input):
    patient_id: BodyId


class TransferIn(Input):
    to_patient_id: BodyId
    reason: Text(2000) = ""


class TransferOut(Schema):
    id: int
    package_id: int
    from_patient: PatientRef
    to_patient: PatientRef
    reason: str
    at: dt.datetime
    actor: str

    @classmethod
    def of(cls, t: Transfer) -> TransferOut:
        return cls(
            id=t.id,
            package_id=t.package_id,
            from_patient=patient_ref(t.from_patient),
            to_patient=patient_ref(t.to_patient),
            reason=t.reason,
            at=t.at,
            actor=t.actor,
        )


class UsageOut(Schema):
    person: PatientRef
    is_holder: bool
    is_beneficiary: bool = Field(description="a current beneficiary")
    sessions: int = Field(description="sessions used, voids excluded")


class Deltas(Schema):
    granted: int
    redeemed: int
    held: int
    forfeited: int
    value: Money | None = Field(description="change in deferred value; null unless the role may read money")


class HistoryEntryOut(Schema):
    id: int
    kind: str
    line: Ref
    deltas: Deltas
    at: dt.datetime
    actor: str
    source: str
    reason: str
    redemption_id: int | None
    appointment_id: int | None
    hold_id: int | None
    person: PatientRef | None = Field(description="who the redemption or hold was for")
    reverses: int | None = Field(description="the entry this one reverses (a void)")
    data: dict[str, Any]

    @classmethod
    def of(cls, e: SessionEntry, ctx: Ctx) -> HistoryEntryOut:
        covered = e.redemption or e.hold
        return cls(
            id=e.id,
            kind=e.kind,
            line=Ref(id=e.line_id, name=e.line.label),
            deltas=Deltas(
                granted=e.granted,
                redeemed=e.redeemed,
                held=e.held,
                forfeited=e.forfeited,
                value=ctx.money_if_allowed(e.value),
            ),
            at=e.at,
            actor=e.actor,
            source=e.source,
            reason=e.reason,
            redemption_id=e.redemption_id,
            appointment_id=covered.appointment_id if covered else None,
            hold_id=e.hold_id or (e.redemption.hold_id if e.redemption else None),
            person=patient_ref(covered.person) if covered else None,
            reverses=e.reverses_id,
            data=e.data or {},
        )
