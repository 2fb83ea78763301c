"""The session ledger's primitives every write to a package goes through (SPEC §4–§7).

Locking: every function that changes a package takes that package's row lock first (`lock_package`:
`SELECT … FOR NO KEY UPDATE` on PostgreSQL — no_key because no key column changes, so inserts of rows
referencing the package are not blocked; SQLite serialises writers with IMMEDIATE transactions). Lines
change only under their package's lock, so there is one lock per package, and operations on two
packages lock them in id order. Cached balances change only through `apply_entry`, which writes the
ledger entry with the same deltas.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F

from punchcard.domain import posting, validation
from punchcard.domain.roles import Actor
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant
from punchcard.tenancy.selectors import scoped_get

from ..models import Hold, Package, PackageLine, Redemption, SessionEntry

MAX_SESSIONS_PER_USE = 100


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


def entry_fields(
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
    hold_id: int | None = None,
    redemption_id: int | None = None,
    reverses_id: int | None = None,
    reason: str = "",
    data: dict | None = None,
) -> dict:
    """The session entry's columns (by attname): what `apply_entry` writes, and a one-statement write too."""
    return {
        "tenant_id": line.tenant_id,
        "package_id": line.package_id,
        "line_id": line.pk,
        "kind": kind,
        "granted": granted,
        "redeemed": redeemed,
        "held": held,
        "forfeited": forfeited,
        "value": value,
        "hold_id": hold_id,
        "redemption_id": redemption_id,
        "reverses_id": reverses_id,
        "at": now,
        "actor": actor.label,
        "source": actor.source,
        "reason": reason,
        "data": data or {},
    }


LINE_DELTAS = {
    "granted": "granted",
    "redeemed": "redeemed",
    "held": "held",
    "forfeited": "forfeited",
    "value": "deferred_value",
}


def line_changes(fields: dict) -> dict[str, int]:
    """The cached columns an entry changes, and by how much (its deltas, by the line's column names)."""
    return {column: fields[delta] for delta, column in LINE_DELTAS.items() if fields[delta]}


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
    fields = entry_fields(
        line,
        kind=kind,
        actor=actor,
        now=now,
        granted=granted,
        redeemed=redeemed,
        held=held,
        forfeited=forfeited,
        value=value,
        hold_id=hold.pk if hold is not None else None,
        redemption_id=redemption.pk if redemption is not None else None,
        reverses_id=reverses.pk if reverses is not None else None,
        reason=reason,
        data=data,
    )
    entry = SessionEntry(**fields)
    entry.line, entry.hold, entry.redemption, entry.reverses = line, hold, redemption, reverses
    entry.save(force_insert=True)
    changes = line_changes(fields)
    if changes:
        PackageLine.objects.filter(pk=line.pk).update(**{name: F(name) + delta for name, delta in changes.items()})
        for name, delta in changes.items():
            setattr(line, name, getattr(line, name) + delta)
    return entry


def checked_sessions(value) -> int:
    """Sessions used or held at once: 1 to MAX_SESSIONS_PER_USE."""
    return validation.whole(value, "sessions", low=1, high=MAX_SESSIONS_PER_USE)


def lines_of(package: Package) -> list[PackageLine]:
    return list(PackageLine.objects.filter(package=package).order_by("id"))


def line_by_id(lines: list[PackageLine], line_id: int) -> PackageLine:
    return next(line for line in lines if line.id == line_id)


def resolve_use(tenant: Tenant, *, centre_id, service_id, person_id, practitioner_id):
    """The centre, service, person (None: the holder) and practitioner of a use, each in the tenant."""
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    service = scoped_get(Service, tenant=tenant, pk=service_id, field="service_id")
    person = scoped_get(Patient, tenant=tenant, pk=person_id, field="person_id") if person_id is not None else None
    practitioner = (
        scoped_get(StaffMember, tenant=tenant, pk=practitioner_id, field="practitioner_id")
        if practitioner_id is not None
        else None
    )
    return centre, service, person, practitioner


def redemption_facts(redemption: Redemption) -> dict:
    """What an integrator needs to know of a redemption: the payload of its events."""
    return {
        "redemption_id": redemption.id,
        "package_id": redemption.package_id,
        "line_id": redemption.line_id,
        "patient_id": redemption.person_id,
        "service_id": redemption.service_id,
        "centre_id": redemption.centre_id,
        "appointment_id": redemption.appointment_id,
        "sessions": redemption.sessions,
        "day": redemption.day.isoformat(),
        "value": redemption.value,
    }


def hold_facts(hold: Hold) -> dict:
    return {
        "hold_id": hold.id,
        "package_id": hold.package_id,
        "line_id": hold.line_id,
        "patient_id": hold.person_id,
        "service_id": hold.service_id,
        "centre_id": hold.centre_id,
        "appointment_id": hold.appointment_id,
        "sessions": hold.sessions,
        "day": hold.day.isoformat(),
    }


def recognise(package: Package, line: PackageLine, redemption: Redemption, now: dt.datetime) -> None:
    """A redemption earns its value: deferred revenue becomes revenue in the journal."""
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
