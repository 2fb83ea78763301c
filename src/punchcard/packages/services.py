"""Every write to a package's sessions (SPEC §4–§7). One function, one transaction each.

Locking: every function that changes a package takes that package's row lock first
(`SELECT … FOR NO KEY UPDATE` on PostgreSQL — no_key because no key column changes, so inserts
of rows referencing the package are not blocked; SQLite serialises writers with IMMEDIATE
transactions). Lines change only under their package's lock, so there is one lock per package,
and operations on two packages lock them in id order. Cached balances change only through
`apply_entry`, which writes the ledger entry with the same deltas.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef

from punchcard import clock
from punchcard.db import execute_bound, insert_rows
from punchcard.domain import posting
from punchcard.domain.eligibility import LineBalance, Request, check_use
from punchcard.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from punchcard.domain.expiry import MAX_COUNT, ExpiryKind, Validity, last_valid_day, validity_on
from punchcard.domain.money import value_of_next
from punchcard.domain.status import Action, Closure, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.ledger.models import JournalEntry
from punchcard.ledger.models import Posting as PostingRow
from punchcard.tenancy.actors import Actor
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant
from punchcard.tenancy.permissions import Perm
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from . import selectors, signals
from .models import (
    Beneficiary,
    EntryKind,
    ExpiryChange,
    Hold,
    HoldState,
    Package,
    PackageLine,
    Redemption,
    SessionEntry,
    Transfer,
)

MAX_SESSIONS_PER_USE = 100


# ---------------------------------------------------------------- primitives


def lock_package(tenant: Tenant, package_id, *, field: str = "package_id") -> Package:
    # The holder comes in the same statement (only the package row is locked), and the package's tenant
    # is the caller's object: no lazy query for either, and the caller's tenant keeps its cached chart of
    # accounts (ledger.services.accounts) for the journal entries written next.
    package = scoped_get(
        Package,
        tenant=tenant,
        pk=package_id,
        field=field,
        queryset=Package.objects.select_for_update(no_key=True, of=("self",)).select_related(
            "plan_version", "sold_at", "holder"
        ),
    )
    package.tenant = tenant
    return package


def apply_entry(
    line: PackageLine,
    *,
    kind: str,
    actor: Actor,
    now: dt.datetime,
    granted: int = 0,
    redeemed: int = 0,
    held: int = 0,
    forfeited: int = 0,
    value: int = 0,
    hold: Hold | None = None,
    redemption: Redemption | None = None,
    reverses: SessionEntry | None = None,
    reason: str = "",
    data: dict | None = None,
) -> SessionEntry:
    """The one way sessions change: a ledger entry and the same deltas on the cached line."""
    entry = SessionEntry.objects.create(
        tenant_id=line.tenant_id,
        package_id=line.package_id,
        line=line,
        kind=kind,
        granted=granted,
        redeemed=redeemed,
        held=held,
        forfeited=forfeited,
        value=value,
        hold=hold,
        redemption=redemption,
        reverses=reverses,
        at=now,
        actor=actor.label,
        source=actor.source,
        reason=reason,
        data=data or {},
    )
    deltas = {"granted": granted, "redeemed": redeemed, "held": held, "forfeited": forfeited, "deferred_value": value}
    changes = {name: F(name) + delta for name, delta in deltas.items() if delta}
    if changes:
        PackageLine.objects.filter(pk=line.pk).update(**changes)
        for name, delta in deltas.items():
            setattr(line, name, getattr(line, name) + delta)
    return entry


def checked_reason(reason, *, required: bool = True) -> str:
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise InvalidInput("reason must be text", field="reason")
    reason = reason.strip()
    if required and not reason:
        raise InvalidInput("a reason is required", field="reason")
    if len(reason) > 2000:
        raise InvalidInput("reason is longer than 2000 characters", field="reason")
    return reason


def checked_sessions(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SESSIONS_PER_USE:
        raise InvalidInput(f"sessions must be a whole number from 1 to {MAX_SESSIONS_PER_USE}", field="sessions")
    return value


def _idempotency_key(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise InvalidInput("an idempotency key is 1 to 200 characters", field="idempotency_key")
    return value


def _instant(value, field: str = "at") -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} must be a date and time with its time zone", field=field)
    return value


def lines_of(package: Package) -> list[PackageLine]:
    return list(PackageLine.objects.filter(package=package).order_by("id"))


def line_by_id(lines: list[PackageLine], line_id: int) -> PackageLine:
    return next(line for line in lines if line.id == line_id)


def package_today(package: Package, now: dt.datetime) -> dt.date:
    return local_date(now, package.sold_at)


def _check(
    package: Package,
    lines: list[PackageLine],
    *,
    day: dt.date,
    centre: Centre,
    service: Service,
    person: Patient,
    sessions: int,
):
    rules = selectors.rules_of(package, person_id=person.id)
    balances = [LineBalance(line.id, frozenset(line.service_ids), line.available) for line in lines]
    uses = selectors.uses_for_caps(package, rules.caps, day)
    return check_use(rules, balances, Request(day, centre.id, service.id, person.id, sessions), uses)


def _same_or_conflict(existing, **expected):
    for name, value in expected.items():
        if getattr(existing, name) != value:
            raise Conflict(
                "this idempotency key was used for a different request",
                code="idempotency_conflict",
                field="idempotency_key",
            )
    return existing


def _recognise(package: Package, line: PackageLine, redemption: Redemption, now: dt.datetime) -> None:
    journal.record(
        tenant=package.tenant,
        kind="redemption",
        event=("redemption", redemption.id),
        at=now,
        date=redemption.day,
        centre=redemption.centre,
        patient=redemption.person,
        package=package,
        memo=f"{redemption.sessions} × {line.label} redeemed, package {package.id}",
        postings=posting.recognition(value=redemption.value, line_key=line),
    )


def _note_first_use(package: Package, day: dt.date) -> None:
    """After-first-use expiry starts counting at the first redemption."""
    if package.first_used_on is not None:
        return
    package.first_used_on = day
    fields = ["first_used_on"]
    rule = package.expiry_rule
    if rule.kind is ExpiryKind.AFTER_FIRST_USE and not package.expiry_overridden:
        package.expires_on = last_valid_day(
            rule, start=package.start_date, purchased_on=package.purchased_on, first_used_on=day
        )
        fields.append("expires_on")
    Package.objects.filter(pk=package.pk).update(**{f: getattr(package, f) for f in fields})


def _resolve(tenant: Tenant, *, centre_id, service_id, person_id, practitioner_id):
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    service = scoped_get(Service, tenant=tenant, pk=service_id, field="service_id")
    person = scoped_get(Patient, tenant=tenant, pk=person_id, field="person_id") if person_id is not None else None
    practitioner = (
        scoped_get(StaffMember, tenant=tenant, pk=practitioner_id, field="practitioner_id")
        if practitioner_id is not None
        else None
    )
    return centre, service, person, practitioner


# ---------------------------------------------------------------- redemption and holds


@transaction.atomic
def redeem_session(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    service_id: int,
    centre_id: int,
    person_id: int | None = None,
    sessions: int = 1,
    at: dt.datetime | None = None,
    practitioner_id: int | None = None,
    appointment=None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Redemption:
    """Use sessions now (walk-in or manual), every check of SPEC §5 at the centre's local date."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    sessions = checked_sessions(sessions)
    at = _instant(at)
    idempotency_key = _idempotency_key(idempotency_key)
    centre, service, person, practitioner = _resolve(
        tenant, centre_id=centre_id, service_id=service_id, person_id=person_id, practitioner_id=practitioner_id
    )
    package = lock_package(tenant, package_id)
    person = person or package.holder
    if idempotency_key:
        existing = Redemption.objects.filter(tenant=tenant, idempotency_key=idempotency_key).first()
        if existing:
            return _same_or_conflict(
                existing,
                package_id=package.id,
                service_id=service.id,
                centre_id=centre.id,
                person_id=person.id,
                sessions=sessions,
            )
    day = local_date(at or now, centre)
    lines = lines_of(package)
    decision = _check(package, lines, day=day, centre=centre, service=service, person=person, sessions=sessions)
    line = line_by_id(lines, decision.line_id)
    redemption = Redemption.objects.create(
        tenant=tenant,
        package=package,
        line=line,
        service=service,
        centre=centre,
        person=person,
        practitioner=practitioner,
        appointment=appointment,
        day=day,
        at=at or now,
        sessions=sessions,
        value=value_of_next(line.deferred_value, line.remaining, sessions),
        in_grace=decision.in_grace,
        redeemed_by=actor.label,
        idempotency_key=idempotency_key,
    )
    apply_entry(
        line,
        kind=EntryKind.REDEEM,
        actor=actor,
        now=now,
        redeemed=sessions,
        value=-redemption.value,
        redemption=redemption,
        data={"in_grace": decision.in_grace} if decision.in_grace else None,
    )
    _recognise(package, line, redemption, now)
    _note_first_use(package, day)
    return redemption


@transaction.atomic
def place_hold(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    service_id: int,
    centre_id: int,
    day: dt.date,
    person_id: int | None = None,
    sessions: int = 1,
    practitioner_id: int | None = None,
    appointment=None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Hold:
    """Reserve sessions for a booked appointment; every check is made against the appointment's date."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    sessions = checked_sessions(sessions)
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput("day must be a date", field="day")
    idempotency_key = _idempotency_key(idempotency_key)
    centre, service, person, practitioner = _resolve(
        tenant, centre_id=centre_id, service_id=service_id, person_id=person_id, practitioner_id=practitioner_id
    )
    package = lock_package(tenant, package_id)
    person = person or package.holder
    if idempotency_key:
        existing = Hold.objects.filter(tenant=tenant, idempotency_key=idempotency_key).first()
        if existing:
            return _same_or_conflict(
                existing,
                package_id=package.id,
                service_id=service.id,
                centre_id=centre.id,
                person_id=person.id,
                sessions=sessions,
                day=day,
            )
    lines = lines_of(package)
    decision = _check(package, lines, day=day, centre=centre, service=service, person=person, sessions=sessions)
    line = line_by_id(lines, decision.line_id)
    hold = Hold.objects.create(
        tenant=tenant,
        package=package,
        line=line,
        service=service,
        centre=centre,
        person=person,
        practitioner=practitioner,
        appointment=appointment,
        day=day,
        sessions=sessions,
        placed_at=now,
        placed_by=actor.label,
        idempotency_key=idempotency_key,
    )
    apply_entry(line, kind=EntryKind.HOLD, actor=actor, now=now, held=sessions, hold=hold)
    return hold


def _locked_hold(tenant: Tenant, hold_id) -> tuple[Package, Hold]:
    hold = scoped_get(Hold, tenant=tenant, pk=hold_id, field="hold_id")
    package = lock_package(tenant, hold.package_id)
    hold.refresh_from_db()  # re-read under the package lock: another request may have resolved it
    return package, hold


@transaction.atomic
def post_hold(*, tenant: Tenant, actor: Actor, hold_id: int, now: dt.datetime | None = None) -> Redemption:
    """Arrival: the hold becomes a redemption, once. The checks were made when it was placed."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    package, hold = _locked_hold(tenant, hold_id)
    if hold.state == HoldState.POSTED:
        return hold.redemption  # posting twice is the same arrival: answer with its redemption
    if hold.state != HoldState.PENDING:
        raise Conflict(f"the hold was already {hold.state}", code="hold_resolved", state=hold.state)
    line = PackageLine.objects.get(pk=hold.line_id)
    # A session booked for a soft-expiry grace day is flagged like a walk-in on that day (SPEC §4.3).
    in_grace = (
        validity_on(
            hold.day,
            start=package.start_date,
            last_day=package.expires_on,
            mode=package.expiry_mode,
            grace_days=package.grace_days,
        )
        is Validity.IN_GRACE
    )
    redemption = Redemption.objects.create(
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
    hold.save(update_fields=["state", "resolved_at", "resolved_by"])
    apply_entry(
        line,
        kind=EntryKind.REDEEM,
        actor=actor,
        now=now,
        held=-hold.sessions,
        redeemed=hold.sessions,
        value=-redemption.value,
        hold=hold,
        redemption=redemption,
        data={"in_grace": True} if in_grace else None,
    )
    _recognise(package, line, redemption, now)
    _note_first_use(package, hold.day)
    return redemption


def _release(hold: Hold, *, actor: Actor, now: dt.datetime, reason: str = "") -> None:
    line = PackageLine.objects.get(pk=hold.line_id)
    hold.state, hold.resolved_at, hold.resolved_by = HoldState.RELEASED, now, actor.label
    hold.save(update_fields=["state", "resolved_at", "resolved_by"])
    apply_entry(line, kind=EntryKind.RELEASE, actor=actor, now=now, held=-hold.sessions, hold=hold, reason=reason)


@transaction.atomic
def release_hold(
    *, tenant: Tenant, actor: Actor, hold_id: int, reason: str = "", now: dt.datetime | None = None
) -> Hold:
    """Cancellation or removal before arrival: the sessions become available again, once."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    package, hold = _locked_hold(tenant, hold_id)
    if hold.state == HoldState.RELEASED:
        return hold
    if hold.state != HoldState.PENDING:
        raise Conflict(
            "the hold was already posted as a redemption; void the redemption instead",
            code="hold_resolved",
            state=hold.state,
        )
    _release(hold, actor=actor, now=now, reason=checked_reason(reason, required=False))
    return hold


# ---------------------------------------------------------------- voids and adjustments


@transaction.atomic
def void_redemption(
    *, tenant: Tenant, actor: Actor, redemption_id: int, reason: str, now: dt.datetime | None = None
) -> Redemption:
    """A redemption made in error: sessions restored once, revenue reversed, the approving manager recorded."""
    actor.require(Perm.VOID)
    now = now or clock.now()
    reason = checked_reason(reason)
    redemption = scoped_get(Redemption, tenant=tenant, pk=redemption_id, field="redemption_id")
    package = lock_package(tenant, redemption.package_id)
    redemption.refresh_from_db()
    if redemption.voided_at is not None:
        raise Conflict(f"redemption {redemption.id} was already voided", code="already_voided")
    if package.closure:
        raise Conflict(
            f"the package is {package.closure}; its redemptions can no longer be voided", code="not_voidable"
        )
    line = PackageLine.objects.get(pk=redemption.line_id)
    redemption.voided_at, redemption.voided_by, redemption.void_reason = now, actor.label, reason
    redemption.void_approver_id = actor.staff_id
    redemption.save(update_fields=["voided_at", "voided_by", "void_reason", "void_approver"])
    original = SessionEntry.objects.filter(redemption=redemption, kind=EntryKind.REDEEM).first()
    apply_entry(
        line,
        kind=EntryKind.VOID,
        actor=actor,
        now=now,
        redeemed=-redemption.sessions,
        value=redemption.value,
        redemption=redemption,
        reverses=original,
        reason=reason,
    )
    journal.reverse_entries(
        tenant=tenant,
        event=("redemption", redemption.id),
        kind="void",
        memo=f"void of redemption {redemption.id}: {reason}",
        at=now,
        date=local_date(now, redemption.centre),
        reversal_event=("void", redemption.id),
    )
    audit(tenant=tenant, actor=actor, action="redemption.void", subject=redemption, reason=reason, now=now)
    # Listeners reverse what hangs on the redemption (co-pay charge, commission) in this transaction.
    signals.redemption_voided.send(sender=Redemption, redemption=redemption, actor=actor, now=now, reason=reason)
    _expire_if_due(package, lines_of(package), actor=actor, now=now)
    return redemption


@transaction.atomic
def adjust_sessions(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    line_id: int,
    delta: int,
    reason: str,
    now: dt.datetime | None = None,
) -> SessionEntry:
    """A manager's correction: + goodwill sessions (no money), − sessions removed (their value is breakage)."""
    actor.require(Perm.ADJUST)
    now = now or clock.now()
    reason = checked_reason(reason)
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > 1000:
        raise InvalidInput("delta must be a non-zero whole number from -1000 to 1000", field="delta")
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    ensure_allowed(Action.ADJUST, selectors.status_of(package, lines, package_today(package, now)))
    line = next((line for line in lines if line.id == line_id), None)
    if line is None:
        raise NotFound(f"package {package.id} has no line {line_id}", field="line_id")
    value = 0
    if delta < 0:
        if line.available < -delta:
            raise Conflict(
                f"only {line.available} session(s) available to remove",
                code="adjustment_too_large",
                field="delta",
                available=line.available,
            )
        value = value_of_next(line.deferred_value, line.remaining, -delta)
    entry = apply_entry(line, kind=EntryKind.ADJUST, actor=actor, now=now, granted=delta, value=-value, reason=reason)
    if value:
        journal.record(
            tenant=tenant,
            kind="adjustment",
            event=("session_entry", entry.id),
            at=now,
            date=package_today(package, now),
            centre=package.sold_at,
            patient=package.holder,
            package=package,
            memo=f"{-delta} session(s) removed from package {package.id}: {reason}",
            postings=posting.breakage(value_by_line={line: value}),
        )
    audit(
        tenant=tenant,
        actor=actor,
        action="package.adjust",
        subject=package,
        reason=reason,
        now=now,
        data={"line_id": line.id, "delta": delta},
    )
    return entry


# ---------------------------------------------------------------- expiry


def _forfeit_remaining(
    package: Package, lines: list[PackageLine], *, kind: str, actor: Actor, now: dt.datetime, reason: str
) -> dict[PackageLine, int]:
    """Release pending holds and forfeit what remains; returns the deferred value forfeited per line."""
    for hold in Hold.objects.filter(package=package, state=HoldState.PENDING).order_by("id"):
        _release(hold, actor=actor, now=now, reason=reason)
        line = line_by_id(lines, hold.line_id)
        line.held -= hold.sessions  # keep the in-memory copies in step with _release
    values = {}
    for line in lines:
        if line.remaining > 0 or line.deferred_value:
            values[line] = line.deferred_value
            apply_entry(
                line,
                kind=kind,
                actor=actor,
                now=now,
                forfeited=line.remaining,
                value=-line.deferred_value,
                reason=reason,
            )
    return values


def _expire_if_due(
    package: Package, lines: list[PackageLine], *, actor: Actor, now: dt.datetime, today: dt.date | None = None
) -> bool:
    """Past its last usable day, an open package's remaining sessions become breakage."""
    today = today or package_today(package, now)
    if package.closure or package.expires_on is None:
        return False
    validity = validity_on(
        today,
        start=package.start_date,
        last_day=package.expires_on,
        mode=package.expiry_mode,
        grace_days=package.grace_days,
    )
    if validity is not Validity.EXPIRED:
        return False
    if not any(line.remaining or line.held for line in lines):
        return False
    values = _forfeit_remaining(
        package,
        lines,
        kind=EntryKind.EXPIRE,
        actor=actor,
        now=now,
        reason=f"expired after {package.expires_on.isoformat()}",
    )
    if sum(values.values()):
        journal.record(
            tenant=package.tenant,
            kind="breakage",
            event=("package_expiry", package.id),
            at=now,
            date=today,
            centre=package.sold_at,
            patient=package.holder,
            package=package,
            memo=f"package {package.id} expired with sessions left",
            postings=posting.breakage(value_by_line={k: v for k, v in values.items() if v}),
        )
    return True


def _reinstate_if_valid(
    package: Package, lines: list[PackageLine], *, actor: Actor, now: dt.datetime, reason: str
) -> None:
    """An extension brings an expired package back: sessions forfeited by expiry return, breakage reverses."""
    today = package_today(package, now)
    validity = validity_on(
        today,
        start=package.start_date,
        last_day=package.expires_on,
        mode=package.expiry_mode,
        grace_days=package.grace_days,
    )
    if validity is Validity.EXPIRED:
        return
    values = {}
    for line in lines:
        forfeited = SessionEntry.objects.filter(line=line, kind=EntryKind.EXPIRE).values_list("forfeited", "value")
        sessions = sum(f for f, _ in forfeited)
        value = -sum(v for _, v in forfeited)
        if sessions or value:
            apply_entry(
                line,
                kind=EntryKind.EXPIRE,
                actor=actor,
                now=now,
                forfeited=-sessions,
                value=value,
                reason=f"reinstated: {reason}",
            )
            if value:
                values[line] = value
    if values:
        journal.record(
            tenant=package.tenant,
            kind="breakage_reversal",
            event=("package_reinstated", package.id),
            at=now,
            date=today,
            centre=package.sold_at,
            patient=package.holder,
            package=package,
            memo=f"package {package.id} extended: breakage reversed",
            postings=posting.reverse(posting.breakage(value_by_line=values)),
        )


@transaction.atomic
def change_expiry(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    expires_on: dt.date | None,
    reason: str,
    now: dt.datetime | None = None,
) -> Package:
    """Extend, shorten or clear (None = no expiry) one package's last valid day, with a reason and history."""
    actor.require(Perm.CHANGE_EXPIRY)
    now = now or clock.now()
    reason = checked_reason(reason)
    if expires_on is not None and (not isinstance(expires_on, dt.date) or isinstance(expires_on, dt.datetime)):
        raise InvalidInput("expires_on must be a date or null", field="expires_on")
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    ensure_allowed(Action.CHANGE_EXPIRY, selectors.status_of(package, lines, package_today(package, now)))
    if expires_on is not None and expires_on < package.start_date:
        raise InvalidInput("the expiry date cannot be before the start date", field="expires_on")
    if expires_on is not None and (expires_on - package.start_date).days >= MAX_COUNT:
        raise InvalidInput(
            "the expiry date can be at most ten years after the start; clear it for no expiry", field="expires_on"
        )
    if expires_on is not None:
        late = Hold.objects.filter(package=package, state=HoldState.PENDING, day__gt=expires_on).count()
        if late:
            raise Conflict(
                f"{late} booked appointment(s) fall after {expires_on.isoformat()}; remove the package from them first",
                code="transition_not_allowed",
                field="expires_on",
            )
    ExpiryChange.objects.create(
        tenant=tenant,
        package=package,
        old_expires_on=package.expires_on,
        new_expires_on=expires_on,
        reason=reason,
        at=now,
        actor=actor.label,
    )
    package.expires_on, package.expiry_overridden = expires_on, True
    Package.objects.filter(pk=package.pk).update(expires_on=expires_on, expiry_overridden=True)
    audit(
        tenant=tenant,
        actor=actor,
        action="package.change_expiry",
        subject=package,
        reason=reason,
        now=now,
        data={"expires_on": expires_on.isoformat() if expires_on else None},
    )
    _reinstate_if_valid(package, lines, actor=actor, now=now, reason=reason)
    _expire_if_due(package, lines, actor=actor, now=now)
    return package


SWEEP_BATCH = 2000  # packages per sweep transaction: bounds the memory and how long their locks are held
SWEEPER = Actor(label="sweep", role="admin", source="expiry sweep")


def expire_due_packages(
    *,
    as_of: dt.date | None = None,
    tenant: Tenant | None = None,
    now: dt.datetime | None = None,
    batch: int = SWEEP_BATCH,
) -> int:
    """The nightly sweep: every open package past its last usable day forfeits what remains (breakage).

    Idempotent (an expired package has nothing left to forfeit) and can run as of any date. Returns how
    many packages expired.

    Set-based, one short transaction per batch of packages, so memory and lock time are bounded by the
    batch whatever the number of packages: the batch's packages are locked FOR NO KEY UPDATE in id order
    and re-read under the lock with their lines; the rule used everywhere decides which are due
    (domain.expiry.validity_on at `as_of`, or at each package's local date: soft expiry only after its
    grace days); then a few statements write exactly what `_expire_if_due` writes for one package:
    pending holds released (RELEASE entries), each line's remainder forfeited (EXPIRE entries, the
    cached columns moved by the same deltas), one breakage journal entry per package with its postings
    tagged by package line.
    """
    now = now or clock.now()
    if as_of is not None and (not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime)):
        raise InvalidInput("as_of must be a date", field="as_of")
    bound = (as_of or now.date()) + dt.timedelta(days=1)  # zones are within a day of UTC
    candidates = Package.objects.filter(closure__isnull=True, expires_on__isnull=False, expires_on__lt=bound)
    if tenant is not None:
        candidates = candidates.filter(tenant=tenant)
    tenants: dict[int, Tenant] = {tenant.id: tenant} if tenant is not None else {}
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
            expired += _expire_batch(ids, as_of=as_of, now=now, tenants=tenants)
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
    lines_of: dict[int, list[tuple]] = {}
    for line in (
        PackageLine.objects.filter(package_id__in=ids)
        .order_by("package_id", "id")
        .values_list("id", "package_id", "granted", "redeemed", "forfeited", "held", "deferred_value")
    ):
        lines_of.setdefault(line[1], []).append(line)
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
        lines = lines_of.get(package.id, [])
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
    for package, today, postings in breakages:
        debit = sum(p.amount for p in postings if p.amount > 0)
        journal_rows.append(
            {
                "tenant_id": package.tenant_id,
                "at": now,
                "date": today,
                "kind": "breakage",
                "memo": f"package {package.id} expired with sessions left",
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


# ---------------------------------------------------------------- closing


def close_package(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    action: Action,
    closure: Closure,
    reason: str,
    now: dt.datetime,
    kind: str = EntryKind.CANCEL,
) -> tuple[Package, dict[PackageLine, int]]:
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    ensure_allowed(action, selectors.status_of(package, lines, package_today(package, now)))
    values = _forfeit_remaining(package, lines, kind=kind, actor=actor, now=now, reason=reason)
    package.closure, package.closed_at, package.closed_by, package.closed_reason = closure, now, actor.label, reason
    package.save(update_fields=["closure", "closed_at", "closed_by", "closed_reason"])
    audit(tenant=tenant, actor=actor, action=f"package.{action}", subject=package, reason=reason, now=now)
    return package, values


def _close_with_breakage(*, tenant, actor, package_id, action, closure, reason, now) -> Package:
    package, values = close_package(
        tenant=tenant, actor=actor, package_id=package_id, action=action, closure=closure, reason=reason, now=now
    )
    values = {k: v for k, v in values.items() if v}
    if values:
        journal.record(
            tenant=tenant,
            kind="breakage",
            event=(f"package_{action}", package.id),
            at=now,
            date=package_today(package, now),
            centre=package.sold_at,
            patient=package.holder,
            package=package,
            memo=f"package {package.id} {closure}: {reason}",
            postings=posting.breakage(value_by_line=values),
        )
    return package


@transaction.atomic
def complete_package(
    *, tenant: Tenant, actor: Actor, package_id: int, reason: str, now: dt.datetime | None = None
) -> Package:
    """Closed early by staff (e.g. the treatment plan changed); what remains is forfeited."""
    actor.require(Perm.CLOSE)
    return _close_with_breakage(
        tenant=tenant,
        actor=actor,
        package_id=package_id,
        action=Action.COMPLETE,
        closure=Closure.COMPLETED,
        reason=checked_reason(reason),
        now=now or clock.now(),
    )


@transaction.atomic
def cancel_package(
    *, tenant: Tenant, actor: Actor, package_id: int, reason: str, now: dt.datetime | None = None
) -> Package:
    """Cancelled without a refund: remaining sessions voided, their value is breakage."""
    actor.require(Perm.CLOSE)
    return _close_with_breakage(
        tenant=tenant,
        actor=actor,
        package_id=package_id,
        action=Action.CANCEL,
        closure=Closure.CANCELLED,
        reason=checked_reason(reason),
        now=now or clock.now(),
    )


# ---------------------------------------------------------------- sharing and transfer


@transaction.atomic
def add_beneficiary(
    *, tenant: Tenant, actor: Actor, package_id: int, patient_id: int, now: dt.datetime | None = None
) -> Beneficiary:
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    package = lock_package(tenant, package_id)
    ensure_allowed(Action.ADD_BENEFICIARY, selectors.status_of(package, lines_of(package), package_today(package, now)))
    version = package.plan_version
    if not version.shareable:
        raise RuleViolation("this package is not shareable", code="not_shareable")
    live = selectors.beneficiary_ids(package)
    if patient.id == package.holder_id or patient.id in live:
        raise Conflict(f"{patient.name} already shares this package", code="already_beneficiary", field="patient_id")
    if len(live) + 1 >= version.max_beneficiaries:
        raise RuleViolation(
            f"at most {version.max_beneficiaries} people (the holder included) can share it",
            code="beneficiary_limit",
            max_beneficiaries=version.max_beneficiaries,
        )
    beneficiary = Beneficiary.objects.create(
        tenant=tenant, package=package, patient=patient, added_at=now, added_by=actor.label
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="package.add_beneficiary",
        subject=package,
        now=now,
        data={"patient_id": patient.id},
    )
    return beneficiary


@transaction.atomic
def remove_beneficiary(
    *, tenant: Tenant, actor: Actor, package_id: int, patient_id: int, now: dt.datetime | None = None
) -> Beneficiary:
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    package = lock_package(tenant, package_id)
    beneficiary = Beneficiary.objects.filter(package=package, patient=patient, removed_at__isnull=True).first()
    if beneficiary is None:
        raise NotFound(f"patient {patient.id} is not a beneficiary of package {package.id}", field="patient_id")
    if Hold.objects.filter(package=package, person=patient, state=HoldState.PENDING).exists():
        raise Conflict(
            "the beneficiary has booked appointments on this package; remove the package from them first",
            code="transition_not_allowed",
        )
    beneficiary.removed_at, beneficiary.removed_by = now, actor.label
    beneficiary.save(update_fields=["removed_at", "removed_by"])
    audit(
        tenant=tenant,
        actor=actor,
        action="package.remove_beneficiary",
        subject=package,
        now=now,
        data={"patient_id": patient.id},
    )
    return beneficiary


@transaction.atomic
def transfer_package(
    *,
    tenant: Tenant,
    actor: Actor,
    package_id: int,
    to_patient_id: int,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Transfer:
    """The whole package (its remaining sessions) moves to another patient, with history."""
    actor.require(Perm.TRANSFER)
    now = now or clock.now()
    reason = checked_reason(reason, required=False)
    recipient = scoped_get(Patient, tenant=tenant, pk=to_patient_id, field="to_patient_id")
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    if not package.plan_version.transferable:
        raise RuleViolation("this package is not transferable", code="not_transferable")
    ensure_allowed(Action.TRANSFER, selectors.status_of(package, lines, package_today(package, now)))
    if recipient.id == package.holder_id:
        raise InvalidInput("the package already belongs to this patient", field="to_patient_id")
    if Hold.objects.filter(package=package, state=HoldState.PENDING).exists():
        raise Conflict(
            "the package has booked appointments; remove it from them before transferring",
            code="transition_not_allowed",
        )
    transfer = Transfer.objects.create(
        tenant=tenant,
        package=package,
        from_patient_id=package.holder_id,
        to_patient=recipient,
        reason=reason,
        at=now,
        actor=actor.label,
    )
    # The old family's beneficiaries do not come along; their usage history stays.
    Beneficiary.objects.filter(package=package, removed_at__isnull=True).update(removed_at=now, removed_by=actor.label)
    for line in lines:
        apply_entry(
            line,
            kind=EntryKind.TRANSFER,
            actor=actor,
            now=now,
            reason=reason,
            data={"from_patient_id": package.holder_id, "to_patient_id": recipient.id},
        )
    Package.objects.filter(pk=package.pk).update(holder=recipient)
    package.holder = recipient
    audit(
        tenant=tenant,
        actor=actor,
        action="package.transfer",
        subject=package,
        reason=reason,
        now=now,
        data={"from_patient_id": transfer.from_patient_id, "to_patient_id": recipient.id},
    )
    return transfer
