"""Membership plans and tier groups (SPEC §10.1). Every change of terms is a new immutable version:
memberships keep the version they subscribed to (a price change reaches them from their next period,
with notice: part of the plan's later work)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from punchcard import clock
from punchcard.catalogue import services as catalogue
from punchcard.catalogue.models import PlanStatus
from punchcard.catalogue.services import LineSpec
from punchcard.db import unique
from punchcard.domain import membership_terms as terms_rules
from punchcard.domain import validation
from punchcard.domain.dunning import DunningSchedule
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.membership_terms import PauseRules, Policies, Trial
from punchcard.domain.periods import Frequency
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from ..models import MembershipPlan, MembershipPlanVersion, TierGroup

MAX_RANK = 1000
MAX_CODE = 40  # the benefits' catalogue code adds a prefix within the catalogue's 64


@dataclass
class MembershipTerms:
    name: str
    prices: dict  # frequency → price per period, minor units
    description: str = ""
    currency: str | None = None
    tax_rate_bp: int = 0
    tax_inclusive: bool = True
    benefits: list[LineSpec] = field(default_factory=list)  # sessions per period
    included_products: list = field(default_factory=list)
    discount_bp: int = 0
    perks: list = field(default_factory=list)
    trial: Trial = field(default_factory=Trial)
    policies: Policies = field(default_factory=Policies)


def policies_of(data: dict) -> Policies:
    """Policies from their JSON shape (`pause` and `dunning` nested), each rule checked by the domain."""
    data = dict(data or {})
    pause = PauseRules(**data.pop("pause", {}) or {})
    dunning_data = dict(data.pop("dunning", {}) or {})
    dunning = DunningSchedule(
        retry_days=tuple(dunning_data.get("retry_days", (3,))),
        final_action=dunning_data.get("final_action", "cancel"),
    )
    return Policies(pause=pause, dunning=dunning, **data)


def _check(tenant: Tenant, terms: MembershipTerms) -> dict:
    currency = terms.currency or tenant.currency
    if currency != tenant.currency:
        raise InvalidInput(
            f"plans are priced in the tenant's currency {tenant.currency}", code="currency_mismatch", field="currency"
        )
    prices = terms_rules.check_prices(terms.prices)
    if not isinstance(terms.trial, Trial) or not isinstance(terms.policies, Policies):
        raise InvalidInput("trial and policies must be given as their terms", field="trial")
    if len(terms.benefits) > 50:
        raise InvalidInput("a membership has at most 50 benefit lines", field="benefits")
    policies = terms.policies
    return dict(
        name=validation.text(terms.name, "name"),
        description=validation.text(terms.description, "description", max_length=5000, required=False),
        currency=currency,
        monthly_price=prices.get(Frequency.MONTHLY),
        quarterly_price=prices.get(Frequency.QUARTERLY),
        annual_price=prices.get(Frequency.ANNUAL),
        tax_rate_bp=validation.whole(terms.tax_rate_bp, "tax_rate_bp", low=0, high=10_000),
        tax_inclusive=bool(terms.tax_inclusive),
        included_products=terms_rules.check_products(terms.included_products),
        discount_bp=terms_rules.check_discount(terms.discount_bp),
        perks=terms_rules.check_perks(terms.perks),
        trial=terms.trial.to_dict(),
        cancellation=str(policies.cancellation),
        notice_days=policies.notice_days,
        minimum_commitment_periods=policies.minimum_commitment_periods,
        benefits_on_cancel=str(policies.benefits_on_cancel),
        pause=policies.pause.to_dict(),
        dunning_retry_days=list(policies.dunning.retry_days),
        dunning_final_action=str(policies.dunning.final_action),
        proration_billing=str(policies.proration_billing),
    )


def _write_version(plan: MembershipPlan, terms: MembershipTerms, fields: dict, now) -> MembershipPlanVersion:
    benefits = None
    if terms.benefits:
        benefits = catalogue.write_benefits(
            tenant=plan.tenant,
            code=plan.benefits_code,
            terms=catalogue.benefit_terms(
                name=f"{fields['name']} benefits", lines=terms.benefits, currency=fields["currency"]
            ),
            now=now,
        )
    number = (plan.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return MembershipPlanVersion.objects.create(
        tenant=plan.tenant, plan=plan, number=number, benefits=benefits, created_at=now, **fields
    )


@transaction.atomic
def create_tier_group(*, tenant: Tenant, actor: Actor, code: str, name: str, now=None) -> TierGroup:
    actor.require(Perm.MANAGE_MEMBERSHIP_PLANS)
    now = now or clock.now()
    code = validation.slug(code, "code")
    taken = f"a tier group with code {code!r} exists"
    if TierGroup.objects.filter(tenant=tenant, code=code).exists():
        raise Conflict(taken, code="duplicate_code", field="code")
    with unique(taken, field="code"):
        group = TierGroup.objects.create(tenant=tenant, code=code, name=validation.text(name, "name"), created_at=now)
    audit(tenant=tenant, actor=actor, action="tier_group.create", subject=group, now=now)
    return group


def _placement(tenant: Tenant, tier_group_id: int | None, rank: int, *, exclude: int | None = None):
    rank = validation.whole(rank, "rank", low=0, high=MAX_RANK)
    if tier_group_id is None:
        return None, rank
    group = scoped_get(TierGroup, tenant=tenant, pk=tier_group_id, field="tier_group_id")
    others = MembershipPlan.objects.filter(tenant=tenant, tier_group=group, rank=rank).exclude(pk=exclude)
    if others.exists():
        raise Conflict(f"another plan of {group.name} has rank {rank}", code="duplicate_code", field="rank")
    return group, rank


@transaction.atomic
def create_membership_plan(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    terms: MembershipTerms,
    tier_group_id: int | None = None,
    rank: int = 0,
    status: str = PlanStatus.ON_SALE,
    now: dt.datetime | None = None,
) -> MembershipPlanVersion:
    actor.require(Perm.MANAGE_MEMBERSHIP_PLANS)
    now = now or clock.now()
    code = validation.slug(code, "code")
    if len(code) > MAX_CODE:
        raise InvalidInput(f"a membership plan's code is at most {MAX_CODE} characters", field="code")
    status = validation.choice(status, PlanStatus, "status")
    taken = f"a membership plan with code {code!r} exists"
    if MembershipPlan.objects.filter(tenant=tenant, code=code).exists():
        raise Conflict(taken, code="duplicate_code", field="code")
    group, rank = _placement(tenant, tier_group_id, rank)
    fields = _check(tenant, terms)
    with unique(taken, field="code"):
        plan = MembershipPlan.objects.create(
            tenant=tenant, code=code, tier_group=group, rank=rank, status=status, created_at=now
        )
    version = _write_version(plan, terms, fields, now)
    audit(tenant=tenant, actor=actor, action="membership_plan.create", subject=version, now=now)
    return version


def lock_plan(tenant: Tenant, plan_id) -> MembershipPlan:
    """The plan under its row lock (lock order: before a membership; versions are numbered under it)."""
    return scoped_get(
        MembershipPlan,
        tenant=tenant,
        pk=plan_id,
        field="plan_id",
        queryset=MembershipPlan.objects.select_for_update(no_key=True),
    )


@transaction.atomic
def edit_membership_plan(
    *, tenant: Tenant, actor: Actor, plan_id: int, terms: MembershipTerms, now: dt.datetime | None = None
) -> MembershipPlanVersion:
    """New terms: always a new version (memberships keep theirs)."""
    actor.require(Perm.MANAGE_MEMBERSHIP_PLANS)
    now = now or clock.now()
    plan = lock_plan(tenant, plan_id)
    fields = _check(tenant, terms)
    version = _write_version(plan, terms, fields, now)
    audit(
        tenant=tenant,
        actor=actor,
        action="membership_plan.edit",
        subject=version,
        now=now,
        data={"version": version.number},
    )
    return version


@transaction.atomic
def set_membership_plan_status(
    *, tenant: Tenant, actor: Actor, plan_id: int, status: str, now: dt.datetime | None = None
) -> MembershipPlan:
    """Draft, on sale or retired: retiring stops new subscriptions; memberships carry on."""
    actor.require(Perm.MANAGE_MEMBERSHIP_PLANS)
    plan = lock_plan(tenant, plan_id)
    plan.status = validation.choice(status, PlanStatus, "status").value
    plan.save(update_fields=["status"])
    audit(
        tenant=tenant,
        actor=actor,
        action="membership_plan.status",
        subject=plan,
        now=now,
        data={"status": plan.status},
    )
    return plan
