"""Plans, their versions and entitlement lines (SPEC §2)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StrictInt

from punchcard import clock
from punchcard.catalogue.models import CommissionPolicy, Plan, PlanStatus, PlanVersion
from punchcard.catalogue.services import MAX_SESSIONS, LineSpec, PlanTerms
from punchcard.domain.eligibility import Scope
from punchcard.domain.expiry import ExpiryKind, ExpiryMode, ExpiryUnit, Period
from punchcard.kernel.schemas import SLUG, Amount, BodyId, Ctx, Date, Flag, Input, Money, PageParams, Schema, Text

Sessions = Annotated[StrictInt, Field(ge=1, le=MAX_SESSIONS)]
Bonus = Annotated[StrictInt, Field(ge=0, le=MAX_SESSIONS)]
Cap = Annotated[StrictInt, Field(ge=1, le=MAX_SESSIONS)]


class ExpiryRuleIn(Input):
    kind: ExpiryKind = ExpiryKind.NONE
    count: Annotated[StrictInt, Field(ge=0, le=3650)] = 0
    unit: ExpiryUnit = ExpiryUnit.DAYS
    fixed_date: Date | None = None
    period: Period = Period.MONTH

    def to_dict(self) -> dict:
        return {
            "kind": self.kind.value,
            "count": self.count,
            "unit": self.unit.value,
            "fixed_date": self.fixed_date,
            "period": self.period.value,
        }


class LineIn(Input):
    service_ids: list[BodyId] = Field(min_length=1, max_length=50, description="one service, or a pool")
    sessions: Sessions
    bonus_sessions: Bonus = 0
    patient_pays: Amount = Field(0, description="co-pay per redeemed session, minor units")
    label: Text(200) = ""
    top_up_price: Amount | None = Field(None, description="per session; null: no top-ups")

    def spec(self) -> LineSpec:
        return LineSpec(
            service_ids=list(self.service_ids),
            sessions=self.sessions,
            bonus_sessions=self.bonus_sessions,
            patient_pays=self.patient_pays,
            label=self.label,
            top_up_price=self.top_up_price,
        )


class TermsIn(Input):
    name: Text(200, min_length=1)
    price: Amount
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    currency: Text(3) | None = Field(None, description="defaults to the tenant's currency")
    description: Text(5000) = ""
    package_type: Text(100) | None = None
    tax_rate_bp: Annotated[StrictInt, Field(ge=0, le=10_000)] = Field(0, description="basis points: 1800 = 18 %")
    tax_inclusive: Flag = True
    expiry: ExpiryRuleIn = Field(default_factory=ExpiryRuleIn)
    expiry_mode: ExpiryMode = ExpiryMode.HARD
    grace_days: Annotated[StrictInt, Field(ge=0, le=365)] = 0
    scope: Scope = Scope.SINGLE
    centre_ids: list[BodyId] = Field(default_factory=list, max_length=200)
    shareable: Flag = False
    max_beneficiaries: Annotated[StrictInt, Field(ge=1, le=50)] = 1
    transferable: Flag = False
    blackout_dates: list[Date] = Field(default_factory=list, max_length=1000)
    cap_per_day: Cap | None = None
    cap_per_week: Cap | None = None
    cap_per_month: Cap | None = None
    min_gap_days: Annotated[StrictInt, Field(ge=1, le=365)] | None = None
    sale_from: Date | None = None
    sale_to: Date | None = None
    commission_policy: CommissionPolicy = CommissionPolicy.ON_REDEMPTION

    def terms(self) -> PlanTerms:
        return PlanTerms(
            name=self.name,
            price=self.price,
            lines=[line.spec() for line in self.lines],
            currency=self.currency,
            description=self.description,
            package_type=self.package_type,
            tax_rate_bp=self.tax_rate_bp,
            tax_inclusive=self.tax_inclusive,
            expiry=self.expiry.to_dict(),
            expiry_mode=self.expiry_mode.value,
            grace_days=self.grace_days,
            scope=self.scope.value,
            centre_ids=list(self.centre_ids),
            shareable=self.shareable,
            max_beneficiaries=self.max_beneficiaries,
            transferable=self.transferable,
            blackout_dates=list(self.blackout_dates),
            cap_per_day=self.cap_per_day,
            cap_per_week=self.cap_per_week,
            cap_per_month=self.cap_per_month,
            min_gap_days=self.min_gap_days,
            sale_from=self.sale_from,
            sale_to=self.sale_to,
            commission_policy=self.commission_policy.value,
        )


class PlanIn(TermsIn):
    code: Text(64, min_length=1, pattern=SLUG) = Field(description="the SKU: lower-case letters, digits, '-' or '_'")
    status: PlanStatus = PlanStatus.ON_SALE


class PlanStatusIn(Input):
    status: PlanStatus


class PlanOnlineIn(Input):
    online: Flag = Field(description="patients may buy the plan in the portal while it is on sale")


class PlanFilters(PageParams):
    status: PlanStatus | None = None


class PlanLineOut(Schema):
    id: int
    position: int
    label: str
    service_ids: list[int]
    sessions: int
    bonus_sessions: int
    patient_pays: Money
    top_up_price: Money | None


class ExpiryRuleOut(Schema):
    kind: str
    count: int
    unit: str
    fixed_date: dt.date | None
    period: str
    description: str


class PlanVersionOut(Schema):
    number: int
    name: str
    description: str
    package_type: str | None
    price: Money
    tax_rate_bp: int
    tax_inclusive: bool
    expiry: ExpiryRuleOut
    expiry_mode: str
    grace_days: int
    scope: str
    centre_ids: list[int]
    shareable: bool
    max_beneficiaries: int
    transferable: bool
    blackout_dates: list[dt.date]
    cap_per_day: int | None
    cap_per_week: int | None
    cap_per_month: int | None
    min_gap_days: int | None
    sale_from: dt.date | None
    sale_to: dt.date | None
    commission_policy: str
    total_sessions: int
    created_at: dt.datetime
    lines: list[PlanLineOut]
    warnings: list[str] = Field(
        description="what is wrong with the sale window, e.g. a last sale date after the fixed expiry"
    )

    @classmethod
    def of(cls, version: PlanVersion, ctx: Ctx) -> PlanVersionOut:
        rule = version.expiry_rule
        lines = list(version.lines.all())
        return cls(
            number=version.number,
            name=version.name,
            description=version.description,
            package_type=version.package_type.name if version.package_type_id else None,
            price=ctx.money(version.price, version.currency),
            tax_rate_bp=version.tax_rate_bp,
            tax_inclusive=version.tax_inclusive,
            expiry=ExpiryRuleOut(
                kind=rule.kind.value,
                count=rule.count,
                unit=rule.unit.value,
                fixed_date=rule.fixed_date,
                period=rule.period.value,
                description=rule.describe(),
            ),
            expiry_mode=version.expiry_mode,
            grace_days=version.grace_days,
            scope=version.scope,
            centre_ids=sorted(c.id for c in version.centres.all()),
            shareable=version.shareable,
            max_beneficiaries=version.max_beneficiaries,
            transferable=version.transferable,
            blackout_dates=[dt.date.fromisoformat(d) for d in version.blackout_dates],
            cap_per_day=version.cap_per_day,
            cap_per_week=version.cap_per_week,
            cap_per_month=version.cap_per_month,
            min_gap_days=version.min_gap_days,
            sale_from=version.sale_from,
            sale_to=version.sale_to,
            commission_policy=version.commission_policy,
            total_sessions=sum(line.sessions + line.bonus_sessions for line in lines),
            created_at=version.created_at,
            warnings=version.sale_warnings(ctx.tenant.today(clock.now())),
            lines=[
                PlanLineOut(
                    id=line.id,
                    position=line.position,
                    label=line.label,
                    service_ids=sorted(s.id for s in line.services.all()),
                    sessions=line.sessions,
                    bonus_sessions=line.bonus_sessions,
                    patient_pays=ctx.money(line.patient_pays, version.currency),
                    top_up_price=(
                        ctx.money(line.top_up_price, version.currency) if line.top_up_price is not None else None
                    ),
                )
                for line in lines
            ],
        )


class PlanOut(Schema):
    id: int
    code: str
    status: str
    sold_online: bool = Field(description="patients may buy it in the portal while it is on sale")
    created_at: dt.datetime
    current: PlanVersionOut

    @classmethod
    def of(cls, plan: Plan, ctx: Ctx) -> PlanOut:
        return cls(
            id=plan.id,
            code=plan.code,
            status=plan.status,
            sold_online=plan.sold_online,
            created_at=plan.created_at,
            current=PlanVersionOut.of(_newest(plan), ctx),
        )


class PlanDetailOut(PlanOut):
    versions: list[PlanVersionOut] = Field(description="every version, newest first; sold packages keep theirs")

    @classmethod
    def of(cls, plan: Plan, ctx: Ctx) -> PlanDetailOut:
        versions = sorted(plan.versions.all(), key=lambda v: -v.number)
        return cls(
            id=plan.id,
            code=plan.code,
            status=plan.status,
            sold_online=plan.sold_online,
            created_at=plan.created_at,
            current=PlanVersionOut.of(versions[0], ctx),
            versions=[PlanVersionOut.of(v, ctx) for v in versions],
        )


def _newest(plan: Plan) -> PlanVersion:
    # Uses the prefetched versions when the query prefetched them.
    return max(plan.versions.all(), key=lambda v: v.number)
