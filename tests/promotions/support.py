"""Shared checks for the promotions and reports scenarios."""

from django.db.models import Sum

from punchcard.billing import selectors as money
from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.packages import selectors


def assert_clean(tenant) -> None:
    """Every scenario ends here: sessions equal their ledger, money equals the journal, the journal balances."""
    assert selectors.ledger_mismatches(tenant) == []
    assert money.money_problems(tenant) == []
    assert selectors.ledger_mismatches() == []
    assert money.money_problems() == []
    assert (Posting.objects.filter(tenant=tenant).aggregate(s=Sum("amount"))["s"] or 0) == 0


def balance(tenant, role, **filters) -> int:
    return Posting.objects.filter(tenant=tenant, account__role=role, **filters).aggregate(s=Sum("amount"))["s"] or 0


def deferred(tenant) -> int:
    """The deferred-revenue (contract liability) account's balance, as a positive number."""
    return -balance(tenant, Role.DEFERRED_REVENUE)
