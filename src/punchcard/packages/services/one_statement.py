"""Redemptions and holds on PostgreSQL in two statements after BEGIN, then COMMIT (README rule 16).

1. One locking read: `SELECT … FOR NO KEY UPDATE` of the package, which also brings what the rules need —
   the centre (its zone gives the local date), the service, the person and practitioner, the plan version
   and its listed centres, the latest closed period, the low-balance threshold, the chart of accounts when
   the tenant object has not read it — and, through `packages_state_after_lock` (migration 0003), what the
   lock protects as it is once the lock is held: the lines, the live uses when the plan has caps or a
   minimum gap, the row an idempotency key already made, the hold being posted or released. It also takes
   the new redemption's or hold's id from its sequence, so the events can name it before it is written.
2. The rules in Python, the same functions the ORM path calls (`use_checks`, `domain`).
3. One data-modifying statement (`db.Batch`): the line's cached columns updated under a guard that the
   line is exactly as read and has the sessions (`granted − redeemed − forfeited − held >= n`), and,
   chained on that update, the redemption or hold, its session entry, the journal entry and its postings,
   the outbox rows of the events. The CHECK on the line, the unique idempotency keys and the journal's
   balance trigger still have the last word.

The ORM path (usage.py) is the reference: SQLite always takes it, and `orm_path()` forces it on PostgreSQL
(tests compare what both write, row by row).
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

from punchcard import db, events
from punchcard.catalogue.models import PlanVersion
from punchcard.domain import posting
from punchcard.domain.eligibility import Use
from punchcard.domain.errors import Conflict, NotFound
from punchcard.domain.idempotency import replay
from punchcard.domain.money import value_of_next
from punchcard.domain.roles import Actor
from punchcard.ledger import periods
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant
from punchcard.tenancy.selectors import checked_pk, local_date

from .. import selectors
from ..models import EntryKind, Hold, HoldState, Package, PackageLine, Redemption, ReminderSettings, SessionEntry
from . import use_checks
from .notices import note_use
from .session_ledger import entry_fields, hold_facts, line_changes, redemption_facts

_switch = threading.local()


def enabled() -> bool:
    return connection.vendor == "postgresql" and not getattr(_switch, "orm", False)


@contextmanager
def orm_path():
    """Write through the ORM path on PostgreSQL too (the comparison tests and the bench's reference)."""
    before = getattr(_switch, "orm", False)
    _switch.orm = True
    try:
        yield
    finally:
        _switch.orm = before


# ---------------------------------------------------------------- the locking read


@dataclass
class State:
    package: Package | None
    lines: list[PackageLine]
    centre: Centre | None
    service: Service | None
    person: Patient | None
    practitioner: StaffMember | None
    centre_ids: frozenset[int]
    beneficiary: bool
    uses: list[Use] | None
    replayed: dict | None
    hold: Hold | None
    closed_through: dt.date | None
    threshold: int
    new_id: int | None


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _one(model, pk_sql: str) -> str:
    return f"(SELECT row_to_json(x) FROM {_table(model)} x WHERE x.id = {pk_sql} AND x.tenant_id = %s::bigint)"


def _read(
    tenant: Tenant,
    *,
    package_id: int | None = None,
    hold_id: int | None = None,
    centre_id: int | None = None,
    service_id: int | None = None,
    person_id: int | None = None,
    practitioner_id: int | None = None,
    redemption_key: str | None = None,
    hold_key: str | None = None,
    new_id_of=None,
) -> State:
    """The one locking read (see the module's docstring). Ids are checked by the caller."""
    params: list = []
    selected = []

    def one(model, pk):
        selected.append(_one(model, "%s::bigint"))
        params.extend([pk, tenant.id])

    one(Centre, centre_id)
    one(Service, service_id)
    one(Patient, person_id)
    one(StaffMember, practitioner_id)
    selected.append(periods.LATEST_CLOSED_SQL)
    params.append(tenant.id)
    selected.append(f"(SELECT low_balance_sessions FROM {_table(ReminderSettings)} WHERE tenant_id = %s::bigint)")
    params.append(tenant.id)
    selected.append("NULL" if journal.accounts_known(tenant) else journal.ACCOUNTS_SQL)
    if not journal.accounts_known(tenant):
        params.append(tenant.id)
    centres = PlanVersion.centres.through
    has_caps = " OR ".join(
        f"COALESCE(v.{c}, 0) > 0" for c in ("cap_per_day", "cap_per_week", "cap_per_month", "min_gap_days")
    )
    new_id = f"nextval(pg_get_serial_sequence('{new_id_of._meta.db_table}', 'id'))" if new_id_of else "NULL"
    if hold_id is not None:
        package_sql = f"(SELECT package_id FROM {_table(Hold)} WHERE id = %s::bigint AND tenant_id = %s::bigint)"
        package_params = [hold_id, tenant.id]
    else:
        package_sql, package_params = "%s::bigint", [package_id]
    sql = (
        f"WITH locked AS MATERIALIZED (SELECT * FROM {_table(Package)} WHERE id = {package_sql} "
        "AND tenant_id = %s::bigint FOR NO KEY UPDATE) "
        f"SELECT {', '.join(selected)}, p.* FROM (SELECT 1) AS one LEFT JOIN LATERAL ("
        "SELECT row_to_json(locked) AS package, row_to_json(v) AS version, "
        f"(SELECT array_agg(pc.centre_id) FROM {_table(centres)} pc WHERE pc.planversion_id = v.id) AS centres, "
        f"(SELECT row_to_json(c) FROM {_table(Centre)} c WHERE c.id = locked.sold_at_id) AS sold_at, "
        f"packages_state_after_lock(locked.id, locked.tenant_id, %s::bigint, {has_caps}, %s::text, %s::text, "
        f"%s::bigint) AS fresh, {new_id} AS new_id "
        f"FROM locked JOIN {_table(PlanVersion)} v ON v.id = locked.plan_version_id) AS p ON true"
    )
    # Placeholders in the order they appear: the locking CTE's, the select list's, the function's.
    params = [*package_params, tenant.id, *params, person_id, redemption_key, hold_key, hold_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    (centre, service, person, practitioner, latest_closed, threshold, account_ids) = row[:7]
    package_row, version_row, centre_ids, sold_at, fresh, new_id = row[7:]
    if account_ids is not None:
        journal.remember_accounts(tenant, account_ids)
    package, lines, hold = None, [], None
    if package_row is not None:
        package = db.instance(Package, package_row)
        package.tenant = tenant
        package.plan_version = db.instance(PlanVersion, version_row)
        package.sold_at = db.instance(Centre, sold_at)
        package.holder = db.instance(Patient, fresh["holder"])
        lines = [db.instance(PackageLine, line) for line in fresh["lines"] or []]
        for line in lines:
            line.package = package
        if fresh["hold"] is not None:
            hold = db.instance(Hold, fresh["hold"])
    uses = fresh["uses"] if package_row is not None else None
    return State(
        package=package,
        lines=lines,
        centre=db.instance(Centre, centre) if centre else None,
        service=db.instance(Service, service) if service else None,
        person=db.instance(Patient, person) if person else None,
        practitioner=db.instance(StaffMember, practitioner) if practitioner else None,
        centre_ids=frozenset(centre_ids or ()),
        beneficiary=bool(fresh and fresh["beneficiary"]),
        uses=[Use(dt.date.fromisoformat(d), n) for d, n in uses or ()],
        replayed=(fresh or {}).get("replayed_redemption") or (fresh or {}).get("replayed_hold"),
        hold=hold,
        closed_through=periods.closed_through_of(latest_closed),
        threshold=ReminderSettings.DEFAULT_LOW_BALANCE if threshold is None else threshold,
        new_id=new_id,
    )


def _resolved(state: State, *, package_id, centre_id, service_id, person_id, practitioner_id):
    """NotFound in the order the ORM path's resolve_use and lock_package give it."""
    for found, model, pk, field in (
        (state.centre, Centre, centre_id, "centre_id"),
        (state.service, Service, service_id, "service_id"),
        (state.person, Patient, person_id, "person_id"),
        (state.practitioner, StaffMember, practitioner_id, "practitioner_id"),
    ):
        if pk is not None and found is None:
            raise NotFound(f"no {model._meta.verbose_name} {pk}", field=field)
    if state.package is None:
        raise NotFound(f"no {Package._meta.verbose_name} {package_id}", field="package_id")


def _uses_for(state: State, package: Package, day: dt.date) -> list[Use]:
    window = selectors.caps_window(package.plan_version.caps(), day)
    if window is None:
        return []
    low, high = window
    return [use for use in state.uses if low <= use.day <= high]


# ---------------------------------------------------------------- the write statement


def _row(obj) -> dict:
    return {
        f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not (f.primary_key and obj.pk is None)
    }


def _guarded_line(batch: db.Batch, line: PackageLine, changes: dict[str, int], *, needs: int = 0) -> None:
    """The line's cached columns changed by an entry's deltas, only if the line is exactly as read under the
    lock and has `needs` sessions available: the database's last word on overdraft (with the CHECK)."""
    sets = ", ".join(f"{column} = {column} + %s::bigint" for column in changes)
    pinned = ("granted", "redeemed", "held", "forfeited", "deferred_value")
    sql = (
        f"UPDATE {_table(PackageLine)} SET {sets} WHERE id = %s::bigint "
        "AND granted - redeemed - forfeited - held >= %s::bigint AND "
        + " AND ".join(f"{column} = %s::bigint" for column in pinned)
        + " RETURNING id, granted, redeemed, held, forfeited, deferred_value"
    )
    params = [*changes.values(), line.pk, needs, *(getattr(line, column) for column in pinned)]
    batch.add("line", sql, params)


def _entry(batch: db.Batch, fields: dict, *, after: str) -> None:
    sql, params = db.insert_sql(SessionEntry, [_row(SessionEntry(**fields))], source=after)
    batch.add("entry", sql, params)


def _run(batch: db.Batch, line: PackageLine, changes: dict[str, int]) -> None:
    results = batch.run()
    if not results["line"]:
        # Under the package's lock the line cannot have changed since it was read: refuse, write nothing.
        raise Conflict(
            "the package changed while this was checked; nothing was written, try again",
            code="insufficient_sessions",
            available=line.available,
        )
    for column, delta in changes.items():
        setattr(line, column, getattr(line, column) + delta)


def _recognition(batch, package, line, redemption, state, now) -> None:
    journal.record_in_batch(
        batch,
        after="redemption",
        tenant=package.tenant,
        kind="redemption",
        event=("redemption", redemption.id),
        at=now,
        date=redemption.day,
        closed_through=state.closed_through,
        centre_id=redemption.centre_id,
        patient_id=redemption.person_id,
        package_id=package.id,
        memo=f"{redemption.sessions} × {line.label} redeemed, package {package.id}",
        postings=posting.recognition(value=redemption.value, line_key=line),
    )


def _first_use(batch, package: Package, day: dt.date) -> None:
    changes = use_checks.first_use(package, day)
    if changes:
        sets = ", ".join(f"{column} = %s::date" for column in changes)
        batch.add(
            "first_use",
            f"UPDATE {_table(Package)} SET {sets} FROM redemption WHERE {_table(Package)}.id = %s::bigint "
            f"RETURNING {_table(Package)}.id",
            [*changes.values(), package.id],
        )


# ---------------------------------------------------------------- the writes


def redeem(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id,
    service_id,
    centre_id,
    person_id,
    sessions: int,
    at,
    practitioner_id,
    appointment,
    idempotency_key,
    backdate_reason,
    now: dt.datetime,
) -> Redemption:
    """`usage.redeem_session`'s write, inputs already checked; the caller's transaction is open."""
    ids = _ids(centre_id=centre_id, service_id=service_id, person_id=person_id, practitioner_id=practitioner_id)
    package_id = checked_pk(Package, package_id, "package_id")
    state = _read(tenant, package_id=package_id, redemption_key=idempotency_key, new_id_of=Redemption, **ids)
    _resolved(state, package_id=package_id, **ids)
    package, centre, service = state.package, state.centre, state.service
    person = state.person or package.holder
    if state.replayed is not None:
        existing = db.instance(Redemption, state.replayed)
        return replay(
            existing,
            what="redemption",
            package_id=package.id,
            service_id=service.id,
            centre_id=centre.id,
            person_id=person.id,
            sessions=sessions,
        )
    day = local_date(at or now, centre)
    today = local_date(now, centre)
    backdated = use_checks.backdating(actor, day, today, centre, backdate_reason)
    decision = use_checks.check(
        package,
        state.lines,
        day=day,
        centre=centre,
        service=service,
        person=person,
        sessions=sessions,
        centre_ids=state.centre_ids,
        live_beneficiaries=frozenset({person.id}) if state.beneficiary else frozenset(),
        uses=_uses_for(state, package, day),
    )
    line = next(line for line in state.lines if line.id == decision.line_id)
    redemption = Redemption(
        id=state.new_id,
        tenant=tenant,
        package=package,
        line=line,
        service=service,
        centre=centre,
        person=person,
        practitioner=state.practitioner,
        appointment=appointment,
        day=day,
        at=at or now,
        sessions=sessions,
        value=value_of_next(line.deferred_value, line.remaining, sessions),
        in_grace=decision.in_grace,
        redeemed_by=actor.label,
        idempotency_key=idempotency_key,
    )
    fields = entry_fields(
        line,
        kind=EntryKind.REDEEM,
        actor=actor,
        now=now,
        redeemed=sessions,
        value=-redemption.value,
        redemption_id=redemption.id,
        data={"in_grace": decision.in_grace} if decision.in_grace else None,
    )
    changes = line_changes(fields)
    with db.batched() as batch:
        _guarded_line(batch, line, changes, needs=sessions)
        sql, params = db.insert_sql(Redemption, [_row(redemption)], source="line")
        batch.add("redemption", sql, params)
        _entry(batch, fields, after="redemption")
        _recognition(batch, package, line, redemption, state, now)
        _first_use(batch, package, day)
        if backdated:
            use_checks.audit_backdate(tenant, actor, redemption, backdated, day, today, now)
        events.record(
            "redemption.created", tenant=tenant, subject=redemption, actor=actor, at=now, **redemption_facts(redemption)
        )
        lines_after = _lines_after(state.lines, line, changes)
        note_use(package, lines_after, used=sessions, tenant=tenant, actor=actor, now=now, threshold=state.threshold)
        _run(batch, line, changes)
    redemption._state.adding, redemption._state.db = False, "default"
    return redemption


def _lines_after(lines: list[PackageLine], changed: PackageLine, changes: dict[str, int]) -> list[PackageLine]:
    """The lines as they will be once the statement has run (the events are recorded before it runs)."""
    after = []
    for line in lines:
        copy = line
        if line.pk == changed.pk:
            copy = PackageLine(**{f.attname: getattr(line, f.attname) for f in PackageLine._meta.concrete_fields})
            for column, delta in changes.items():
                setattr(copy, column, getattr(copy, column) + delta)
        after.append(copy)
    return after


def _ids(**ids) -> dict:
    models = {"centre_id": Centre, "service_id": Service, "person_id": Patient, "practitioner_id": StaffMember}
    optional = ("person_id", "practitioner_id")  # None: the holder, no practitioner
    return {
        field: None if pk is None and field in optional else checked_pk(models[field], pk, field)
        for field, pk in ids.items()
    }


def place(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id,
    service_id,
    centre_id,
    day: dt.date,
    person_id,
    sessions: int,
    practitioner_id,
    appointment,
    idempotency_key,
    backdate_reason,
    restoring: bool,
    now: dt.datetime,
) -> Hold:
    """`usage.place_hold`'s write, inputs already checked; the caller's transaction is open."""
    ids = _ids(centre_id=centre_id, service_id=service_id, person_id=person_id, practitioner_id=practitioner_id)
    package_id = checked_pk(Package, package_id, "package_id")
    state = _read(tenant, package_id=package_id, hold_key=idempotency_key, new_id_of=Hold, **ids)
    _resolved(state, package_id=package_id, **ids)
    package, centre, service = state.package, state.centre, state.service
    person = state.person or package.holder
    if state.replayed is not None:
        return replay(
            db.instance(Hold, state.replayed),
            what="hold",
            package_id=package.id,
            service_id=service.id,
            centre_id=centre.id,
            person_id=person.id,
            sessions=sessions,
            day=day,
        )
    today = local_date(now, centre)
    backdated = None if restoring else use_checks.backdating(actor, day, today, centre, backdate_reason)
    decision = use_checks.check(
        package,
        state.lines,
        day=day,
        centre=centre,
        service=service,
        person=person,
        sessions=sessions,
        centre_ids=state.centre_ids,
        live_beneficiaries=frozenset({person.id}) if state.beneficiary else frozenset(),
        uses=_uses_for(state, package, day),
    )
    line = next(line for line in state.lines if line.id == decision.line_id)
    hold = Hold(
        id=state.new_id,
        tenant=tenant,
        package=package,
        line=line,
        service=service,
        centre=centre,
        person=person,
        practitioner=state.practitioner,
        appointment=appointment,
        day=day,
        sessions=sessions,
        placed_at=now,
        placed_by=actor.label,
        idempotency_key=idempotency_key,
    )
    fields = entry_fields(
        line, kind=EntryKind.HOLD, actor=actor, now=now, held=sessions, hold_id=hold.id, reason=backdated or ""
    )
    changes = line_changes(fields)
    with db.batched() as batch:
        _guarded_line(batch, line, changes, needs=sessions)
        sql, params = db.insert_sql(Hold, [_row(hold)], source="line")
        batch.add("hold", sql, params)
        _entry(batch, fields, after="hold")
        if backdated:
            use_checks.audit_backdate(tenant, actor, hold, backdated, day, today, now)
        events.record("hold.placed", tenant=tenant, subject=hold, actor=actor, at=now, **hold_facts(hold))
        _run(batch, line, changes)
    hold._state.adding, hold._state.db = False, "default"
    return hold


def _locked_hold(tenant: Tenant, hold_id, *, new_id_of=None) -> tuple[State, Hold]:
    hold_id = checked_pk(Hold, hold_id, "hold_id")
    state = _read(tenant, hold_id=hold_id, new_id_of=new_id_of)
    if state.hold is None:
        raise NotFound(f"no {Hold._meta.verbose_name} {hold_id}", field="hold_id")
    state.hold.package = state.package
    return state, state.hold


def post(*, tenant: Tenant, actor: Actor, hold_id, now: dt.datetime) -> Redemption:
    """`usage.post_hold`'s write; the caller's transaction is open."""
    state, hold = _locked_hold(tenant, hold_id, new_id_of=Redemption)
    package = state.package
    if hold.state == HoldState.POSTED:
        return Redemption.objects.get(hold_id=hold.id)  # posting twice is the same arrival
    if hold.state != HoldState.PENDING:
        raise Conflict(f"the hold was already {hold.state}", code="hold_resolved", state=hold.state)
    line = next(line for line in state.lines if line.id == hold.line_id)
    in_grace = use_checks.in_grace(package, hold.day)
    redemption = Redemption(
        id=state.new_id,
        tenant=tenant,
        package=package,
        line=line,
        service_id=hold.service_id,
        centre_id=hold.centre_id,
        person_id=hold.person_id,
        practitioner_id=hold.practitioner_id,
        appointment_id=hold.appointment_id,
        hold=hold,
        day=hold.day,
        at=now,
        sessions=hold.sessions,
        value=value_of_next(line.deferred_value, line.remaining, hold.sessions),
        in_grace=in_grace,
        redeemed_by=actor.label,
    )
    hold.state, hold.resolved_at, hold.resolved_by = HoldState.POSTED, now, actor.label
    fields = entry_fields(
        line,
        kind=EntryKind.REDEEM,
        actor=actor,
        now=now,
        held=-hold.sessions,
        redeemed=hold.sessions,
        value=-redemption.value,
        hold_id=hold.id,
        redemption_id=redemption.id,
        data={"in_grace": True} if in_grace else None,
    )
    changes = line_changes(fields)
    with db.batched() as batch:
        _guarded_line(batch, line, changes)
        _resolve(batch, hold)
        sql, params = db.insert_sql(Redemption, [_row(redemption)], source="resolved")
        batch.add("redemption", sql, params)
        _entry(batch, fields, after="redemption")
        _recognition(batch, package, line, redemption, state, now)
        _first_use(batch, package, hold.day)
        events.record(
            "redemption.created", tenant=tenant, subject=redemption, actor=actor, at=now, **redemption_facts(redemption)
        )
        lines_after = _lines_after(state.lines, line, changes)
        note_use(
            package, lines_after, used=hold.sessions, tenant=tenant, actor=actor, now=now, threshold=state.threshold
        )
        _run(batch, line, changes)
    redemption._state.adding, redemption._state.db = False, "default"
    return redemption


def _resolve(batch: db.Batch, hold: Hold) -> None:
    """The pending hold marked posted or released, chained on the guarded line update."""
    batch.add(
        "resolved",
        f"UPDATE {_table(Hold)} SET state = %s::varchar, resolved_at = %s::timestamptz, resolved_by = %s::varchar "
        f"FROM line WHERE {_table(Hold)}.id = %s::bigint AND {_table(Hold)}.state = 'pending' "
        f"RETURNING {_table(Hold)}.id",
        [str(hold.state), hold.resolved_at, hold.resolved_by, hold.id],
    )


def release(*, tenant: Tenant, actor: Actor, hold_id, reason: str, now: dt.datetime) -> Hold:
    """`usage.release_hold`'s write (the reason already checked); the caller's transaction is open."""
    state, hold = _locked_hold(tenant, hold_id)
    if hold.state == HoldState.RELEASED:
        return hold
    if hold.state != HoldState.PENDING:
        raise Conflict(
            "the hold was already posted as a redemption; void the redemption instead",
            code="hold_resolved",
            state=hold.state,
        )
    line = next(line for line in state.lines if line.id == hold.line_id)
    hold.state, hold.resolved_at, hold.resolved_by = HoldState.RELEASED, now, actor.label
    fields = entry_fields(
        line, kind=EntryKind.RELEASE, actor=actor, now=now, held=-hold.sessions, hold_id=hold.id, reason=reason
    )
    changes = line_changes(fields)
    with db.batched() as batch:
        _guarded_line(batch, line, changes)
        _resolve(batch, hold)
        _entry(batch, fields, after="resolved")
        events.record(
            "hold.released", tenant=tenant, subject=hold, actor=actor, at=now, reason=reason, **hold_facts(hold)
        )
        _run(batch, line, changes)
    return hold
