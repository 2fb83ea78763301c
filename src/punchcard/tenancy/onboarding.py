"""Setting a clinic up and changing its settings: the tenant, its first centre, its name, locale and zone.

`open_clinic` is what `punchcard tenant create` runs: the tenant (its chart of accounts comes with the
`tenant.created` event, in the same transaction) and its first centre, audited, or nothing at all.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.roles import Actor, Perm

from .models import Centre, Tenant
from .selectors import scoped_get
from .services import audit, check_locale, check_zone, create_centre, create_tenant
from .testclock import start_clock


def code_for(name: str) -> str:
    """'Bandra West' → 'bandra-west': the code a centre gets when none is given."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64] or "main"


@transaction.atomic
def open_clinic(
    *,
    actor: Actor,
    name: str,
    slug: str,
    currency: str,
    locale: str,
    time_zone: str,
    centre: str,
    centre_code: str | None = None,
    sandbox: bool = False,
    now=None,
) -> tuple[Tenant, Centre]:
    """A new tenant with its chart of accounts and its first centre (in the tenant's zone); a sandbox gets
    its own test clock, started at `now`."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    check_zone(time_zone, "time_zone")
    centre_name = validation.text(centre, "centre")
    tenant = create_tenant(
        name=name, slug=slug, currency=currency, locale=locale, time_zone=time_zone, sandbox=sandbox, now=now
    )
    first = create_centre(
        tenant=tenant,
        actor=actor,
        name=centre_name,
        code=centre_code or code_for(centre_name),
        timezone=time_zone,
    )
    test_clock = start_clock(tenant=tenant, now=now) if tenant.sandbox else None
    audit(
        tenant=tenant,
        actor=actor,
        action="tenant.create",
        subject=tenant,
        now=now,
        data={
            "currency": tenant.currency,
            "locale": tenant.locale,
            "time_zone": tenant.time_zone,
            "sandbox": tenant.sandbox,
            "centre": first.code,
            **({"test_clock": test_clock.now.isoformat()} if test_clock else {}),
        },
    )
    return tenant, first


@transaction.atomic
def update_tenant(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str | None = None,
    locale: str | None = None,
    time_zone: str | None = None,
    now=None,
) -> Tenant:
    """Change the tenant's name, locale or time zone (the currency never changes: money is kept in it)."""
    actor.require(Perm.ADMIN)
    row = Tenant.objects.get(pk=tenant.pk)  # not locked: nothing locks the tenant row
    changes = {}
    if name is not None:
        changes["name"] = validation.text(name, "name")
    if locale is not None:
        changes["locale"] = check_locale(locale)
    if time_zone is not None:
        changes["time_zone"] = check_zone(time_zone, "time_zone")
    if changes:
        Tenant.objects.filter(pk=row.pk).update(**changes)
        for field, value in changes.items():
            setattr(row, field, value)
            setattr(tenant, field, value)
        audit(tenant=tenant, actor=actor, action="tenant.update", subject=row, now=now, data=changes)
    return row


@transaction.atomic
def update_centre(
    *, tenant: Tenant, actor: Actor, centre_id: int, name: str | None = None, timezone: str | None = None
) -> Centre:
    """Rename a centre or change its time zone (its code is how commands and events name it: fixed)."""
    actor.require(Perm.ADMIN)
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    changes = {}
    if name is not None:
        changes["name"] = validation.text(name, "name")
    if timezone is not None:
        changes["timezone"] = check_zone(timezone, "timezone")
    if changes:
        for field, value in changes.items():
            setattr(centre, field, value)
        centre.save(update_fields=list(changes))
        audit(tenant=tenant, actor=actor, action="centre.update", subject=centre, data=changes)
    return centre
