"""The claim codes' invariant that `punchcard reconcile` proves (registered with ledger.reconcile)."""

from __future__ import annotations

from punchcard.ledger.reconcile import Check, Problem
from punchcard.tenancy.models import Tenant

from .models import ClaimCode
from .selectors import claim_code_money_problems


def claim_codes(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Each code's held value equals what the journal holds for it; closed codes hold nothing."""
    codes = ClaimCode.objects.all() if tenant is None else ClaimCode.objects.filter(tenant=tenant)
    return codes.count(), [Problem("claim_codes", "claim codes", text) for text in claim_code_money_problems(tenant)]


CHECKS = [Check("claim_codes", "every claim code holds what the journal holds for it", claim_codes)]
