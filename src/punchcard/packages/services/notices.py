"""What packages tell integrators and patients beyond their own changes (SPEC §12): activated (at sale, or
when a future start day arrives), low balance and exhausted (after a use), expiring soon (days before the
last day, per tenant). Each is a domain event; the daily ones are told once per package (PackageNotice)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import IntegrityError, transaction
from django.db.models import F

from punchcard import clock, events
from punchcard.domain import validation
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from ..models import Package, PackageLine, PackageNotice, ReminderSettings

NOTIFIER = Actor(label="reminders", role="admin", source="daily reminders")
MAX_REMINDER_DAYS = 5


def reminder_settings(tenant: Tenant) -> tuple[tuple[int, ...], int]:
    """(days before expiry, low-balance threshold in sessions) for the tenant: its own, else the defaults."""
    row = ReminderSettings.objects.filter(tenant=tenant).first()
    if row is None:
        return ReminderSettings.DEFAULT_DAYS, ReminderSettings.DEFAULT_LOW_BALANCE
    return tuple(row.days_before_expiry), row.low_balance_sessions


@transaction.atomic
def set_reminder_settings(
    *,
    tenant: Tenant,
    actor: Actor,
    days_before_expiry: list[int] | None = None,
    low_balance_sessions: int | None = None,
    now: dt.datetime | None = None,
) -> ReminderSettings:
    now = now or clock.now()
    days, threshold = reminder_settings(tenant)
    if days_before_expiry is not None:
        if not isinstance(days_before_expiry, list | tuple) or len(days_before_expiry) > MAX_REMINDER_DAYS:
            raise InvalidInput(f"at most {MAX_REMINDER_DAYS} reminder days", field="days_before_expiry")
        days = tuple(
            sorted(
                {validation.whole(d, "days_before_expiry", low=1, high=365) for d in days_before_expiry}, reverse=True
            )
        )
    if low_balance_sessions is not None:
        threshold = validation.whole(low_balance_sessions, "low_balance_sessions", low=0, high=1000)
    ReminderSettings.objects.get_or_create(
        tenant=tenant, defaults={"days_before_expiry": list(days), "low_balance_sessions": threshold, "updated_at": now}
    )
    row = ReminderSettings.objects.select_for_update(no_key=True).get(tenant=tenant)
    row.days_before_expiry, row.low_balance_sessions, row.updated_at = list(days), threshold, now
    row.save()
    audit(
        tenant=tenant,
        actor=actor,
        action="reminders.settings",
        subject=row,
        now=now,
        data={"days_before_expiry": list(days), "low_balance_sessions": threshold},
    )
    return row


def _facts(package: Package, lines: list[PackageLine]) -> dict:
    return {
        "package_id": package.id,
        "patient_id": package.holder_id,
        "centre_id": package.sold_at_id,
        "plan_name": package.plan_version.name,
        "remaining": sum(line.remaining for line in lines),
        "expires_on": package.expires_on.isoformat() if package.expires_on else None,
    }


def note_use(
    package: Package, lines: list[PackageLine], *, used: int, tenant: Tenant, actor, now, threshold: int | None = None
) -> None:
    """After a use, inside its transaction: `package.exhausted` when nothing is left, else
    `package.low_balance` when the sessions left have just fallen to the tenant's threshold (read here
    unless the caller read it already)."""
    after = sum(line.remaining for line in lines)
    if after == 0:
        facts = _facts(package, lines)
        events.record("package.exhausted", tenant=tenant, subject=package, actor=actor, at=now, **facts)
        return
    if threshold is None:
        _, threshold = reminder_settings(tenant)
    if after + used > threshold >= after:
        facts = _facts(package, lines)
        events.record(
            "package.low_balance", tenant=tenant, subject=package, actor=actor, at=now, threshold=threshold, **facts
        )


def _once(package: Package, kind: str, key: str, now: dt.datetime) -> bool:
    """Claim the (package, kind, key) notice; False if it was told before."""
    try:
        with transaction.atomic():
            PackageNotice.objects.create(tenant_id=package.tenant_id, package=package, kind=kind, key=key, at=now)
    except IntegrityError:
        return False
    return True


def announce_activated(package: Package, *, tenant: Tenant, actor, now: dt.datetime) -> bool:
    """`package.activated`, once: at sale when it starts at once, or when its start day arrives."""
    if not _once(package, "activated", "", now):
        return False
    events.record(
        "package.activated",
        tenant=tenant,
        subject=package,
        actor=actor,
        at=now,
        package_id=package.id,
        patient_id=package.holder_id,
        start_date=package.start_date.isoformat(),
        expires_on=package.expires_on.isoformat() if package.expires_on else None,
    )
    return True


def tell_due_notices(*, now: dt.datetime | None = None, tenant: Tenant | None = None) -> int:
    """The daily reminders: future-dated packages whose start day has come are activated; open packages
    whose last day is within one of the tenant's reminder days are expiring soon (the nearest such day
    told once; skipped days are not told late). Each centre's own local day counts. Returns events told."""
    now = now or clock.now()
    told = 0
    tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("id"))
    for one in tenants:
        days, _ = reminder_settings(one)
        with transaction.atomic():
            told += _tell_tenant(one, days, now)
    return told


def _tell_tenant(tenant: Tenant, days: tuple[int, ...], now: dt.datetime) -> int:
    told = 0
    horizon = now.date() + dt.timedelta(days=1)
    starting = (
        Package.objects.filter(tenant=tenant, closure__isnull=True, start_date__gt=F("purchased_on"))
        .filter(start_date__lte=horizon)
        .exclude(id__in=PackageNotice.objects.filter(tenant=tenant, kind="activated").values("package_id"))
        .select_related("sold_at")
    )
    for package in starting:
        if _today(package, now) >= package.start_date and announce_activated(
            package, tenant=tenant, actor=NOTIFIER, now=now
        ):
            told += 1
    if not days:
        return told
    soon = (
        Package.objects.filter(tenant=tenant, closure__isnull=True, expires_on__isnull=False)
        .filter(expires_on__gte=now.date() - dt.timedelta(days=1), expires_on__lte=horizon + dt.timedelta(max(days)))
        .select_related("sold_at", "plan_version")
        .order_by("id")
    )
    for package in soon:
        today = _today(package, now)
        left = (package.expires_on - today).days
        matching = [d for d in days if 0 <= left <= d]
        if not matching or today < package.start_date:
            continue
        lines = list(PackageLine.objects.filter(package=package).order_by("id"))
        facts = _facts(package, lines)
        if facts["remaining"] <= 0 or not _once(package, "expiring_soon", str(min(matching)), now):
            continue
        for larger in matching:
            if larger != min(matching):
                _once(package, "expiring_soon", str(larger), now)
        events.record(
            "package.expiring_soon",
            tenant=tenant,
            subject=package,
            actor=NOTIFIER,
            at=now,
            days_left=left,
            reminder_days=min(matching),
            **facts,
        )
        told += 1
    return told


def _today(package: Package, now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(package.sold_at.timezone)).date()
