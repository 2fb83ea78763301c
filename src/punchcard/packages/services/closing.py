"""Closing a package early (SPEC §4.2): completed or cancelled by staff, or closed by billing's refund
or upgrade (§8.2, §8.4). What remains is forfeited; its deferred value is breakage."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain import posting, validation
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, Closure, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import EntryKind, Hold, HoldState, Package, PackageLine
from .session_ledger import apply_entry, line_by_id, lines_of, lock_package
from .usage import release_pending


def forfeit_remaining(
    package: Package, lines: list[PackageLine], *, kind: str, actor: Actor, now: dt.datetime, reason: str
) -> dict[PackageLine, int]:
    """Release pending holds and forfeit what remains, under the package lock; returns the deferred value
    forfeited per line."""
    for hold in Hold.objects.filter(package=package, state=HoldState.PENDING).order_by("id"):
        release_pending(hold, tenant=package.tenant, actor=actor, now=now, reason=reason)
        line = line_by_id(lines, hold.line_id)
        line.held -= hold.sessions  # keep the in-memory copies in step with release_pending
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
    """Lock the package, check `action` is allowed, forfeit what remains and record the closure.

    Inside the caller's transaction; the caller books the money (breakage, a refund, an upgrade's credit)
    from the deferred value forfeited per line, which it gets back with the package.
    """
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    ensure_allowed(action, selectors.status_of(package, lines, selectors.today_for(package, now)))
    values = forfeit_remaining(package, lines, kind=kind, actor=actor, now=now, reason=reason)
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
            date=selectors.today_for(package, now),
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
        reason=validation.reason(reason),
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
        reason=validation.reason(reason),
        now=now or clock.now(),
    )
