"""The nightly expiry sweep (SPEC §4.3, a job of §12): every open package past its last usable day,
set-based in batches, writing exactly what `expiry.expire_if_due` writes for one package."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef

from punchcard import clock, events
from punchcard.db import execute_bound, insert_rows
from punchcard.domain import posting, validation
from punchcard.domain.expiry import Validity, validity_on
from punchcard.domain.roles import Actor
from punchcard.ledger import periods
from punchcard.ledger import services as journal
from punchcard.ledger.models import JournalEntry
from punchcard.ledger.models import Posting as PostingRow
from punchcard.tenancy.models import Tenant

from ..models import EntryKind, Hold, HoldState, Package, PackageLine, SessionEntry

SWEEP_BATCH = 2000  # packages per sweep transaction: bounds the memory and how long their locks are held
SWEEPER = Actor(label="sweep", role="admin", source="expiry sweep")


def expire_due_packages(
    *,
    as_of: dt.date | None = None,
    tenant: Tenant | None = None,
    tenants=None,
    now: dt.datetime | None = None,
    batch: int = SWEEP_BATCH,
) -> int:
    """The nightly sweep: every open package past its last usable day forfeits what remains (breakage).

    Idempotent (an expired package has nothing left to forfeit) and can run as of any date. Returns how
    many packages expired. `tenant` limits it to one tenant, `tenants` (a queryset, e.g. the job's
    `tenancy.selectors.tenants_for_job`) to those.

    Set-based, one short transaction per batch of packages, so memory and lock time are bounded by the
    batch whatever the number of packages: the batch's packages are locked FOR NO KEY UPDATE in id order
    and re-read under the lock with their lines; the rule used everywhere decides which are due
    (domain.expiry.validity_on at `as_of`, or at each package's local date: soft expiry only after its
    grace days); then a few statements write exactly what `expiry.expire_if_due` writes for one package:
    pending holds released (RELEASE entries), each line's remainder forfeited (EXPIRE entries, the
    cached columns moved by the same deltas), one breakage journal entry per package with its postings
    tagged by package line.
    """
    now = now or clock.now()
    as_of = validation.date(as_of, "as_of", optional=True, parse=False)
    bound = (as_of or now.date()) + dt.timedelta(days=1)  # zones are within a day of UTC
    candidates = Package.objects.filter(closure__isnull=True, expires_on__isnull=False, expires_on__lt=bound)
    if tenant is not None:
        candidates = candidates.filter(tenant=tenant)
    if tenants is not None:
        candidates = candidates.filter(tenant__in=tenants)
    known: dict[int, Tenant] = {tenant.id: tenant} if tenant is not None else {}
    expired, last_id = 0, 0
    while True:
        # Keyset pagination; the line side is bounded too, so each page reads only its own stretch of both
        # indexes (unbounded, the semi-join re-reads every line below `last_id` on every page).
        has_remainder = PackageLine.objects.filter(
            package_id=OuterRef("pk"), package_id__gt=last_id, granted__gt=F("redeemed") + F("forfeited")
        )
        ids = list(
            candidates.filter(Exists(has_remainder), id__gt=last_id).order_by("id").values_list("id", flat=True)[:batch]
        )
        if not ids:
            return expired
        with transaction.atomic():
            expired += _expire_batch(ids, as_of=as_of, now=now, tenants=known)
        last_id = ids[-1]


def _expire_batch(ids: list[int], *, as_of: dt.date | None, now: dt.datetime, tenants: dict[int, Tenant]) -> int:
    """Expire the due packages among `ids`, inside the caller's transaction. Returns how many expired.

    Rows are read as tuples and written with db.insert_rows: no model instance per row, as the sweep
    writes thousands of rows per batch.
    """
    fields = (
        "id",
        "tenant_id",
        "holder_id",
        "sold_at_id",
        "closure",
        "start_date",
        "expires_on",
        "expiry_mode",
        "grace_days",
        "sold_at__timezone",
    )
    packages = list(
        Package.objects.select_for_update(no_key=True, of=("self",))
        .filter(id__in=ids)
        .order_by("id")
        .values_list(*fields, named=True)
    )
    lines_by_package: dict[int, list[tuple]] = {}
    for line in (
        PackageLine.objects.filter(package_id__in=ids)
        .order_by("package_id", "id")
        .values_list("id", "package_id", "granted", "redeemed", "forfeited", "held", "deferred_value")
    ):
        lines_by_package.setdefault(line[1], []).append(line)
    due = []
    for package in packages:
        if package.closure or package.expires_on is None:
            continue
        today = as_of or now.astimezone(zoneinfo.ZoneInfo(package.sold_at__timezone)).date()
        if (
            validity_on(
                today,
                start=package.start_date,
                last_day=package.expires_on,
                mode=package.expiry_mode,
                grace_days=package.grace_days,
            )
            is not Validity.EXPIRED
        ):
            continue
        lines = lines_by_package.get(package.id, [])
        if any(granted - redeemed - forfeited or held for _, _, granted, redeemed, forfeited, held, _ in lines):
            due.append((package, lines, today))
    if not due:
        return 0
    missing = {p.tenant_id for p, _, _ in due} - set(tenants)
    tenants.update({t.id: t for t in Tenant.objects.filter(id__in=missing)})

    holds = list(
        Hold.objects.filter(package_id__in=[p.id for p, _, _ in due], state=HoldState.PENDING)
        .order_by("id")
        .values_list("id", "package_id", "line_id", "sessions")
    )
    if holds:
        Hold.objects.filter(id__in=[h[0] for h in holds], state=HoldState.PENDING).update(
            state=HoldState.RELEASED, resolved_at=now, resolved_by=SWEEPER.label
        )
    holds_of: dict[int, list[tuple]] = {}
    for hold in holds:
        holds_of.setdefault(hold[1], []).append(hold)

    entries, changes, breakages = [], {}, []  # changes: line id → [held, forfeited, deferred value] deltas
    base = {
        "at": now,
        "actor": SWEEPER.label,
        "source": SWEEPER.source,
        "data": {},
        "granted": 0,
        "redeemed": 0,
        "held": 0,
        "forfeited": 0,
        "value": 0,
        "hold_id": None,
        "redemption_id": None,
        "reverses_id": None,
    }
    for package, lines, today in due:
        reason = f"expired after {package.expires_on.isoformat()}"
        common = {**base, "tenant_id": package.tenant_id, "package_id": package.id, "reason": reason}
        for hold_id, _, line_id, sessions in holds_of.get(package.id, ()):
            entries.append(
                {**common, "line_id": line_id, "kind": EntryKind.RELEASE.value, "held": -sessions, "hold_id": hold_id}
            )
            changes.setdefault(line_id, [0, 0, 0])[0] -= sessions
        values = {}
        for line_id, _, granted, redeemed, forfeited, _, deferred in lines:
            remaining = granted - redeemed - forfeited
            if remaining > 0 or deferred:
                entries.append(
                    {
                        **common,
                        "line_id": line_id,
                        "kind": EntryKind.EXPIRE.value,
                        "forfeited": remaining,
                        "value": -deferred,
                    }
                )
                delta = changes.setdefault(line_id, [0, 0, 0])
                delta[1] += remaining
                delta[2] -= deferred
                if deferred:
                    values[line_id] = deferred
        if values:
            breakages.append((package, today, posting.breakage(value_by_line=values)))
    insert_rows(SessionEntry, entries)
    _move_line_balances(changes)

    journal_rows = []
    cutoffs = {tid: periods.closed_through(tenants[tid]) for tid in {p.tenant_id for p, _, _ in breakages}}
    for package, today, postings in breakages:
        debit = sum(p.amount for p in postings if p.amount > 0)
        day, late = periods.move_past(today, cutoffs[package.tenant_id])  # never into a closed period
        journal_rows.append(
            {
                "tenant_id": package.tenant_id,
                "at": now,
                "date": day,
                "original_date": late,
                "kind": "breakage",
                "memo": periods.late_memo(f"package {package.id} expired with sessions left", late),
                "currency": tenants[package.tenant_id].currency,
                "event_type": "package_expiry",
                "event_id": package.id,
                "centre_id": package.sold_at_id,
                "reverses_id": None,
                "total_debit": debit,
                "total_credit": debit,
            }
        )
    entry_of = dict(
        (event_id, pk) for pk, event_id in insert_rows(JournalEntry, journal_rows, returning=("id", "event_id"))
    )
    insert_rows(
        PostingRow,
        [
            {
                "entry_id": entry_of[package.id],
                "tenant_id": package.tenant_id,
                "account_id": journal.accounts(tenants[package.tenant_id])[p.role],
                "amount": p.amount,
                "package_id": package.id,
                "package_line_id": p.line_key,
                "patient_id": package.holder_id,
                "centre_id": package.sold_at_id,
            }
            for package, _, postings in breakages
            for p in postings
        ],
    )
    for package, _, _ in due:
        events.record(
            "package.expired",
            tenant=tenants[package.tenant_id],
            subject=package,
            actor=SWEEPER,
            at=now,
            package_id=package.id,
            patient_id=package.holder_id,
            expired_after=package.expires_on.isoformat(),
        )
    return len(due)


def _move_line_balances(changes: dict[int, list[int]]) -> None:
    """Apply (held, forfeited, deferred value) deltas to many lines' cached columns in one statement."""
    if not changes:
        return
    table = connection.ops.quote_name(PackageLine._meta.db_table)
    rows = [(line_id, held, forfeited, value) for line_id, (held, forfeited, value) in changes.items()]
    if connection.vendor == "postgresql":
        execute_bound(
            f"UPDATE {table} AS l SET held = l.held + v.held, forfeited = l.forfeited + v.forfeited, "
            f"deferred_value = l.deferred_value + v.value FROM unnest(%s::bigint[], %s::integer[], "
            f"%s::integer[], %s::bigint[]) AS v(id, held, forfeited, value) WHERE l.id = v.id",
            [list(column) for column in zip(*rows, strict=True)],
        )
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET held = held + %s, forfeited = forfeited + %s, "
            f"deferred_value = deferred_value + %s WHERE id = %s",
            [(held, forfeited, value, line_id) for line_id, held, forfeited, value in rows],
        )
