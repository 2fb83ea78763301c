"""Writes to the journal. Called from inside other services' transactions, never on their own.

`record` and `reverse_entries` are the only ways entries are written (besides the expiry sweep's bulk
writer, which asks `periods` the same question): neither ever dates an entry inside a closed period.
"""

from __future__ import annotations

import datetime as dt

from punchcard import db
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


def accounts_known(tenant: Tenant) -> bool:
    return getattr(tenant, "_account_ids", None) is not None


# role → account id of the tenant given as a parameter, as JSON: `accounts`' read, for a one-statement write.
ACCOUNTS_SQL = f"(SELECT json_object_agg(role, id) FROM {Account._meta.db_table} WHERE tenant_id = %s::bigint)"


def remember_accounts(tenant: Tenant, ids: dict[str, int]) -> None:
    """What ACCOUNTS_SQL read, kept on the tenant object as `accounts` keeps it."""
    tenant._account_ids = dict(ids)


def entry_rows(
    *,
    tenant: Tenant,
    kind: str,
    memo: str,
    event: tuple[str, int],
    postings: list[Posting],
    at: dt.datetime,
    date: dt.date,
    closed_through: dt.date | None,
    centre_id: int | None = None,
    patient_id: int | None = None,
    package_id: int | None = None,
    reverses_id: int | None = None,
) -> tuple[dict, list[dict]] | None:
    """The entry's columns and its postings' (by attname, without entry_id): what `record` writes, and what
    a one-statement write (packages' redemption on PostgreSQL) puts in its batch. None: nothing to post."""
    postings = rules.balanced(postings)
    if not postings:
        return None
    ids = accounts(tenant)
    debit = sum(p.amount for p in postings if p.amount > 0)
    date, original = periods.move_past(date, closed_through)  # never into a closed period
    entry = {
        "tenant_id": tenant.id,
        "at": at,
        "date": date,
        "original_date": original,
        "kind": kind,
        "memo": periods.late_memo(memo, original),
        "currency": tenant.currency,
        "event_type": event[0],
        "event_id": event[1],
        "centre_id": centre_id,
        "reverses_id": reverses_id,
        "total_debit": debit,
        "total_credit": debit,
    }
    rows = [
        {
            "tenant_id": tenant.id,
            "account_id": ids[p.role],
            "amount": p.amount,
            "package_id": package_id if package_id is not None else getattr(p.line_key, "package_id", None),
            "package_line_id": getattr(p.line_key, "pk", None),
            "patient_id": patient_id,
            "centre_id": centre_id,
        }
        for p in postings
    ]
    return entry, rows


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
    if not rules.balanced(postings):
        return None
    rows = entry_rows(
        tenant=tenant,
        kind=kind,
        memo=memo,
        event=event,
        postings=postings,
        at=at,
        date=date,
        closed_through=periods.closed_through(tenant),
        centre_id=centre.pk if centre is not None else None,
        patient_id=patient.pk if patient is not None else None,
        package_id=package.pk if package is not None else None,
        reverses_id=reverses.pk if reverses is not None else None,
    )
    if rows is None:
        return None
    fields, posting_rows = rows
    entry = JournalEntry.objects.create(**fields)
    PostingRow.objects.bulk_create(PostingRow(entry=entry, **row) for row in posting_rows)
    return entry


def record_in_batch(batch, *, after: str, name: str = "journal", **facts) -> None:
    """`record` as parts of a one-statement write (db.Batch), chained on the part `after` (written only if
    it was); `facts` as for `entry_rows`. The entry's id comes from the database, its postings select it."""
    rows = entry_rows(**facts)
    if rows is None:
        return
    fields, posting_rows = rows
    sql, params = db.insert_sql(JournalEntry, [fields], source=after)
    batch.add(name, sql, params)
    sql, params = db.insert_sql(
        PostingRow, [{"entry_id": db.Raw(f"{name}.id"), **row} for row in posting_rows], source=name
    )
    batch.add(f"{name}_postings", sql, params)


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


__all__ = [
    "ACCOUNTS_SQL",
    "Role",
    "accounts",
    "accounts_known",
    "ensure_chart",
    "entry_rows",
    "record",
    "record_in_batch",
    "remember_accounts",
    "reverse_entries",
]
