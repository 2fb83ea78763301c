"""Reconciliation: named, set-based checks that the books agree with themselves (SPEC §4.1, §8.3, §8.5).

Each check answers (rows checked, problems found). `reconcile()` runs them all; `punchcard reconcile`,
the API and the tests read the same results. To add an invariant, write a function
`(tenant | None) -> (int, list[Problem])` and append a `Check` to CHECKS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import BigIntegerField, Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from punchcard.tenancy.models import Tenant

from .models import JournalEntry, Posting


@dataclass(frozen=True)
class Problem:
    check: str
    subject: str  # "journal entry 12", "package 4 line 9"
    detail: str


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[Tenant | None], tuple[int, list[Problem]]]


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    checked: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _zero():
    return Value(0, output_field=BigIntegerField())


def _entries(tenant: Tenant | None):
    entries = JournalEntry.objects.all()
    return entries.filter(tenant=tenant) if tenant is not None else entries


def _session_cache(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Every package line's cached balance equals the sum of its session entries."""
    from punchcard.packages.models import PackageLine
    from punchcard.packages.selectors import ledger_mismatches

    lines = PackageLine.objects.all() if tenant is None else PackageLine.objects.filter(tenant=tenant)
    problems = [
        Problem(
            "session_cache",
            f"package {m.package_id} line {m.line_id}",
            f"{m.column}: cached {m.cached}, ledger {m.ledger}",
        )
        for m in ledger_mismatches(tenant)
    ]
    return lines.count(), problems


def _entries_balance(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Every journal entry's postings sum to zero, and it has at least two of them."""
    entries = _entries(tenant)
    bad = (
        entries.annotate(n=Count("postings"), net=Coalesce(Sum("postings__amount"), _zero()))
        .filter(~Q(net=0) | Q(n__lt=2))
        .values_list("id", "kind", "net", "n")
        .order_by("id")
    )
    return entries.count(), [
        Problem("entries_balance", f"journal entry {pk} ({kind})", f"{n} posting(s) summing to {net}, not 0")
        for pk, kind, net, n in bad
    ]


def _entry_totals(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Every entry's stored debit and credit totals equal its postings' debits and credits."""
    entries = _entries(tenant)
    bad = (
        entries.annotate(
            debits=Coalesce(Sum("postings__amount", filter=Q(postings__amount__gt=0)), _zero()),
            credits=Coalesce(Sum("postings__amount", filter=Q(postings__amount__lt=0)), _zero()),
        )
        .filter(~Q(debits=F("total_debit")) | ~Q(credits=-F("total_credit")) | ~Q(total_debit=F("total_credit")))
        .values_list("id", "kind", "total_debit", "total_credit", "debits", "credits")
        .order_by("id")
    )
    return entries.count(), [
        Problem(
            "entry_totals", f"journal entry {pk} ({kind})", f"stored {debit}/{credit}, postings {debits}/{-credits}"
        )
        for pk, kind, debit, credit, debits, credits in bad
    ]


def _postings_in_tenant(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Every posting, and its account, belongs to its entry's tenant."""
    postings = Posting.objects.all() if tenant is None else Posting.objects.filter(entry__tenant=tenant)
    bad = (
        postings.filter(~Q(tenant_id=F("entry__tenant_id")) | ~Q(account__tenant_id=F("entry__tenant_id")))
        .values_list("id", "entry_id")
        .order_by("id")
    )
    return postings.count(), [
        Problem("postings_in_tenant", f"posting {pk}", f"belongs to another tenant than journal entry {entry}")
        for pk, entry in bad
    ]


def _journal_balances(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """The whole journal balances: debits equal credits, per tenant and currency."""
    postings = Posting.objects.all() if tenant is None else Posting.objects.filter(entry__tenant=tenant)
    rows = (
        postings.values("entry__tenant_id", "entry__currency")
        .annotate(net=Coalesce(Sum("amount"), _zero()))
        .order_by("entry__tenant_id", "entry__currency")
    )
    rows = list(rows)
    return len(rows), [
        Problem(
            "journal_balances",
            f"tenant {row['entry__tenant_id']} {row['entry__currency']}",
            f"postings sum to {row['net']}, not 0",
        )
        for row in rows
        if row["net"] != 0
    ]


def _money(tenant: Tenant | None) -> tuple[int, list[Problem]]:
    """Per package, sold = recognised + breakage + refunded + upgraded + deferred; every line's deferred
    value equals its deferred-revenue postings; the deferred-revenue account equals the unredeemed
    sessions' value (billing.selectors.money_problems)."""
    from punchcard.billing.selectors import money_problems
    from punchcard.packages.models import Package

    packages = Package.objects.all() if tenant is None else Package.objects.filter(tenant=tenant)
    return packages.count(), [Problem("money", "deferred revenue", text) for text in money_problems(tenant)]


JOURNAL_CHECKS: list[Check] = [
    Check("entries_balance", "every journal entry's postings sum to zero", _entries_balance),
    Check("entry_totals", "every journal entry's debit/credit totals match its postings", _entry_totals),
    Check("postings_in_tenant", "every posting belongs to its entry's tenant", _postings_in_tenant),
    Check("journal_balances", "the whole journal balances (debits = credits)", _journal_balances),
]

CHECKS: list[Check] = [
    Check("session_cache", "every cached package balance equals its session ledger", _session_cache),
    *JOURNAL_CHECKS,
    Check("money", "deferred revenue agrees with the sessions, package by package", _money),
]


def reconcile(tenant: Tenant | None = None, checks: list[Check] | None = None) -> list[CheckResult]:
    """Run the checks (all of CHECKS by default) for one tenant, or for the whole database."""
    results = []
    for check in CHECKS if checks is None else checks:
        checked, problems = check.run(tenant)
        results.append(CheckResult(check.name, check.description, checked, problems))
    return results


def journal_problems(tenant: Tenant | None = None) -> list[Problem]:
    """Everything wrong with the journal (empty when every entry balances and the totals match)."""
    return [p for result in reconcile(tenant, JOURNAL_CHECKS) for p in result.problems]
