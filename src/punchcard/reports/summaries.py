"""Summaries of the append-only ledgers, kept up to an id watermark, and the live tail above it.

A report's figure is the sum of two parts: the summary rows folded up to the source's watermark
(`upto <= folded_to`), and the same figure computed live from the source rows above it (`id >
folded_to`). The ledgers are append-only, so a folded figure never goes stale: nothing is invalidated,
and a report is exact whether or not the job ran (without it the live part is the whole history).

`fold_summaries` (the `report-summaries` job, every five minutes) moves each watermark forward and
adds the rows between the old and the new one to the summaries, in one transaction, so a reader that
read the old watermark does not count the new rows twice (it filters on `upto`).

Which ids are safe to fold. Ids are drawn from a sequence when a row is inserted, but transactions
commit in their own order: on PostgreSQL, id 100 may still be uncommitted when id 101 is visible. A
watermark moved to 101 then would leave 100 out of the summary (it is not above the watermark) and out
of the live tail (same reason) once it commits. So the highest visible id only becomes a *candidate*;
a later run (at least SETTLE later) records the *barrier*, the next transaction id PostgreSQL will
assign: a transaction draws an id inside the INSERT that writes the row, which gives it a transaction
id at once, so every transaction that drew an id up to the candidate has a transaction id below the
barrier. The candidate is folded by the first run that finds no transaction of this database below the
barrier still running (pg_stat_activity's `backend_xid`): all of them have committed or rolled back,
so every id up to the candidate that will ever exist is visible. A long transaction (an import, a
batch) only delays the fold, never corrupts it, which a fixed time lag could not promise. The fold
runs every five minutes, so it trails the ledgers by ten to fifteen minutes; the live tail covers them.
On SQLite writers serialise (`BEGIN IMMEDIATE`): the highest visible id is safe at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from punchcard import clock
from punchcard.billing.models import OrderLine, OrderLineKind, OrderStatus
from punchcard.claims.models import ClaimCode
from punchcard.domain.status import Closure
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages.models import EntryKind, SessionEntry

from .models import MoneyDay, SalesDay, SessionInterval, UsageDay, Watermark

POSTINGS, JOURNAL_ENTRIES, SESSION_ENTRIES = "posting", "journal_entry", "session_entry"
SETTLE = dt.timedelta(seconds=1)  # between a candidate and its barrier (see the module's docstring)
QUARTER_HOUR = 900  # seconds


class QuarterHour(Func):
    """The instant rounded down to its quarter hour (UTC)."""

    output_field = DateTimeField()

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"to_timestamp(floor(extract(epoch FROM {sql}) / {QUARTER_HOUR}) * {QUARTER_HOUR})", params

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps instants on SQLite as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(strftime(%s, {sql}) || printf(%s, CAST(strftime(%s, {sql}) AS INTEGER) / 15 * 15) || %s)",
            ["%Y-%m-%d %H:", *params, "%02d", "%M", *params, ":00"],
        )


# ---------------------------------------------------------------- dimensions, shared by the fold and the live tail


def session_cause() -> Case:
    """What the liability roll-forward tells apart within a kind of session entry (SessionInterval.cause)."""
    return Case(
        When(kind=EntryKind.GRANT, package__order_line__claim_code__isnull=False, then=Value("code")),
        When(kind=EntryKind.CANCEL, package__refund__isnull=False, then=Value("refund")),
        When(kind=EntryKind.CANCEL, package__closure=Closure.UPGRADED, then=Value("upgrade")),
        default=Value(""),
        output_field=CharField(),
    )


def posting_side() -> Case:
    """The part of deferred revenue a posting is on (MoneyDay.side)."""
    return Case(
        When(package_line__isnull=False, then=Value("package")),
        When(entry__event_type="claim_code", then=Value("code")),
        default=Value(""),
        output_field=CharField(),
    )


def _posting_centre() -> Case:
    return Case(
        When(package_line__isnull=False, then=F("package__sold_at_id")),
        default=F("entry__centre_id"),
        output_field=IntegerField(),
    )


def _posting_plan() -> Case:
    code_plan = ClaimCode.objects.filter(id=OuterRef("entry__event_id")).values("order_line__plan_version__plan_id")
    return Case(
        When(package_line__isnull=False, then=F("package__plan_version__plan_id")),
        When(entry__event_type="claim_code", then=Subquery(code_plan[:1])),
        When(package__isnull=False, then=F("package__plan_version__plan_id")),
        default=None,
        output_field=IntegerField(),
    )


def sale_date():
    """The local date a line was sold: its sale journal entry (packages at activation, codes at payment)."""
    entries = JournalEntry.objects.filter(tenant_id=OuterRef("order__tenant_id"), kind="sale")
    direct = entries.filter(event_type="order_line", event_id=OuterRef("id")).values("date")[:1]
    by_code = entries.filter(event_type="claim_code", event_id=OuterRef("claim_code__id")).values("date")[:1]
    return Coalesce(Subquery(direct, output_field=DateField()), Subquery(by_code, output_field=DateField()))


def sold_lines():
    """Package and upgrade lines of paid (or pay-later) orders, with the day they were sold (`sold_on`)."""
    return OrderLine.objects.filter(
        kind__in=[OrderLineKind.PACKAGE, OrderLineKind.UPGRADE],
        order__status__in=[OrderStatus.PAID, OrderStatus.PAY_LATER],
    ).annotate(sold_on=sale_date())


def lines_sold_by(entries) -> Q:
    """The order lines these sale journal entries sold (directly, or through a claim code)."""
    return Q(id__in=entries.filter(event_type="order_line").values("event_id")) | Q(
        claim_code__id__in=entries.filter(event_type="claim_code").values("event_id")
    )


def redemption_sign() -> Case:
    """+1 for a redemption's redeem entry, −1 for its void: a voided redemption adds up to nothing."""
    return Case(When(kind=EntryKind.VOID, then=Value(-1)), default=Value(1), output_field=IntegerField())


def redemption_entries():
    return SessionEntry.objects.filter(kind__in=[EntryKind.REDEEM, EntryKind.VOID], redemption__isnull=False)


# ---------------------------------------------------------------- what each summary adds up


def _money_rows(lo: int, hi: int):
    return (
        Posting.objects.filter(id__gt=lo, id__lte=hi)
        .annotate(
            s_tenant=F("tenant_id"),
            s_day=F("entry__date"),
            s_account=F("account_id"),
            s_kind=F("entry__kind"),
            s_side=posting_side(),
            s_centre=_posting_centre(),
            s_plan=_posting_plan(),
        )
        .values("s_tenant", "s_day", "s_account", "s_kind", "s_side", "s_centre", "s_plan")
        .annotate(s_amount=Sum("amount"), s_postings=Count("id"))
    )


def _session_rows(lo: int, hi: int):
    return (
        SessionEntry.objects.filter(id__gt=lo, id__lte=hi)
        .annotate(
            s_tenant=F("tenant_id"),
            s_start=QuarterHour("at"),
            s_kind=F("kind"),
            s_cause=session_cause(),
            s_centre=F("package__sold_at_id"),
            s_plan=F("package__plan_version__plan_id"),
        )
        .values("s_tenant", "s_start", "s_kind", "s_cause", "s_centre", "s_plan")
        .annotate(
            s_granted=Sum("granted"),
            s_redeemed=Sum("redeemed"),
            s_held=Sum("held"),
            s_forfeited=Sum("forfeited"),
            s_value=Sum("value"),
        )
    )


def _usage_rows(lo: int, hi: int):
    return (
        redemption_entries()
        .filter(id__gt=lo, id__lte=hi)
        .annotate(
            s_tenant=F("tenant_id"),
            s_day=F("redemption__day"),
            s_service=F("redemption__service_id"),
            s_centre=F("redemption__centre_id"),
            s_practitioner=F("redemption__practitioner_id"),
            s_plan=F("package__plan_version__plan_id"),
        )
        .values("s_tenant", "s_day", "s_service", "s_centre", "s_practitioner", "s_plan")
        .annotate(s_redemptions=Sum(redemption_sign()), s_sessions=Sum("redeemed"), s_value=Sum(-F("value")))
    )


def _sales_rows(lo: int, hi: int):
    entries = JournalEntry.objects.filter(kind="sale", id__gt=lo, id__lte=hi)
    return (
        sold_lines()
        .filter(lines_sold_by(entries))
        .annotate(
            s_tenant=F("order__tenant_id"),
            s_day=F("sold_on"),
            s_plan=F("plan_version__plan_id"),
            s_centre=F("order__centre_id"),
            s_staff=F("order__credited_staff_id"),
        )
        .values("s_tenant", "s_day", "s_plan", "s_centre", "s_staff")
        .annotate(
            s_packages=Count("id"),
            s_list_value=Sum("list_total"),
            s_discount=Sum("discount"),
            s_net=Sum("net"),
            s_tax=Sum("tax"),
            s_gross=Sum("gross"),
        )
    )


@dataclass(frozen=True)
class Summary:
    model: type
    rows: object  # (lo, hi) → a values queryset whose s_<column> names the summary's columns


@dataclass(frozen=True)
class Source:
    name: str
    model: type  # the append-only table whose ids the watermark follows
    summaries: tuple[Summary, ...]


SOURCES = (
    Source(JOURNAL_ENTRIES, JournalEntry, (Summary(SalesDay, _sales_rows),)),
    Source(POSTINGS, Posting, (Summary(MoneyDay, _money_rows),)),
    Source(SESSION_ENTRIES, SessionEntry, (Summary(SessionInterval, _session_rows), Summary(UsageDay, _usage_rows))),
)


def _insert_folded(summary: Summary, lo: int, hi: int) -> int:
    """INSERT INTO the summary SELECT the source rows (lo, hi] grouped: one statement, no rows in Python."""
    select, params = summary.rows(lo, hi).query.sql_with_params()
    columns = [f.column for f in summary.model._meta.concrete_fields if not f.primary_key and f.column != "upto"]
    names = [f.attname for f in summary.model._meta.concrete_fields if not f.primary_key and f.attname != "upto"]
    quote = connection.ops.quote_name
    picked = ", ".join(quote("s_" + name.removesuffix("_id")) for name in names)
    sql = (
        f"INSERT INTO {quote(summary.model._meta.db_table)} ({', '.join(quote(c) for c in columns)}, upto) "
        f"SELECT {picked}, %s FROM ({select}) AS folded"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [hi, *params])  # the SELECT list's placeholder comes before the subquery's
        return cur.rowcount


def _next_transaction_id() -> int:
    """The next transaction id PostgreSQL will assign (64 bits): every transaction with an id has a lower one."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
        return cur.fetchone()[0]


def _running_before(barrier: int) -> bool:
    """Whether a transaction of this database that began before `barrier` is still running.

    Only this database's sessions can draw its ids, so transactions of other databases on the server do
    not hold the fold back; this one is left out (what it wrote commits or rolls back with the fold).
    pg_stat_activity shows 32-bit transaction ids: compared modulo 2^32, as PostgreSQL itself does."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
                  AND (backend_xid::text::bigint - %s + 4294967296) %% 4294967296 >= 2147483648)""",
            [barrier % 4294967296],
        )
        return cur.fetchone()[0]


def _safe_target(mark: Watermark, source: Source, now: dt.datetime) -> int:
    """How far this run may fold the source (see the module's docstring); moves the candidate along."""
    top = source.model.objects.aggregate(m=Max("id"))["m"] or 0
    if connection.vendor != "postgresql":  # SQLite: what is visible was committed in id order
        return max(mark.folded_to, top)
    target = mark.folded_to
    if mark.candidate is not None and mark.barrier is not None and not _running_before(mark.barrier):
        target, mark.candidate, mark.candidate_at, mark.barrier = mark.candidate, None, None, None
    elif mark.candidate is not None and mark.barrier is None and now - mark.candidate_at >= SETTLE:
        mark.barrier = _next_transaction_id()
    if mark.candidate is None and top > target:
        mark.candidate, mark.candidate_at = top, now
    return target


@transaction.atomic
def fold_summaries(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Fold every source as far as is safe; returns the summary rows written per source. Idempotent: the
    watermark moves in the same transaction as the rows it covers, one fold at a time (its row is locked).

    Not tenant-scoped on purpose: one watermark per source serves every tenant, and the summaries are
    derived figures, not a business change, so there is nothing to audit."""
    now = now or clock.now()
    written = {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:  # compiling the big grouped SELECTs costs more than it saves
            cur.execute("SET LOCAL jit = off")
    marks = Watermark.objects.select_for_update(no_key=True).filter(source__in=[s.name for s in SOURCES])
    by_name = {mark.source: mark for mark in marks.order_by("source")}
    for source in SOURCES:
        mark = by_name.get(source.name) or Watermark(source=source.name)
        target = _safe_target(mark, source, now)
        written[source.name] = 0
        if target > mark.folded_to:
            for summary in source.summaries:
                written[source.name] += _insert_folded(summary, mark.folded_to, target)
            mark.folded_to, mark.folded_at = target, now
        mark.save()
    return written


def latest_ids() -> dict[str, int]:
    """The highest id of each source visible now."""
    return {source.name: source.model.objects.aggregate(m=Max("id"))["m"] or 0 for source in SOURCES}


def folded_to(source: str) -> int:
    """The source's watermark: ids up to it are in the summaries, ids above it are read live."""
    return Watermark.objects.filter(source=source).values_list("folded_to", flat=True).first() or 0
