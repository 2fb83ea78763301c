"""How every scenario ends: the product's own `reconcile`, every check of every app, must be clean.

The same checks `punchcard reconcile` runs (session caches against the ledger, every journal entry and
the whole journal balanced, money conserved package by package and code by code, the allocation
summing to each price). A scenario passes its tenant; the whole database is checked as well, so a
write that strayed into another tenant is caught too.
"""

from __future__ import annotations

from punchcard.ledger.reconcile import reconcile


def assert_reconciled(tenant=None) -> None:
    scopes = [tenant, None] if tenant is not None else [None]
    problems = [
        f"{'tenant ' + tenant.slug if scope is not None else 'all tenants'}: {p.check}: {p.subject}: {p.detail}"
        for scope in scopes
        for result in reconcile(scope)
        for p in result.problems
    ]
    assert problems == [], "reconcile found problems:\n" + "\n".join(problems)
