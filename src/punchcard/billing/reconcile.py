"""Billing's invariant that `punchcard reconcile` proves (registered with ledger.reconcile)."""

from __future__ import annotations

from punchcard.ledger.reconcile import Check, Problem
from punchcard.packages.models import Package
from punchcard.tenancy.models import Tenant

from .selectors import money_problems


def money(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Per package, sold = recognised + breakage + refunded + upgraded + deferred; every line's deferred
    value equals its deferred-revenue postings; the deferred-revenue account equals the unredeemed
    sessions' value."""
    packages = Package.objects.all() if tenant is None else Package.objects.filter(tenant=tenant)
    return packages.count(), [Problem("money", "deferred revenue", text) for text in money_problems(tenant)]


CHECKS = [Check("money", "deferred revenue agrees with the sessions, package by package", money)]
