"""Reads of promotions: their terms for the rules, the ones that apply automatically or by code."""

from __future__ import annotations

from punchcard.billing.models import OrderLine, OrderLineKind, OrderStatus
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .models import Promotion
from .rules import Kind, PromotionTerms, Tier


def terms_of(promotion: Promotion, plan_ids: frozenset[int] | None = None) -> PromotionTerms:
    if plan_ids is None:
        plan_ids = frozenset(promotion.plans.values_list("id", flat=True))
    return PromotionTerms(
        id=promotion.id,
        name=promotion.name,
        kind=Kind(promotion.kind),
        code=promotion.code or None,
        automatic=promotion.automatic,
        stackable=promotion.stackable,
        priority=promotion.priority,
        plan_ids=plan_ids,
        valid_from=promotion.valid_from,
        valid_to=promotion.valid_to,
        active=promotion.retired_at is None,
        percent_bp=promotion.percent_bp,
        amount=promotion.amount,
        buy=promotion.buy,
        free=promotion.free,
        tiers=tuple(Tier(t["min"], t.get("max"), t["percent_bp"]) for t in promotion.tiers),
    )


def automatic_promotions(tenant: Tenant) -> list[Promotion]:
    return list(
        Promotion.objects.filter(tenant=tenant, automatic=True, retired_at__isnull=True)
        .prefetch_related("plans")
        .order_by("priority", "id")
    )


def promotion_by_code(tenant: Tenant, code: str) -> Promotion | None:
    return Promotion.objects.filter(tenant=tenant, code=code.strip().upper()).exclude(code="").first()


def get_promotion(tenant: Tenant, promotion_id) -> Promotion:
    return scoped_get(Promotion, tenant=tenant, pk=promotion_id, field="promotion_id")


def packages_bought(tenant: Tenant, patient_id: int) -> int:
    """How many packages the patient has bought (paid or pay-later orders), for loyalty tiers."""
    return OrderLine.objects.filter(
        order__tenant=tenant,
        order__patient_id=patient_id,
        kind__in=[OrderLineKind.PACKAGE, OrderLineKind.UPGRADE],
        order__status__in=[OrderStatus.PAID, OrderStatus.PAY_LATER],
    ).count()
