"""The packages' invariants that `punchcard reconcile` proves (registered with ledger.reconcile)."""

from __future__ import annotations

from django.db.models import BigIntegerField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from punchcard.ledger.reconcile import Check, Problem
from punchcard.tenancy.models import Tenant

from .models import EntryKind, Package, PackageLine, SessionEntry
from .selectors import ledger_mismatches


def _scoped(model, tenant: Tenant | None):
    return model.objects.all() if tenant is None else model.objects.filter(tenant=tenant)


def session_cache(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Every package line's cached balance equals the sum of its session entries."""
    problems = [
        Problem(
            "session_cache",
            f"package {m.package_id} line {m.line_id}",
            f"{m.column}: cached {m.cached}, ledger {m.ledger}",
        )
        for m in ledger_mismatches(tenant)
    ]
    return _scoped(PackageLine, tenant).count(), problems


def allocation(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """The values granted to a package's sessions sum exactly to its net price (SPEC §8.3 allocation)."""
    granted = (
        # An imported package's grant is an `import` entry that grants (its other `import` entry records the
        # sessions used before the move).
        SessionEntry.objects.filter(
            Q(kind=EntryKind.GRANT) | Q(kind=EntryKind.IMPORT, granted__gt=0), package=OuterRef("pk")
        )
        .values("package")
        .annotate(s=Sum("value"))
        .values("s")
    )
    packages = _scoped(Package, tenant)
    bad = (
        packages.annotate(granted=Coalesce(Subquery(granted), Value(0, output_field=BigIntegerField())))
        .exclude(granted=F("price_net"))
        .values_list("id", "granted", "price_net")
        .order_by("id")
    )
    return packages.count(), [
        Problem("allocation", f"package {pk}", f"sessions granted {value}, net price {price_net}")
        for pk, value, price_net in bad
    ]


def stranded_value(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """No line holds a negative value, nor value that no remaining session could ever recognise."""
    lines = _scoped(PackageLine, tenant)
    used_up = Q(granted=F("redeemed") + F("forfeited")) & ~Q(deferred_value=0)
    bad = lines.filter(Q(deferred_value__lt=0) | used_up).values_list("package_id", "id", "deferred_value")
    return lines.count(), [
        Problem("stranded_value", f"package {package_id} line {pk}", f"deferred value {value}")
        for package_id, pk, value in bad.order_by("id")
    ]


CHECKS = [
    Check("session_cache", "every cached package balance equals its session ledger", session_cache),
    Check("allocation", "every package's session values sum to its net price", allocation),
    Check("stranded_value", "no package line holds value no session can use", stranded_value),
]
