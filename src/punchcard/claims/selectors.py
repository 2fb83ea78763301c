"""Reads of claim codes, and their money invariant (the value each code holds equals its journal postings)."""

from __future__ import annotations

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import scoped_get

from .models import ClaimCode, ClaimStatus


def get_claim_code(tenant: Tenant, code_id) -> ClaimCode:
    return scoped_get(
        ClaimCode, tenant=tenant, pk=code_id, field="code_id", queryset=ClaimCode.objects.select_related("order_line")
    )


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
