"""The hold and the redemption an appointment's response shows.

The same shapes, and names, as the package routes' HoldOut and RedemptionOut (punchcard.packages.schemas),
so the OpenAPI document keeps one of each; change them together.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from punchcard.kernel.schemas import Ctx, Money, PatientRef, Ref, Schema, patient_ref, ref
from punchcard.packages.models import Hold, Redemption


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
