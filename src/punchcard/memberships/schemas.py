"""Membership plans, tier groups, memberships and invoices over HTTP (SPEC §10)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StrictInt

from punchcard.billing.models import Tender
from punchcard.catalogue.models import PlanStatus
from punchcard.catalogue.schemas import LineIn, PlanLineOut
from punchcard.domain.dunning import MAX_OFFSET_DAYS, MAX_RETRIES, FinalAction
from punchcard.domain.membership_lifecycle import CancelWhen
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.membership_terms import (
    BenefitsOnCancel,
    Cancellation,
    ProrationBilling,
    Trial,
    TrialPrice,
)
from punchcard.domain.periods import Frequency, LengthUnit
from punchcard.kernel.schemas import (
    SLUG,
    Amount,
    BodyId,
    Ctx,
    Date,
    Flag,
    Id,
    Input,
    Money,
    PageParams,
    PatientRef,
    PositiveAmount,
    Schema,
    Text,
    patient_ref,
)

from .models import (
    ChangeEffective,
    Invoice,
    Membership,
    MembershipChange,
    MembershipPlan,
    MembershipPlanVersion,
    TierGroup,
)
from .selectors import Standing
from .services import MembershipTerms, policies_of
from .services.changes import ChangeQuote

Small = Annotated[StrictInt, Field(ge=0, le=365)]


class TierGroupIn(Input):
    code: Text(64, min_length=1, pattern=SLUG)
    name: Text(200, min_length=1)


class TierGroupOut(Schema):
    id: int
    code: str
    name: str
    plans: list[dict] = Field(description="the group's plans by rank, lowest first: {id, code, rank}")

    @classmethod
    def of(cls, group: TierGroup) -> TierGroupOut:
        plans = sorted(group.plans.all(), key=lambda p: p.rank)
        return cls(
            id=group.id,
            code=group.code,
            name=group.name,
            plans=[{"id": p.id, "code": p.code, "rank": p.rank} for p in plans],
        )


class PricesIn(Input):
    monthly: Amount | None = None
    quarterly: Amount | None = None
    annual: Amount | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ProductIn(Input):
    name: Text(200, min_length=1)
    quantity: Annotated[StrictInt, Field(ge=1, le=1000)] = 1


class TrialIn(Input):
    length: Annotated[StrictInt, Field(ge=0, le=365)] = Field(0, description="0: no trial")
    unit: LengthUnit = LengthUnit.DAYS
    price: TrialPrice = TrialPrice.FREE
    amount: Amount | None = Field(None, description="the discounted trial's price")

    def terms(self) -> Trial:
        return Trial(length=self.length, unit=self.unit, price=self.price, amount=self.amount)


class PauseIn(Input):
    allowed: Flag = False
    min_months: Annotated[StrictInt, Field(ge=1, le=6)] = 1
    max_months: Annotated[StrictInt, Field(ge=1, le=6)] = 6
    per_year: Annotated[StrictInt, Field(ge=0, le=12)] = 1
    fee: Amount = 0


class DunningIn(Input):
    retry_days: list[Annotated[StrictInt, Field(ge=1, le=MAX_OFFSET_DAYS)]] = Field(
        default_factory=lambda: [3], max_length=MAX_RETRIES, description="days after the failed renewal, increasing"
    )
    final_action: FinalAction = FinalAction.CANCEL


class PoliciesIn(Input):
    cancellation: Cancellation = Cancellation.PERIOD_END
    notice_days: Small = 0
    minimum_commitment_periods: Annotated[StrictInt, Field(ge=0, le=120)] = 0
    benefits_on_cancel: BenefitsOnCancel = BenefitsOnCancel.UNTIL_PERIOD_END
    pause: PauseIn = Field(default_factory=PauseIn)
    dunning: DunningIn = Field(default_factory=DunningIn)
    proration_billing: ProrationBilling = ProrationBilling.NEXT_INVOICE


class MembershipTermsIn(Input):
    name: Text(200, min_length=1)
    description: Text(5000) = ""
    prices: PricesIn = Field(description="the price per period of each billing frequency offered (at least one)")
    currency: Text(3) | None = None
    tax_rate_bp: Annotated[StrictInt, Field(ge=0, le=10_000)] = 0
    tax_inclusive: Flag = True
    benefits: list[LineIn] = Field(default_factory=list, max_length=50, description="sessions per period")
    included_products: list[ProductIn] = Field(default_factory=list, max_length=20)
    discount_bp: Annotated[StrictInt, Field(ge=0, le=10_000)] = Field(0, description="basis points: 1000 = 10 %")
    perks: list[Text(200, min_length=1)] = Field(default_factory=list, max_length=20)
    trial: TrialIn = Field(default_factory=TrialIn)
    policies: PoliciesIn = Field(default_factory=PoliciesIn)

    def terms(self) -> MembershipTerms:
        return MembershipTerms(
            name=self.name,
            description=self.description,
            prices=self.prices.as_dict(),
            currency=self.currency,
            tax_rate_bp=self.tax_rate_bp,
            tax_inclusive=self.tax_inclusive,
            benefits=[line.spec() for line in self.benefits],
            included_products=[p.model_dump() for p in self.included_products],
            discount_bp=self.discount_bp,
            perks=list(self.perks),
            trial=self.trial.terms(),
            policies=policies_of(self.policies.model_dump(mode="json")),
        )


class MembershipPlanIn(MembershipTermsIn):
    code: Text(40, min_length=1, pattern="^[a-z0-9][a-z0-9_-]{0,39}$")
    tier_group_id: BodyId | None = None
    rank: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    status: PlanStatus = PlanStatus.ON_SALE


class MembershipPlanFilters(PageParams):
    status: PlanStatus | None = None


class PriceOut(Schema):
    frequency: str
    price: Money


class MembershipVersionOut(Schema):
    number: int
    name: str
    description: str
    prices: list[PriceOut]
    tax_rate_bp: int
    tax_inclusive: bool
    benefits: list[PlanLineOut]
    included_products: list[dict]
    discount_bp: int
    perks: list[str]
    trial: dict
    policies: dict
    created_at: dt.datetime

    @classmethod
    def of(cls, version: MembershipPlanVersion, ctx: Ctx) -> MembershipVersionOut:
        lines = list(version.benefits.lines.all()) if version.benefits_id else []
        policies = version.policies
        return cls(
            number=version.number,
            name=version.name,
            description=version.description,
            prices=[
                PriceOut(frequency=str(f), price=ctx.money(p, version.currency)) for f, p in version.prices().items()
            ],
            tax_rate_bp=version.tax_rate_bp,
            tax_inclusive=version.tax_inclusive,
            benefits=[
                PlanLineOut(
                    id=line.id,
                    position=line.position,
                    label=line.label,
                    service_ids=sorted(s.id for s in line.services.all()),
                    sessions=line.sessions,
                    bonus_sessions=line.bonus_sessions,
                    patient_pays=ctx.money(line.patient_pays, version.currency),
                    top_up_price=None,
                )
                for line in lines
            ],
            included_products=version.included_products,
            discount_bp=version.discount_bp,
            perks=version.perks,
            trial=version.trial_terms.to_dict(),
            policies={
                "cancellation": str(policies.cancellation),
                "notice_days": policies.notice_days,
                "minimum_commitment_periods": policies.minimum_commitment_periods,
                "benefits_on_cancel": str(policies.benefits_on_cancel),
                "pause": policies.pause.to_dict(),
                "dunning": {
                    "retry_days": list(policies.dunning.retry_days),
                    "final_action": str(policies.dunning.final_action),
                },
                "proration_billing": str(policies.proration_billing),
            },
            created_at=version.created_at,
        )


class MembershipPlanOut(Schema):
    id: int
    code: str
    status: str
    tier_group_id: int | None
    rank: int
    created_at: dt.datetime
    current: MembershipVersionOut
    versions: list[MembershipVersionOut] = Field(description="every version, newest first; members keep theirs")

    @classmethod
    def of(cls, plan: MembershipPlan, ctx: Ctx) -> MembershipPlanOut:
        versions = sorted(plan.versions.all(), key=lambda v: -v.number)
        out = [MembershipVersionOut.of(v, ctx) for v in versions]
        return cls(
            id=plan.id,
            code=plan.code,
            status=plan.status,
            tier_group_id=plan.tier_group_id,
            rank=plan.rank,
            created_at=plan.created_at,
            current=out[0],
            versions=out,
        )


class MembershipIn(Input):
    patient_id: BodyId
    plan_id: BodyId
    frequency: Frequency
    centre_id: BodyId
    start_date: Date | None = Field(None, description="today (the centre's) when omitted; a later day: scheduled")
    payment_method_id: BodyId | None = Field(
        None, description="the stored method charged each period; none: the desk collects"
    )


class MembershipFilters(PageParams):
    patient_id: Id | None = None
    status: MembershipStatus | None = None


class MembershipPeriodOut(Schema):
    number: int
    kind: str
    start: dt.date
    end: dt.date = Field(description="the period's last day")


class ScheduledChangeOut(Schema):
    id: int
    kind: str
    to_plan_id: int
    to_plan_version: int
    to_frequency: str
    effective_on: dt.date


class MembershipOut(Schema):
    id: int
    patient: PatientRef
    plan_id: int
    plan_version: int
    plan_name: str
    frequency: str
    status: str
    centre_id: int
    start_date: dt.date
    trial_end: dt.date | None = Field(description="the first day after the trial")
    billing_anchor: dt.date
    price: Money = Field(description="per paid period")
    payment_method_id: int | None
    current_period: MembershipPeriodOut | None
    next_billing_date: dt.date | None
    next_amount: Money | None
    owed: Money = Field(description="what its open invoices still ask")
    failed_attempts: int
    next_retry_on: dt.date | None
    status_reason: str
    scheduled_change: ScheduledChangeOut | None = Field(description="a plan change waiting for the period end")
    created_at: dt.datetime
    cancel_on: dt.date | None = Field(None, description="cancelling: its first day without the membership")
    paused_until: dt.date | None = Field(None, description="paused: the day it resumes by itself")

    @classmethod
    def of(cls, membership: Membership, standing: Standing, ctx: Ctx) -> MembershipOut:
        current = standing.current
        return cls(
            id=membership.id,
            patient=patient_ref(membership.patient),
            plan_id=membership.plan_id,
            plan_version=membership.version.number,
            plan_name=membership.version.name,
            frequency=membership.frequency,
            status=membership.status,
            centre_id=membership.centre_id,
            start_date=membership.start_date,
            trial_end=membership.trial_end,
            billing_anchor=membership.anchor,
            price=ctx.money(membership.price),
            payment_method_id=membership.payment_method_id,
            current_period=(
                MembershipPeriodOut(number=current.number, kind=current.kind, start=current.start, end=current.last_day)
                if current
                else None
            ),
            next_billing_date=standing.next_billing_date,
            next_amount=ctx.money(standing.next_amount) if standing.next_amount is not None else None,
            owed=ctx.money(standing.owed),
            failed_attempts=membership.failed_attempts,
            next_retry_on=membership.next_retry_on,
            status_reason=membership.status_reason,
            scheduled_change=(
                ScheduledChangeOut(
                    id=scheduled.id,
                    kind=scheduled.kind,
                    to_plan_id=scheduled.to_version.plan_id,
                    to_plan_version=scheduled.to_version.number,
                    to_frequency=scheduled.to_frequency,
                    effective_on=scheduled.effective_on,
                )
                if (scheduled := standing.scheduled)
                else None
            ),
            created_at=membership.created_at,
            cancel_on=membership.cancel_on,
            paused_until=standing.paused_until,
        )


class InvoiceLineOut(Schema):
    kind: str
    description: str
    net: Money
    tax: Money
    gross: Money


class InvoicePaymentOut(Schema):
    id: int
    method: str
    amount: Money
    reference: str
    received_at: dt.datetime


class InvoiceOut(Schema):
    id: int
    number: int
    membership_id: int
    patient: PatientRef
    status: str
    period: MembershipPeriodOut | None
    issued_on: dt.date
    net: Money
    tax: Money
    gross: Money
    credit_applied: Money
    paid: Money
    due: Money
    lines: list[InvoiceLineOut]
    payments: list[InvoicePaymentOut]
    html_url: str
    pdf_url: str

    @classmethod
    def of(cls, invoice: Invoice, ctx: Ctx) -> InvoiceOut:
        period = invoice.period
        base = f"/api/v1/invoices/{invoice.id}"
        return cls(
            id=invoice.id,
            number=invoice.number,
            membership_id=invoice.membership_id,
            patient=patient_ref(invoice.patient),
            status=invoice.status,
            period=(
                MembershipPeriodOut(number=period.number, kind=period.kind, start=period.start, end=period.last_day)
                if period
                else None
            ),
            issued_on=invoice.issued_on,
            net=ctx.money(invoice.net),
            tax=ctx.money(invoice.tax),
            gross=ctx.money(invoice.gross),
            credit_applied=ctx.money(invoice.credit_applied),
            paid=ctx.money(invoice.paid),
            due=ctx.money(invoice.due),
            lines=[
                InvoiceLineOut(
                    kind=line.kind,
                    description=line.description,
                    net=ctx.money(line.net),
                    tax=ctx.money(line.tax),
                    gross=ctx.money(line.gross),
                )
                for line in invoice.lines.all()
            ],
            payments=[
                InvoicePaymentOut(
                    id=p.id,
                    method=p.method,
                    amount=ctx.money(p.amount),
                    reference=p.reference,
                    received_at=p.received_at,
                )
                for p in sorted(invoice.payments.all(), key=lambda p: p.id)
            ],
            html_url=f"{base}/html",
            pdf_url=f"{base}/pdf",
        )


class InvoicePaymentIn(Input):
    method: Tender
    amount: PositiveAmount
    reference: Text(200) = Field("", description="card slip, transfer reference, …")


class MembershipChangeIn(Input):
    plan_id: BodyId = Field(description="the plan to move to: the member's own for a frequency change")
    frequency: Frequency | None = Field(None, description="the member's frequency when omitted")
    effective: ChangeEffective | None = Field(
        None, description="upgrades default to now, downgrades and frequency changes to the period end"
    )


class ChangeBenefitOut(Schema):
    service_ids: list[int]
    sessions: int


class MembershipChangeOut(Schema):
    id: int | None = Field(description="none for a preview")
    membership_id: int
    kind: str = Field(description="upgrade, downgrade or frequency_change")
    status: str = Field(description="preview, scheduled (for the period end) or applied")
    effective: str
    effective_on: dt.date
    from_plan_id: int
    from_plan_version: int
    to_plan_id: int
    to_plan_version: int
    from_frequency: str
    to_frequency: str
    proration_billing: str = Field(description="now: an invoice at once; next_invoice: lines of the next invoice")
    day_count: str
    unused_days: int
    period_days: int
    credit: InvoiceLineOut | None = Field(description="the unused part of the paid period, to the patient's credit")
    lines: list[InvoiceLineOut] = Field(description="the invoice lines the change produces")
    invoiced_now: bool = Field(description="the lines are an invoice issued at once")
    charge: Money
    credit_applied: Money = Field(description="what the patient's credit pays of the invoice issued at once")
    due_now: Money
    sessions: list[ChangeBenefitOut] = Field(description="the new plan's benefits for the rest of the period")
    invoice_id: int | None

    @classmethod
    def of_quote(cls, membership: Membership, q: ChangeQuote, ctx: Ctx) -> MembershipChangeOut:
        return cls._make(
            ctx,
            id=None,
            membership_id=membership.id,
            status="preview",
            kind=q.kind,
            effective=q.effective,
            effective_on=q.effective_on,
            from_version=q.from_version,
            to_version=q.to_version,
            from_frequency=q.from_frequency,
            to_frequency=q.to_frequency,
            proration_billing=q.proration_billing,
            day_count=q.convention,
            unused_days=q.unused_days,
            period_days=q.period_days,
            credit=q.credit.to_dict() if q.credit else None,
            lines=[line.to_dict() for line in q.lines],
            invoiced_now=q.invoiced_now,
            charge=q.charge,
            credit_applied=q.credit_applied,
            sessions=q.sessions,
            invoice_id=None,
        )

    @classmethod
    def of_change(cls, change: MembershipChange, ctx: Ctx) -> MembershipChangeOut:
        invoice = change.invoice if change.effective == ChangeEffective.NOW else None
        credit = None
        if change.credit_description:
            net, tax = change.credit_net, change.credit_tax
            credit = {"kind": "credit", "description": change.credit_description, "net": net, "tax": tax}
            credit["gross"] = net + tax
        return cls._make(
            ctx,
            id=change.id,
            membership_id=change.membership_id,
            status=change.status,
            kind=change.kind,
            effective=change.effective,
            effective_on=change.effective_on,
            from_version=change.from_version,
            to_version=change.to_version,
            from_frequency=change.from_frequency,
            to_frequency=change.to_frequency,
            proration_billing=change.proration_billing,
            day_count=change.convention,
            unused_days=change.unused_days,
            period_days=change.period_days,
            credit=credit,
            lines=change.lines,
            invoiced_now=invoice is not None,
            charge=change.charge,
            credit_applied=invoice.credit_applied if invoice else 0,
            sessions=change.sessions,
            invoice_id=change.invoice_id,
        )

    @classmethod
    def _make(cls, ctx: Ctx, *, from_version, to_version, credit, lines, charge, credit_applied, invoiced_now, **rest):
        def line(d: dict) -> InvoiceLineOut:
            return InvoiceLineOut(
                kind=d["kind"],
                description=d["description"],
                net=ctx.money(d["net"]),
                tax=ctx.money(d["tax"]),
                gross=ctx.money(d["gross"]),
            )

        return cls(
            from_plan_id=from_version.plan_id,
            from_plan_version=from_version.number,
            to_plan_id=to_version.plan_id,
            to_plan_version=to_version.number,
            credit=line(credit) if credit else None,
            lines=[line(d) for d in lines],
            invoiced_now=invoiced_now,
            charge=ctx.money(charge),
            credit_applied=ctx.money(credit_applied),
            due_now=ctx.money(charge - credit_applied if invoiced_now else 0),
            **rest,
        )


class PauseRequestIn(Input):
    """A pause from today: `months` calendar months, or `until` a day (the first day back); one of the two."""

    months: Annotated[StrictInt, Field(ge=1, le=6)] | None = None
    until: Date | None = Field(None, description="the first day back")


class CancelIn(Input):
    when: CancelWhen | None = Field(None, description="now or period_end; not given: the plan's policy")
    refund_unused: Flag = Field(False, description="now only: the paid period's unused days to the patient's credit")
    reason: Text(500) = ""
