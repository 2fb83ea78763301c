"""Reconciliation: named, set-based checks that the books agree with themselves (SPEC §4.1, §8.3, §8.5).

A registry: each app contributes the checks of its own invariants (`register`, from its
`AppConfig.ready`), so the ledger reads no table of the apps above it. The journal's own checks are
registered here. Each check answers (rows checked, problems found) for one tenant or the whole
database. `reconcile()` runs them all, in registration order (the layer order of INSTALLED_APPS);
`punchcard reconcile` and every scenario test read the same results.
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


JOURNAL_CHECKS: list[Check] = [
    Check("entries_balance", "every journal entry's postings sum to zero", _entries_balance),
    Check("entry_totals", "every journal entry's debit/credit totals match its postings", _entry_totals),
    Check("postings_in_tenant", "every posting belongs to its entry's tenant", _postings_in_tenant),
    Check("journal_balances", "the whole journal balances (debits = credits)", _journal_balances),
]

_checks: list[Check] = []


def register(check: Check) -> None:
    """Add an app's check (once; a second registration under the same name is refused)."""
    if any(c.name == check.name for c in _checks):
        if check in _checks:
            return
        raise ValueError(f"a reconciliation check named {check.name!r} is registered already")
    _checks.append(check)


def checks() -> list[Check]:
    """Every registered check, in the order they run."""
    return list(_checks)


for _check in JOURNAL_CHECKS:
    register(_check)


def reconcile(tenant: Tenant | None = None, only: list[Check] | None = None) -> list[CheckResult]:
    """Run the checks (every registered one, or `only` these) for one tenant, or for the whole database."""
    results = []
    for check in _checks if only is None else only:
        checked, problems = check.run(tenant)
        results.append(CheckResult(check.name, check.description, checked, problems))
    return results


def journal_problems(tenant: Tenant | None = None) -> list[Problem]:
    """Everything wrong with the journal (empty when every entry balances and the totals match)."""
    return [p for result in reconcile(tenant, JOURNAL_CHECKS) for p in result.problems]
