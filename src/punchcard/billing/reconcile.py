"""Billing's invariant that `punchcard reconcile` proves (registered with ledger.reconcile)."""

from __future__ import annotations

from django.db.models import Count, Max

from punchcard.ledger.reconcile import Check, Problem
from punchcard.packages.models import Package
from punchcard.tenancy.models import Tenant

from .models import Counter, Order, Receipt
from .selectors import money_problems


def money(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Per package, sold = recognised + breakage + refunded + upgraded + deferred; every line's deferred
    value equals its deferred-revenue postings; the deferred-revenue account equals the unredeemed
    sessions' value."""
    packages = Package.objects.all() if tenant is None else Package.objects.filter(tenant=tenant)
    return packages.count(), [Problem("money", "deferred revenue", text) for text in money_problems(tenant)]


def numbers(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Orders and receipts are numbered 1…n per tenant without a gap (numbers are taken last, right before
    commit: a committed row without one would be a bug), and each counter stands at its last number."""
    problems, checked = [], 0
    for model, name in ((Order, "order"), (Receipt, "receipt")):
        rows = model.objects.all() if tenant is None else model.objects.filter(tenant=tenant)
        for row in rows.filter(number__isnull=True).values_list("pk", flat=True)[:20]:
            problems.append(Problem("numbers", f"{name} {row}", "committed without a number"))
        counters = dict(Counter.objects.filter(name=name).values_list("tenant_id", "value"))
        for tenant_id, count, highest in _per_tenant(rows):
            checked += count
            if count != highest or counters.get(tenant_id, 0) != highest:
                problems.append(
                    Problem(
                        "numbers",
                        f"{name} numbers of tenant {tenant_id}",
                        f"{count} numbered up to {highest}, counter at {counters.get(tenant_id, 0)}",
                    )
                )
    return checked, problems


def _per_tenant(rows):
    return rows.filter(number__isnull=False).order_by().values_list("tenant_id").annotate(Count("id"), Max("number"))


CHECKS = [
    Check("money", "deferred revenue agrees with the sessions, package by package", money),
    Check("numbers", "order and receipt numbers run 1…n per tenant without a gap", numbers),
]
