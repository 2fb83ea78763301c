"""Figures the core scenarios check beyond reconcile: role totals, and value conserved package by package."""

from __future__ import annotations

from django.db.models import Sum

from punchcard.domain.posting import Role
from punchcard.ledger.models import Posting
from punchcard.packages.models import Package, PackageLine


def _total(qs) -> int:
    return qs.aggregate(s=Sum("amount"))["s"] or 0


def role_total(package: Package, role: Role) -> int:
    """Sum of the package's postings on one account role (debits +, credits −)."""
    return _total(Posting.objects.filter(package=package, account__role=role))


def assert_value_conserved(package: Package) -> None:
    """SPEC §8.3 (no refunds): net price = recognised + breakage + still deferred, to the minor unit."""
    assert_values_conserved(Package.objects.filter(pk=package.pk))


def assert_values_conserved(packages) -> None:
    """assert_value_conserved for every package of a queryset, in three queries."""
    packages = {p.id: p.price_net for p in packages.only("id", "price_net")}
    totals: dict[int, dict[str, int]] = {pid: {} for pid in packages}
    rows = (
        Posting.objects.filter(package_id__in=packages).values("package_id", "account__role").annotate(s=Sum("amount"))
    )
    for row in rows:
        totals[row["package_id"]][row["account__role"]] = row["s"]
    deferred = dict(
        PackageLine.objects.filter(package_id__in=packages)
        .values("package_id")
        .annotate(s=Sum("deferred_value"))
        .values_list("package_id", "s")
    )
    for package_id, price_net in packages.items():
        roles = totals[package_id]
        recognised = -roles.get(Role.PACKAGE_REVENUE, 0)
        breakage = -roles.get(Role.BREAKAGE_REVENUE, 0)
        assert -roles.get(Role.DEFERRED_REVENUE, 0) == deferred.get(package_id, 0), package_id
        assert price_net == recognised + breakage + deferred.get(package_id, 0), package_id
