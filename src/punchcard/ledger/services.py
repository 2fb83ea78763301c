"""Writes to the journal. Called from inside other services' transactions, never on their own.

`record` and `reverse_entries` are the only ways entries are written (besides the expiry sweep's bulk
writer, which asks `periods` the same question): neither ever dates an entry inside a closed period.
"""

from __future__ import annotations

import datetime as dt

from punchcard.domain import posting as rules
from punchcard.domain.posting import DEFAULT_CHART, Posting, Role
from punchcard.tenancy.models import Centre, Patient, Tenant

from . import periods
from .models import Account, JournalEntry
from .models import Posting as PostingRow


def ensure_chart(*, tenant: Tenant) -> None:
    """Give the tenant the default chart of accounts (existing accounts keep their names)."""
    existing = set(Account.objects.filter(tenant=tenant).values_list("role", flat=True))
    Account.objects.bulk_create(
        Account(tenant=tenant, role=role, code=code, name=name, type=kind)
        for role, (code, name, kind) in DEFAULT_CHART.items()
        if role not in existing
    )


def accounts(tenant: Tenant) -> dict[str, int]:
    """role → account id, read once per tenant object (a request or a command)."""
    cached = getattr(tenant, "_account_ids", None)
    if cached is None:
        cached = dict(Account.objects.filter(tenant=tenant).values_list("role", "id"))
        tenant._account_ids = cached
    return cached


def record(
    *,
    tenant: Tenant,
    kind: str,
    memo: str,
    event: tuple[str, int],
    postings: list[Posting],
    at: dt.datetime,
    date: dt.date,
    centre: Centre | None = None,
    patient: Patient | None = None,
    package=None,
    reverses: JournalEntry | None = None,
) -> JournalEntry | None:
    """Write one balanced journal entry. Postings with a line_key are tagged with that package line."""
    postings = rules.balanced(postings)
    if not postings:
        return None
    ids = accounts(tenant)
    debit = sum(p.amount for p in postings if p.amount > 0)
    date, original = periods.posting_date(tenant, date)  # never into a closed period
    entry = JournalEntry.objects.create(
        tenant=tenant,
        at=at,
        date=date,
        original_date=original,
        kind=kind,
        memo=periods.late_memo(memo, original),
        currency=tenant.currency,
        event_type=event[0],
        event_id=event[1],
        centre=centre,
        reverses=reverses,
        total_debit=debit,
        total_credit=debit,
    )
    PostingRow.objects.bulk_create(
        PostingRow(
            entry=entry,
            tenant=tenant,
            account_id=ids[p.role],
            amount=p.amount,
            package=package if package is not None else getattr(p.line_key, "package", None),
            package_line=p.line_key,
            patient=patient,
            centre=centre,
        )
        for p in postings
    )
    return entry


def reverse_entries(
    *,
    tenant: Tenant,
    event: tuple[str, int],
    kind: str,
    memo: str,
    at: dt.datetime,
    date: dt.date,
    reversal_event: tuple[str, int],
) -> list[JournalEntry]:
    """Reverse every entry an event caused (e.g. a voided redemption's recognition and commission)."""
    made = []
    date, late = periods.posting_date(tenant, date)  # never into a closed period
    for original in JournalEntry.objects.filter(
        tenant=tenant, event_type=event[0], event_id=event[1], reverses__isnull=True
    ).prefetch_related("postings"):
        rows = list(original.postings.all())
        entry = JournalEntry.objects.create(
            tenant=tenant,
            at=at,
            date=date,
            original_date=late,
            kind=kind,
            memo=periods.late_memo(memo, late),
            currency=original.currency,
            event_type=reversal_event[0],
            event_id=reversal_event[1],
            centre=original.centre,
            reverses=original,
            total_debit=original.total_debit,
            total_credit=original.total_credit,
        )
        PostingRow.objects.bulk_create(
            PostingRow(
                entry=entry,
                tenant=tenant,
                account_id=row.account_id,
                amount=-row.amount,
                package_id=row.package_id,
                package_line_id=row.package_line_id,
                patient_id=row.patient_id,
                centre_id=row.centre_id,
            )
            for row in rows
        )
        made.append(entry)
    return made


__all__ = ["Role", "accounts", "ensure_chart", "record", "reverse_entries"]
