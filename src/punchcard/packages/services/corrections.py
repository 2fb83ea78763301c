"""Corrections by a manager (SPEC §6): a redemption made in error voided, a balance adjusted."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput, NotFound
from punchcard.domain.money import value_of_next
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import EntryKind, PackageLine, Redemption, SessionEntry
from .expiry import expire_if_due
from .session_ledger import apply_entry, lines_of, lock_package, redemption_facts

MAX_ADJUSTMENT = 1000


@transaction.atomic
def void_redemption(
    *, tenant: Tenant, actor: Actor, redemption_id: int, reason: str, now: dt.datetime | None = None
) -> Redemption:
    """A redemption made in error: sessions restored once, revenue reversed, the approving manager recorded."""
    actor.require(Perm.VOID)
    now = now or clock.now()
    reason = validation.reason(reason)
    redemption = scoped_get(Redemption, tenant=tenant, pk=redemption_id, field="redemption_id")
    package = lock_package(tenant, redemption.package_id)
    redemption.refresh_from_db(from_queryset=selectors.redemptions(tenant))  # under the lock, with its names
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
    # Listeners in the transaction reverse what hangs on the redemption (co-pay charge, commission).
    events.record(
        "redemption.voided",
        tenant=tenant,
        subject=redemption,
        actor=actor,
        at=now,
        reason=reason,
        **redemption_facts(redemption),
    )
    expire_if_due(package, lines_of(package), actor=actor, now=now)
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
    reason = validation.reason(reason)
    delta = validation.whole(delta, "delta", low=-MAX_ADJUSTMENT, high=MAX_ADJUSTMENT)
    if delta == 0:
        raise InvalidInput(
            f"delta must be a non-zero whole number from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}", field="delta"
        )
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    ensure_allowed(Action.ADJUST, selectors.status_of(package, lines, selectors.today_for(package, now)))
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
            date=selectors.today_for(package, now),
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
