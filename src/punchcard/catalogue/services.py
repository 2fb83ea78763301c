"""Catalogue writes (SPEC §2). Editing a sold version makes a new version; sold packages keep theirs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from punchcard import clock
from punchcard.db import unique
from punchcard.domain import validation
from punchcard.domain.eligibility import Scope
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.expiry import MAX_COUNT, ExpiryMode, ExpiryRule
from punchcard.domain.money import check_amount
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Centre, Service, Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from .models import CommissionPolicy, PackageType, Plan, PlanKind, PlanLine, PlanStatus, PlanVersion

MAX_SESSIONS = 10_000
MAX_GRACE_DAYS = 365
MAX_BENEFICIARIES = 50


@dataclass
class LineSpec:
    service_ids: list[int]
    sessions: int
    bonus_sessions: int = 0
    patient_pays: int = 0
    label: str = ""
    top_up_price: int | None = None


@dataclass
class PlanTerms:
    name: str
    price: int
    lines: list[LineSpec]
    currency: str | None = None  # defaults to the tenant's
    description: str = ""
    package_type: str | None = None
    tax_rate_bp: int = 0
    tax_inclusive: bool = True
    expiry: dict = field(default_factory=lambda: {"kind": "none"})
    expiry_mode: str = ExpiryMode.HARD
    grace_days: int = 0
    scope: str = Scope.SINGLE
    centre_ids: list[int] = field(default_factory=list)
    shareable: bool = False
    max_beneficiaries: int = 1
    transferable: bool = False
    blackout_dates: list = field(default_factory=list)
    cap_per_day: int | None = None
    cap_per_week: int | None = None
    cap_per_month: int | None = None
    min_gap_days: int | None = None
    sale_from: dt.date | None = None
    sale_to: dt.date | None = None
    commission_policy: str = CommissionPolicy.ON_REDEMPTION


def _check_terms(tenant: Tenant, terms: PlanTerms) -> tuple[dict, list[tuple[LineSpec, list[Service]]], list[Centre]]:
    currency = terms.currency or tenant.currency
    if currency != tenant.currency:
        raise InvalidInput(
            f"plans are priced in the tenant's currency {tenant.currency}", code="currency_mismatch", field="currency"
        )
    if not terms.lines:
        raise InvalidInput("a plan needs at least one entitlement line", code="plan_empty", field="lines")
    if len(terms.lines) > 50:
        raise InvalidInput("a plan has at most 50 lines", field="lines")
    lines = []
    for i, spec in enumerate(terms.lines):
        where = f"lines[{i}]"
        validation.whole(spec.sessions, f"{where}.sessions", low=1, high=MAX_SESSIONS)
        validation.whole(spec.bonus_sessions, f"{where}.bonus_sessions", low=0, high=MAX_SESSIONS)
        check_amount(spec.patient_pays, field=f"{where}.patient_pays")
        if spec.top_up_price is not None:
            check_amount(spec.top_up_price, field=f"{where}.top_up_price")
        if not spec.service_ids:
            raise InvalidInput(
                f"{where} must cover at least one service", code="plan_empty", field=f"{where}.service_ids"
            )
        services = [
            scoped_get(Service, tenant=tenant, pk=sid, field=f"{where}.service_ids")
            for sid in dict.fromkeys(spec.service_ids)
        ]
        lines.append((spec, services))
    rule = ExpiryRule.from_dict(terms.expiry) if isinstance(terms.expiry, dict) else None
    if rule is None:
        raise InvalidInput("expiry must be an object", field="expiry")
    if rule.fixed_date is not None and (rule.fixed_date - clock.now().date()).days > MAX_COUNT:
        raise InvalidInput("a fixed expiry date can be at most ten years ahead", field="expiry.fixed_date")
    mode = validation.choice(terms.expiry_mode, ExpiryMode, "expiry_mode")
    grace = validation.whole(terms.grace_days, "grace_days", low=0, high=MAX_GRACE_DAYS)
    if mode is ExpiryMode.HARD and grace:
        raise InvalidInput("grace days apply to soft expiry only", field="grace_days")
    scope = validation.choice(terms.scope, Scope, "scope")
    centres = [scoped_get(Centre, tenant=tenant, pk=cid, field="centre_ids") for cid in dict.fromkeys(terms.centre_ids)]
    if scope is Scope.LISTED and not centres:
        raise InvalidInput("a plan scoped to listed centres needs at least one centre", field="centre_ids")
    max_beneficiaries = validation.whole(terms.max_beneficiaries, "max_beneficiaries", low=1, high=MAX_BENEFICIARIES)
    if not terms.shareable and max_beneficiaries != 1:
        raise InvalidInput("only a shareable plan can have more than one beneficiary", field="max_beneficiaries")
    if terms.shareable and max_beneficiaries < 2:
        raise InvalidInput("a shareable plan allows at least 2 people (the holder counts)", field="max_beneficiaries")
    blackout = sorted({validation.date(d, "blackout_dates").isoformat() for d in terms.blackout_dates})
    sale_from = validation.date(terms.sale_from, "sale_from") if terms.sale_from else None
    sale_to = validation.date(terms.sale_to, "sale_to") if terms.sale_to else None
    if sale_from and sale_to and sale_from > sale_to:
        raise InvalidInput("the sale window ends before it starts", field="sale_to")
    package_type = None
    if terms.package_type:
        package_type, _ = PackageType.objects.get_or_create(
            tenant=tenant, name=validation.text(terms.package_type, "package_type", max_length=100)
        )
    fields = dict(
        name=validation.text(terms.name, "name"),
        description=validation.text(terms.description, "description", max_length=5000, required=False),
        package_type=package_type,
        price=check_amount(terms.price, field="price"),
        currency=currency,
        tax_rate_bp=validation.whole(terms.tax_rate_bp, "tax_rate_bp", low=0, high=10_000),
        tax_inclusive=bool(terms.tax_inclusive),
        expiry=rule.to_dict(),
        expiry_mode=mode.value,
        grace_days=grace,
        scope=scope.value,
        shareable=bool(terms.shareable),
        max_beneficiaries=max_beneficiaries,
        transferable=bool(terms.transferable),
        blackout_dates=blackout,
        cap_per_day=validation.whole(terms.cap_per_day, "cap_per_day", low=1, high=MAX_SESSIONS, optional=True),
        cap_per_week=validation.whole(terms.cap_per_week, "cap_per_week", low=1, high=MAX_SESSIONS, optional=True),
        cap_per_month=validation.whole(terms.cap_per_month, "cap_per_month", low=1, high=MAX_SESSIONS, optional=True),
        min_gap_days=validation.whole(terms.min_gap_days, "min_gap_days", low=1, high=365, optional=True),
        sale_from=sale_from,
        sale_to=sale_to,
        commission_policy=validation.choice(terms.commission_policy, CommissionPolicy, "commission_policy").value,
    )
    return fields, lines, centres


def _refuse_expired(version: PlanVersion, today: dt.date) -> None:
    """A plan whose fixed expiry has passed cannot go on sale: every package would be expired at once."""
    if version.expired_on(today):
        raise Conflict(
            f"{version.name} expired on {version.fixed_expiry.isoformat()}: it cannot be put on sale; "
            "give it a later fixed expiry first",
            code="plan_expired",
            field="status",
        )


def _write_version(plan: Plan, number: int, fields: dict, lines, centres, now) -> PlanVersion:
    version = PlanVersion.objects.create(tenant=plan.tenant, plan=plan, number=number, created_at=now, **fields)
    version.centres.set(centres)
    for position, (spec, services) in enumerate(lines):
        line = PlanLine.objects.create(
            version=version,
            position=position,
            label=spec.label or " / ".join(s.name for s in services),
            sessions=spec.sessions,
            bonus_sessions=spec.bonus_sessions,
            patient_pays=spec.patient_pays,
            top_up_price=spec.top_up_price,
        )
        line.services.set(services)
    return version


@transaction.atomic
def create_plan(
    *, tenant: Tenant, actor: Actor, code: str, terms: PlanTerms, status: str = PlanStatus.ON_SALE, now=None
) -> PlanVersion:
    actor.require(Perm.EDIT_CATALOGUE)
    now = now or clock.now()
    code = validation.slug(code, "code")
    status = validation.choice(status, PlanStatus, "status")
    taken = f"a plan with code {code!r} exists"
    if Plan.objects.filter(tenant=tenant, code=code).exists():
        raise Conflict(taken, code="duplicate_code", field="code")
    fields, lines, centres = _check_terms(tenant, terms)
    with unique(taken, field="code"):
        plan = Plan.objects.create(tenant=tenant, code=code, status=status, created_at=now)
    version = _write_version(plan, 1, fields, lines, centres, now)
    if status == PlanStatus.ON_SALE:
        _refuse_expired(version, tenant.today(now))
    audit(tenant=tenant, actor=actor, action="plan.create", subject=version, now=now)
    return version


@transaction.atomic
def edit_plan(*, tenant: Tenant, actor: Actor, plan_id: int, terms: PlanTerms, now=None) -> PlanVersion:
    """New terms for a plan: a new version if the current one was sold, else the draft is rewritten."""
    actor.require(Perm.EDIT_CATALOGUE)
    now = now or clock.now()
    plan = scoped_get(
        Plan,
        tenant=tenant,
        pk=plan_id,
        field="plan_id",
        queryset=Plan.objects.filter(kind=PlanKind.PACKAGE).select_for_update(no_key=True),
    )
    fields, lines, centres = _check_terms(tenant, terms)
    current = plan.current
    if current.packages.exists() or current.order_lines.exists():
        version = _write_version(plan, current.number + 1, fields, lines, centres, now)
    else:
        # Never sold: no package depends on these terms, so replace the version in place.
        number = current.number
        PlanLine.services.through.objects.filter(planline__version=current).delete()
        current.lines.all().delete()
        current.centres.clear()
        current.delete()
        version = _write_version(plan, number, fields, lines, centres, now)
    audit(tenant=tenant, actor=actor, action="plan.edit", subject=version, now=now, data={"version": version.number})
    return version


@transaction.atomic
def set_plan_status(*, tenant: Tenant, actor: Actor, plan_id: int, status: str, now=None) -> Plan:
    actor.require(Perm.EDIT_CATALOGUE)
    plan = scoped_get(
        Plan, tenant=tenant, pk=plan_id, field="plan_id", queryset=Plan.objects.filter(kind=PlanKind.PACKAGE)
    )
    plan.status = validation.choice(status, PlanStatus, "status").value
    if plan.status == PlanStatus.ON_SALE:
        _refuse_expired(plan.current, tenant.today(now or clock.now()))
    plan.save(update_fields=["status"])
    audit(tenant=tenant, actor=actor, action="plan.status", subject=plan, data={"status": plan.status}, now=now)
    return plan


@transaction.atomic
def set_plan_online(*, tenant: Tenant, actor: Actor, plan_id: int, online: bool, now=None) -> Plan:
    """Whether patients may buy the plan in the portal (while it is on sale there as at the desk)."""
    actor.require(Perm.EDIT_CATALOGUE)
    plan = scoped_get(Plan, tenant=tenant, pk=plan_id, field="plan_id")
    if not isinstance(online, bool):
        raise InvalidInput("online must be true or false", field="online")
    plan.sold_online = online
    plan.save(update_fields=["sold_online"])
    audit(tenant=tenant, actor=actor, action="plan.online", subject=plan, data={"online": online}, now=now)
    return plan


def benefit_terms(*, name: str, lines: list[LineSpec], currency: str) -> PlanTerms:
    """A membership period's benefits as plan terms: its lines, usable at every centre, priced at nothing
    (each period's package is valued at its share of the fee when it is opened)."""
    return PlanTerms(name=name, price=0, lines=lines, currency=currency, scope=Scope.ALL)


def write_benefits(*, tenant: Tenant, code: str, terms: PlanTerms, now: dt.datetime) -> PlanVersion:
    """A new, immutable version of a membership plan's benefits (the plan `code` made on first use).

    Called inside the membership plan's own service, under its lock, which checks the permission and audits."""
    fields, lines, centres = _check_terms(tenant, terms)
    plan = Plan.objects.filter(tenant=tenant, code=code).first()
    if plan is None:
        with unique(f"a plan with code {code!r} exists", field="code"):
            plan = Plan.objects.create(
                tenant=tenant, code=code, kind=PlanKind.MEMBERSHIP_BENEFITS, status=PlanStatus.DRAFT, created_at=now
            )
    elif plan.kind != PlanKind.MEMBERSHIP_BENEFITS:
        raise Conflict(f"a package plan has the code {code!r}", code="duplicate_code", field="code")
    number = (plan.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return _write_version(plan, number, fields, lines, centres, now)
