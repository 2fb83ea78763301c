"""Reads of promotions and claim codes, and the claim codes' money invariant."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from punchcard.billing.models import OrderLine, OrderLineKind, OrderStatus
from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .models import ClaimCode, ClaimStatus, Promotion
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


def codes_of_order(tenant: Tenant, order_id: int) -> list[ClaimCode]:
    return list(ClaimCode.objects.filter(tenant=tenant, order_line__order_id=order_id).order_by("id"))


def claim_codes(tenant: Tenant, *, status: str | None = None, kind: str | None = None, buyer_id: int | None = None):
    qs = ClaimCode.objects.filter(tenant=tenant)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if buyer_id:
        qs = qs.filter(buyer_id=buyer_id)
    return qs


def code_held_postings(tenant: Tenant | None = None):
    """Deferred-revenue postings held on claim codes (no package line), per code id."""
    qs = Posting.objects.filter(
        account__role=Role.DEFERRED_REVENUE, package_line__isnull=True, entry__event_type="claim_code"
    )
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    return qs


def claim_code_money_problems(tenant: Tenant | None = None) -> list[str]:
    """Each code's held value must equal what the journal holds for it; claimed, revoked and expired
    codes hold nothing. Set-based: one aggregate per code, compared in the database."""
    journal = (
        code_held_postings(tenant)
        .filter(entry__event_id=OuterRef("id"))
        .values("entry__event_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    codes = ClaimCode.objects.all() if tenant is None else ClaimCode.objects.filter(tenant=tenant)
    bad = (
        codes.annotate(held=Coalesce(-Subquery(journal), Value(0)))
        .filter(~Q(held=F("deferred_value")) | (~Q(status=ClaimStatus.OPEN) & ~Q(deferred_value=0)))
        .values_list("id", "status", "deferred_value", "held")[:100]
    )
    problems = [
        f"claim code {i} ({status}): holds {value} but the journal holds {held}" for i, status, value, held in bad
    ]
    # Held postings whose code does not exist (of this tenant) would be money nobody can claim.
    orphans = code_held_postings(tenant).exclude(entry__event_id__in=codes.values("id"))
    if orphans.exists():
        problems.append(f"{orphans.count()} deferred-revenue posting(s) name a claim code that does not exist")
    return problems


def code_summary(tenant: Tenant) -> dict[str, dict[str, int]]:
    """status → {count, held value} (one query)."""
    rows = (
        ClaimCode.objects.filter(tenant=tenant)
        .values("status")
        .annotate(n=Count("id"), held=Coalesce(Sum("deferred_value"), Value(0)))
    )
    return {r["status"]: {"count": r["n"], "held": r["held"]} for r in rows}


def open_codes_due_to_expire(as_of: dt.date, tenant: Tenant | None = None):
    qs = ClaimCode.objects.filter(status__in=[ClaimStatus.OPEN, ClaimStatus.UNPAID], expires_on__lt=as_of)
    return qs if tenant is None else qs.filter(tenant=tenant)
