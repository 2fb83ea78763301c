"""One package's expiry (SPEC §4.3): its last valid day changed by staff, and what follows from the
rule at a given day — remaining sessions forfeited once it is past, given back when it is extended."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.expiry import MAX_COUNT, Validity, validity_on
from punchcard.domain.roles import Actor, Perm
from punchcard.domain.status import Action, ensure_allowed
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import EntryKind, ExpiryChange, Hold, HoldState, Package, PackageLine, SessionEntry
from .closing import forfeit_remaining
from .session_ledger import apply_entry, lines_of, lock_package


def expire_if_due(
    package: Package, lines: list[PackageLine], *, actor: Actor, now: dt.datetime, today: dt.date | None = None
) -> bool:
    """Past its last usable day, an open package's remaining sessions become breakage (under its lock)."""
    today = today or selectors.today_for(package, now)
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
    values = forfeit_remaining(
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
    events.record(
        "package.expired",
        tenant=package.tenant,
        subject=package,
        actor=actor,
        at=now,
        package_id=package.id,
        patient_id=package.holder_id,
        expired_after=package.expires_on.isoformat(),
    )
    return True


def _reinstate_if_valid(
    package: Package, lines: list[PackageLine], *, actor: Actor, now: dt.datetime, reason: str
) -> None:
    """An extension brings an expired package back: sessions forfeited by expiry return, breakage reverses."""
    today = selectors.today_for(package, now)
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
    reason = validation.reason(reason)
    expires_on = validation.date(expires_on, "expires_on", optional=True, parse=False)
    package = lock_package(tenant, package_id)
    lines = lines_of(package)
    ensure_allowed(Action.CHANGE_EXPIRY, selectors.status_of(package, lines, selectors.today_for(package, now)))
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
    expire_if_due(package, lines, actor=actor, now=now)
    return package
