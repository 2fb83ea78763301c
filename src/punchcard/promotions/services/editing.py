"""Defining promotions: create one (its terms checked), retire it. One function, one transaction each."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction

from punchcard import clock
from punchcard.catalogue.models import Plan
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.money import check_amount
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from ..models import Promotion
from ..rules import Kind

MAX_PERCENT_BP = 100_00


def _promo_code(value) -> str:
    code = validation.text(value, "code", max_length=64, required=False).upper()
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
        low = validation.whole(tier.get("min"), f"tiers[{i}].min", low=0, high=100_000)
        high = tier.get("max")
        if high is not None:
            high = validation.whole(high, f"tiers[{i}].max", low=low, high=100_000)
        bp = validation.whole(tier.get("percent_bp"), f"tiers[{i}].percent_bp", low=1, high=MAX_PERCENT_BP)
        out.append({"min": low, "max": high, "percent_bp": bp})
    out.sort(key=lambda t: t["min"])
    for a, b in itertools.pairwise(out):
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
    kind = validation.choice(kind, Kind, "kind")
    code = _promo_code(code)
    if not code and not automatic:
        raise InvalidInput("a promotion needs a code, or to be automatic", field="code")
    fields = dict(
        name=validation.text(name, "name", max_length=200),
        kind=kind.value,
        code=code,
        automatic=bool(automatic),
        stackable=bool(stackable),
        priority=validation.whole(priority, "priority", low=0, high=10_000),
        valid_from=validation.date(valid_from, "valid_from", optional=True, parse=False),
        valid_to=validation.date(valid_to, "valid_to", optional=True, parse=False),
    )
    if fields["valid_from"] and fields["valid_to"] and fields["valid_from"] > fields["valid_to"]:
        raise InvalidInput("the promotion's window ends before it starts", field="valid_to")
    if kind is Kind.PERCENT:
        fields["percent_bp"] = validation.whole(percent_bp, "percent_bp", low=1, high=MAX_PERCENT_BP)
    elif kind is Kind.FIXED:
        fields["amount"] = check_amount(amount, field="amount", allow_zero=False)
    elif kind is Kind.BONUS_SESSIONS:
        fields["buy"] = validation.whole(buy, "buy", low=1, high=10_000)
        fields["free"] = validation.whole(free, "free", low=1, high=10_000)
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
        Promotion,
        tenant=tenant,
        pk=promotion_id,
        field="promotion_id",
        queryset=Promotion.objects.select_for_update(no_key=True),
    )
    if promotion.retired_at is None:
        promotion.retired_at, promotion.retired_by = now, actor.label
        promotion.save(update_fields=["retired_at", "retired_by"])
        audit(tenant=tenant, actor=actor, action="promotion.retire", subject=promotion, now=now)
    return promotion
