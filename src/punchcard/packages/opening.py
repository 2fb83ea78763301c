"""Opening a package (SPEC §4): the package, a line per plan line, and each line's grant entry.

Whatever sells or hands out the package (an order, a claim code) decides who holds it, from when,
and for how much, and books the money; this module only makes the package those terms describe.
The value is allocated over the lines by list price (largest remainder, so the parts sum to it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db.models import prefetch_related_objects

from punchcard.catalogue.models import PlanVersion
from punchcard.domain.allocation import LineForAllocation, allocate_to_lines
from punchcard.domain.expiry import last_valid_day
from punchcard.domain.roles import Actor
from punchcard.tenancy.models import Centre, Patient, StaffMember, Tenant

from .models import EntryKind, Package, PackageLine
from .services import apply_entry


def open_package(
    *,
    tenant: Tenant,
    holder: Patient,
    plan_version: PlanVersion,
    sold_at: Centre,
    currency: str,
    price_gross: int,
    price_net: int,
    purchased_on: dt.date,
    start_date: dt.date,
    actor: Actor,
    now: dt.datetime,
    order_line=None,
    credited_staff: StaffMember | None = None,
    bonus_sessions: Mapping[int, int] | None = None,
    entry_data: dict | None = None,
    expires_on: dt.date | None = None,
    grant_kind: str = EntryKind.GRANT,
) -> tuple[Package, dict[PackageLine, int]]:
    """The new package and the value deferred on each of its lines (`price_net` in all).

    `bonus_sessions` adds sessions per plan line id on top of the plan's own bonus (a promotion's
    Buy N Free M); `entry_data` is kept on every grant entry (the order number, for receipts).
    `expires_on` (an imported package's own last day) replaces the plan's rule and is kept as an override;
    `grant_kind` is `import` for a package brought from another system.
    Call inside the caller's transaction: nothing is locked, every row written is new.
    """
    bonus_sessions = bonus_sessions or {}
    package = Package.objects.create(
        tenant=tenant,
        holder=holder,
        plan_version=plan_version,
        order_line=order_line,
        sold_at=sold_at,
        currency=currency,
        price_gross=price_gross,
        price_net=price_net,
        purchased_on=purchased_on,
        start_date=start_date,
        expiry=plan_version.expiry,
        expiry_mode=plan_version.expiry_mode,
        grace_days=plan_version.grace_days,
        expires_on=expires_on
        if expires_on is not None
        else last_valid_day(plan_version.expiry_rule, start=start_date, purchased_on=purchased_on, first_used_on=None),
        expiry_overridden=expires_on is not None,
        credited_staff=credited_staff,
        activated_at=now,
    )
    # Read once per version object (a no-op when the caller prefetched them: an import opens thousands).
    prefetch_related_objects([plan_version], "lines__services")
    plan_lines = list(plan_version.lines.all())
    terms = [
        LineForAllocation(
            max(s.list_price for s in pl.services.all()),
            pl.sessions,
            pl.bonus_sessions + bonus_sessions.get(pl.id, 0),
        )
        for pl in plan_lines
    ]
    values = allocate_to_lines(price_net, terms)
    deferred = {}
    for plan_line, term, value in zip(plan_lines, terms, values, strict=True):
        package_line = PackageLine.objects.create(
            tenant=tenant,
            package=package,
            plan_line=plan_line,
            label=plan_line.label,
            service_ids=sorted(s.id for s in plan_line.services.all()),
            list_price=term.list_price,
            patient_pays=plan_line.patient_pays,
        )
        apply_entry(
            package_line,
            kind=grant_kind,
            actor=actor,
            now=now,
            granted=term.granted,
            value=value,
            data=entry_data,
        )
        deferred[package_line] = value
    return package, deferred
