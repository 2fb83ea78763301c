"""Using sessions (SPEC §5): a walk-in redemption, and an appointment's hold placed, posted on arrival or
released. Every check is made at the centre's local date under the package's lock."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain import validation
from punchcard.domain.errors import Conflict
from punchcard.domain.idempotency import replay
from punchcard.domain.money import value_of_next
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get

from .. import selectors
from ..models import EntryKind, Hold, HoldState, Package, PackageLine, Redemption
from . import one_statement, use_checks
from .notices import note_use
from .session_ledger import (
    apply_entry,
    checked_sessions,
    hold_facts,
    line_by_id,
    lines_of,
    lock_package,
    recognise,
    redemption_facts,
    resolve_use,
)


def _note_first_use(package: Package, day: dt.date) -> None:
    changes = use_checks.first_use(package, day)
    if changes:
        Package.objects.filter(pk=package.pk).update(**changes)


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
    backdate_reason: str | None = None,
    now: dt.datetime | None = None,
) -> Redemption:
    """Use sessions now (walk-in or manual), every check of SPEC §5 at the centre's local date. An `at`
    on an earlier day needs a manager's `backdate_reason`."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    sessions = checked_sessions(sessions)
    at = validation.instant(at, "at", optional=True)
    idempotency_key = validation.idempotency_key(idempotency_key)
    if one_statement.enabled():
        return one_statement.redeem(
            tenant=tenant,
            actor=actor,
            package_id=package_id,
            service_id=service_id,
            centre_id=centre_id,
            person_id=person_id,
            sessions=sessions,
            at=at,
            practitioner_id=practitioner_id,
            appointment=appointment,
            idempotency_key=idempotency_key,
            backdate_reason=backdate_reason,
            now=now,
        )
    centre, service, person, practitioner = resolve_use(
        tenant, centre_id=centre_id, service_id=service_id, person_id=person_id, practitioner_id=practitioner_id
    )
    package = lock_package(tenant, package_id)
    person = person or package.holder
    if idempotency_key:
        existing = Redemption.objects.filter(tenant=tenant, idempotency_key=idempotency_key).first()
        if existing:
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
    lines = lines_of(package)
    decision = use_checks.check(
        package, lines, day=day, centre=centre, service=service, person=person, sessions=sessions
    )
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
    recognise(package, line, redemption, now)
    _note_first_use(package, day)
    if backdated:
        use_checks.audit_backdate(tenant, actor, redemption, backdated, day, today, now)
    events.record(
        "redemption.created", tenant=tenant, subject=redemption, actor=actor, at=now, **redemption_facts(redemption)
    )
    note_use(package, lines, used=sessions, tenant=tenant, actor=actor, now=now)
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
    backdate_reason: str | None = None,
    restoring: bool = False,
    now: dt.datetime | None = None,
) -> Hold:
    """Reserve sessions for a booked appointment; every check is made against the appointment's date.

    A day before today at the centre is refused (`backdated`) unless a manager gives `backdate_reason`;
    `restoring` is for undo paths putting back the hold an appointment had (its date was checked then)."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    sessions = checked_sessions(sessions)
    day = validation.date(day, "day", parse=False)
    idempotency_key = validation.idempotency_key(idempotency_key)
    if one_statement.enabled():
        return one_statement.place(
            tenant=tenant,
            actor=actor,
            package_id=package_id,
            service_id=service_id,
            centre_id=centre_id,
            day=day,
            person_id=person_id,
            sessions=sessions,
            practitioner_id=practitioner_id,
            appointment=appointment,
            idempotency_key=idempotency_key,
            backdate_reason=backdate_reason,
            restoring=restoring,
            now=now,
        )
    centre, service, person, practitioner = resolve_use(
        tenant, centre_id=centre_id, service_id=service_id, person_id=person_id, practitioner_id=practitioner_id
    )
    package = lock_package(tenant, package_id)
    person = person or package.holder
    if idempotency_key:
        existing = Hold.objects.filter(tenant=tenant, idempotency_key=idempotency_key).first()
        if existing:
            return replay(
                existing,
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
    lines = lines_of(package)
    decision = use_checks.check(
        package, lines, day=day, centre=centre, service=service, person=person, sessions=sessions
    )
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
    apply_entry(line, kind=EntryKind.HOLD, actor=actor, now=now, held=sessions, hold=hold, reason=backdated or "")
    if backdated:
        use_checks.audit_backdate(tenant, actor, hold, backdated, day, today, now)
    events.record("hold.placed", tenant=tenant, subject=hold, actor=actor, at=now, **hold_facts(hold))
    return hold


def _locked_hold(tenant: Tenant, hold_id) -> tuple[Package, Hold]:
    hold = scoped_get(Hold, tenant=tenant, pk=hold_id, field="hold_id")
    package = lock_package(tenant, hold.package_id)
    # Re-read under the package lock (another request may have resolved it), with what the answer names.
    hold.refresh_from_db(from_queryset=selectors.holds(tenant))
    return package, hold


@transaction.atomic
def post_hold(*, tenant: Tenant, actor: Actor, hold_id: int, now: dt.datetime | None = None) -> Redemption:
    """Arrival: the hold becomes a redemption, once. The checks were made when it was placed."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    if one_statement.enabled():
        return one_statement.post(tenant=tenant, actor=actor, hold_id=hold_id, now=now)
    package, hold = _locked_hold(tenant, hold_id)
    if hold.state == HoldState.POSTED:
        return hold.redemption  # posting twice is the same arrival: answer with its redemption
    if hold.state != HoldState.PENDING:
        raise Conflict(f"the hold was already {hold.state}", code="hold_resolved", state=hold.state)
    line = PackageLine.objects.get(pk=hold.line_id)
    # A session booked for a soft-expiry grace day is flagged like a walk-in on that day (SPEC §4.3).
    in_grace = use_checks.in_grace(package, hold.day)
    redemption = Redemption.objects.create(
        tenant=tenant,
        package=package,
        line=line,
        service=hold.service,
        centre=hold.centre,
        person=hold.person,
        practitioner=hold.practitioner,
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
    recognise(package, line, redemption, now)
    _note_first_use(package, hold.day)
    events.record(
        "redemption.created", tenant=tenant, subject=redemption, actor=actor, at=now, **redemption_facts(redemption)
    )
    note_use(package, lines_of(package), used=hold.sessions, tenant=tenant, actor=actor, now=now)
    return redemption


def release_pending(hold: Hold, *, tenant: Tenant, actor: Actor, now: dt.datetime, reason: str = "") -> None:
    """A pending hold's sessions become available again; the caller holds the package lock."""
    line = PackageLine.objects.get(pk=hold.line_id)
    hold.state, hold.resolved_at, hold.resolved_by = HoldState.RELEASED, now, actor.label
    hold.save(update_fields=["state", "resolved_at", "resolved_by"])
    apply_entry(line, kind=EntryKind.RELEASE, actor=actor, now=now, held=-hold.sessions, hold=hold, reason=reason)
    events.record("hold.released", tenant=tenant, subject=hold, actor=actor, at=now, reason=reason, **hold_facts(hold))


@transaction.atomic
def release_hold(
    *, tenant: Tenant, actor: Actor, hold_id: int, reason: str = "", now: dt.datetime | None = None
) -> Hold:
    """Cancellation or removal before arrival: the sessions become available again, once."""
    actor.require(Perm.REDEEM)
    now = now or clock.now()
    if one_statement.enabled():
        return one_statement.release(
            tenant=tenant, actor=actor, hold_id=hold_id, reason=validation.reason(reason, required=False), now=now
        )
    _, hold = _locked_hold(tenant, hold_id)
    if hold.state == HoldState.RELEASED:
        return hold
    if hold.state != HoldState.PENDING:
        raise Conflict(
            "the hold was already posted as a redemption; void the redemption instead",
            code="hold_resolved",
            state=hold.state,
        )
    release_pending(hold, tenant=tenant, actor=actor, now=now, reason=validation.reason(reason, required=False))
    return hold
