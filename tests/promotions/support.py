"""Figures the promotions and reports scenarios read off the journal."""

from django.db.models import Sum

from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting


def balance(tenant, role, **filters) -> int:
    return Posting.objects.filter(tenant=tenant, account__role=role, **filters).aggregate(s=Sum("amount"))["s"] or 0


def deferred(tenant) -> int:
    """The deferred-revenue (contract liability) account's balance, as a positive number."""
    return -balance(tenant, Role.DEFERRED_REVENUE)
