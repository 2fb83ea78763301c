"""Promotions (SPEC §9). One function, one transaction each.

Promotions are evaluated inside billing.place_order (`offers_for_order`): the discount lowers each
line's price before its tax split, and bonus sessions join the line's grant at activation, so the
journal defers exactly what is paid, spread over every session granted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.money import check_amount, split_tax
from punchcard.tenancy.actors import Actor
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.permissions import Perm
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from . import selectors
from .models import Promotion
from .rules import Applied, Kind, LineToPrice, PlanLineTerms, best_offer, not_applicable, price_one

MAX_PERCENT_BP = 100_00


def _text(value, field: str, *, max_length: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return value


def _whole(value, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _date(value, field: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"{field} must be a date", field=field)
    return value


def _promo_code(value) -> str:
    code = _text(value, "code", max_length=64, required=False).upper()
    if code and not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidInput("a promotion code is letters, digits, '-' or '_'", field="code")
    return code


def _tiers(tiers) -> list[dict]:
    if not isinstance(tiers, (list, tuple)) or not tiers:
        raise InvalidInput("a loyalty promotion needs at least one tier", field="tiers")
    out = []
    for i, tier in enumerate(tiers):
        if not isinstance(tier, dict) or set(tier) - {"min", "max", "percent_bp"}:
            raise InvalidInput("a tier is {min, max, percent_bp}", field=f"tiers[{i}]")
        low = _whole(tier.get("min"), f"tiers[{i}].min", low=0, high=100_000)
        high = tier.get("max")
        if high is not None:
            high = _whole(high, f"tiers[{i}].max", low=low, high=100_000)
        bp = _whole(tier.get("percent_bp"), f"tiers[{i}].percent_bp", low=1, high=MAX_PERCENT_BP)
        out.append({"min": low, "max": high, "percent_bp": bp})
    out.sort(key=lambda t: t["min"])
    for a, b in zip(out, out[1:]):
        if a["max"] is None or a["max"] >= b["min"]:
            raise InvalidInput(f"loyalty tiers overlap at {b['min']} package(s)", field="tiers")
    return out


@transaction.atomic
def create_promotion(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str,
    kind: str,
    code: str | None = None,
    automatic: bool = False,
    stackable: bool = False,
    priority: int = 100,
    plan_ids: list[int] = (),
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    percent_bp: int = 0,
    amount: int = 0,
    buy: int = 0,
    free: int = 0,
    tiers: list[dict] = (),
    now: dt.datetime | None = None,
) -> Promotion:
    """A promotion: Buy N Free M, % off, fixed amount off, or loyalty tiers; by code and/or automatic."""
    actor.require(Perm.EDIT_CATALOGUE)
    now = now or clock.now()
    try:
        kind = Kind(kind)
    except ValueError:
        raise InvalidInput(f"kind must be one of {', '.join(k.value for k in Kind)}", field="kind") from None
    code = _promo_code(code)
    if not code and not automatic:
        raise InvalidInput("a promotion needs a code, or to be automatic", field="code")
    fields = dict(
        name=_text(name, "name", max_length=200),
        kind=kind.value,
        code=code,
        automatic=bool(automatic),
        stackable=bool(stackable),
        priority=_whole(priority, "priority", low=0, high=10_000),
        valid_from=_date(valid_from, "valid_from"),
        valid_to=_date(valid_to, "valid_to"),
    )
    if fields["valid_from"] and fields["valid_to"] and fields["valid_from"] > fields["valid_to"]:
        raise InvalidInput("the promotion's window ends before it starts", field="valid_to")
    if kind is Kind.PERCENT:
        fields["percent_bp"] = _whole(percent_bp, "percent_bp", low=1, high=MAX_PERCENT_BP)
    elif kind is Kind.FIXED:
        fields["amount"] = check_amount(amount, field="amount", allow_zero=False)
    elif kind is Kind.BONUS_SESSIONS:
        fields["buy"] = _whole(buy, "buy", low=1, high=10_000)
        fields["free"] = _whole(free, "free", low=1, high=10_000)
    else:
        fields["tiers"] = _tiers(tiers)
    plans = [scoped_get(Plan, tenant=tenant, pk=pid, field="plan_ids") for pid in dict.fromkeys(plan_ids or ())]
    if code and Promotion.objects.filter(tenant=tenant, code=code).exists():
        raise Conflict(f"a promotion with code {code!r} exists", code="invalid", field="code")
    promotion = Promotion.objects.create(tenant=tenant, created_at=now, created_by=actor.label, **fields)
    promotion.plans.set(plans)
    audit(
        tenant=tenant,
        actor=actor,
        action="promotion.create",
        subject=promotion,
        now=now,
        data={"kind": kind.value, "code": code, "automatic": promotion.automatic},
    )
    return promotion


@transaction.atomic
def retire_promotion(*, tenant: Tenant, actor: Actor, promotion_id: int, now: dt.datetime | None = None) -> Promotion:
    """Stop a promotion from applying to new orders; orders already placed keep what they got."""
    actor.require(Perm.EDIT_CATALOGUE)
    now = now or clock.now()
    promotion = scoped_get(
        Promotion, tenant=tenant, pk=promotion_id, field="promotion_id", queryset=Promotion.objects.select_for_update()
    )
    if promotion.retired_at is None:
        promotion.retired_at, promotion.retired_by = now, actor.label
        promotion.save(update_fields=["retired_at", "retired_by"])
        audit(tenant=tenant, actor=actor, action="promotion.retire", subject=promotion, now=now)
    return promotion


def _line_to_price(version: PlanVersion) -> LineToPrice:
    lines = tuple(
        PlanLineTerms(pl.id, pl.sessions, max(s.list_price for s in pl.services.all()))
        for pl in version.lines.prefetch_related("services")
    )
    return LineToPrice(plan_id=version.plan_id, price=version.price, lines=lines)


def offers_for_order(
    *, tenant: Tenant, patient: Patient, day: dt.date, versions: list[PlanVersion], code: str | None
) -> list[tuple[int, dict]]:
    """(discount, record for OrderLine.promotion) per order line; called by billing.place_order.

    A typed code that is unknown, retired, outside its window or for none of the order's plans is
    refused, so the patient is never silently charged more than they were promised.
    """
    automatic = selectors.automatic_promotions(tenant)
    entered = None
    if code is not None:
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("promotion_code must be text", field="promotion_code")
        entered = selectors.promotion_by_code(tenant, code)
        if entered is None:
            raise Conflict(
                f"no promotion has the code {code.strip().upper()!r}",
                code="promotion_not_applicable",
                field="promotion_code",
            )
    if not automatic and entered is None:
        return [(0, {}) for _ in versions]
    terms = [selectors.terms_of(p) for p in automatic]
    entered_terms = selectors.terms_of(entered) if entered else None
    if entered_terms and all(t.id != entered_terms.id for t in terms):
        terms.append(entered_terms)
    bought = selectors.packages_bought(tenant, patient.id) if any(t.kind is Kind.LOYALTY for t in terms) else 0
    lines = [_line_to_price(v) for v in versions]
    if entered_terms:
        # Refused only when it can give nothing on any line; beaten by a better offer, it is just recorded.
        reasons = [
            not_applicable(entered_terms, plan_id=line.plan_id, day=day)
            or price_one(entered_terms, line, remaining_price=line.price, packages_bought=bought)
            for line in lines
        ]
        if not any(isinstance(r, Applied) for r in reasons):
            raise Conflict(
                f"the code {entered_terms.code} does not apply: {reasons[0]}",
                code="promotion_not_applicable",
                field="promotion_code",
            )
    offers = [best_offer(terms, line, day=day, packages_bought=bought, entered=entered_terms) for line in lines]
    return [(o.discount, o.record(entered_code=entered_terms.code if entered_terms else None)) for o in offers]


@dataclass(frozen=True)
class Quote:
    plan_id: int
    name: str
    price: int
    discount: int
    net: int
    tax: int
    gross: int
    promotion: dict


def quote(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    centre_id: int,
    plan_ids: list[int],
    promotion_code: str | None = None,
    now: dt.datetime | None = None,
) -> list[Quote]:
    """What an order would cost with today's promotions; writes nothing."""
    actor.require(Perm.READ)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    from punchcard.tenancy.models import Centre

    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    if not plan_ids or len(plan_ids) > billing.MAX_ORDER_ITEMS:
        raise InvalidInput(f"name 1 to {billing.MAX_ORDER_ITEMS} plans", field="plan_ids")
    versions = [
        scoped_get(Plan, tenant=tenant, pk=pid, field=f"plan_ids[{i}]").current for i, pid in enumerate(plan_ids)
    ]
    offers = offers_for_order(
        tenant=tenant, patient=patient, day=local_date(now, centre), versions=versions, code=promotion_code
    )
    out = []
    for version, (discount, record) in zip(versions, offers):
        split = split_tax(version.price - discount, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive)
        out.append(
            Quote(version.plan_id, version.name, version.price, discount, split.net, split.tax, split.gross, record)
        )
    return out
