"""Checks every scenario ends with: the session cache equals the ledger, and the journal balances."""

from __future__ import annotations

from django.db.models import Q, Sum

from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages import selectors
from punchcard.packages.models import Package, PackageLine


def _total(qs) -> int:
    return qs.aggregate(s=Sum("amount"))["s"] or 0


def assert_books_balance(tenant=None) -> None:
    """reconcile == [], every journal entry and the whole journal balance, lines' deferred value == journal."""
    assert selectors.ledger_mismatches(tenant) == []
    postings = Posting.objects.all() if tenant is None else Posting.objects.filter(tenant=tenant)
    entries = JournalEntry.objects.all() if tenant is None else JournalEntry.objects.filter(tenant=tenant)
    assert _total(postings) == 0
    unbalanced = postings.values("entry_id").annotate(s=Sum("amount")).filter(~Q(s=0))
    assert list(unbalanced) == []
    debits = dict(
        postings.filter(amount__gt=0).values("entry_id").annotate(d=Sum("amount")).values_list("entry_id", "d")
    )
    for entry_id, total_debit, total_credit in entries.values_list("id", "total_debit", "total_credit"):
        assert total_debit == total_credit == debits.get(entry_id), entry_id
    lines = PackageLine.objects.all() if tenant is None else PackageLine.objects.filter(tenant=tenant)
    deferred = {
        row["package_line_id"]: row["s"]
        for row in postings.filter(account__role=Role.DEFERRED_REVENUE, package_line__isnull=False)
        .values("package_line_id")
        .annotate(s=Sum("amount"))
    }
    for line in lines:
        assert line.deferred_value == -(deferred.get(line.id) or 0), f"line {line.id}"


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
