"""The guessing limit on claim codes: refused claims are counted per caller and per client IP.

Past `FAILURE_LIMIT` refusals within `FAILURE_WINDOW` (a tenant may set its own in
`settings["claim_rate_limit"]`: {"failures": n, "window_minutes": m}), a claim is refused as
RateLimited before the code is even looked up. The counts are rows (ClaimFailure), so every web
process shares them.
"""

from __future__ import annotations

import datetime as dt
import math

from django.db import transaction

from punchcard.domain.errors import RateLimited
from punchcard.domain.roles import Actor
from punchcard.tenancy.models import Tenant

from .models import ClaimFailure

FAILURE_LIMIT = 10
FAILURE_WINDOW = dt.timedelta(minutes=15)


def buckets(actor: Actor, client_ip: str | None) -> list[str]:
    """What a refusal is counted against: the caller, and the client IP when known."""
    names = [f"actor:{actor.label}"[:200]]
    if client_ip:
        names.append(f"ip:{client_ip}"[:200])
    return names


def _limits(tenant: Tenant) -> tuple[int, dt.timedelta]:
    conf = (tenant.settings or {}).get("claim_rate_limit") or {}
    return int(conf.get("failures", FAILURE_LIMIT)), dt.timedelta(minutes=int(conf.get("window_minutes", 15)))


def check(tenant: Tenant, names: list[str], now: dt.datetime) -> None:
    """RateLimited (with the seconds until the oldest counted refusal leaves the window) when over the limit."""
    limit, window = _limits(tenant)
    for bucket in names:
        recent = ClaimFailure.objects.filter(tenant=tenant, bucket=bucket, at__gt=now - window)
        if recent.count() >= limit:
            oldest = recent.order_by("at").values_list("at", flat=True).first()
            retry_after = max(1, math.ceil((oldest + window - now).total_seconds()))
            raise RateLimited(
                f"too many failed claim attempts; try again in {retry_after} seconds",
                retry_after=retry_after,
                bucket=bucket.split(":", 1)[0],
            )


def note_failure(tenant: Tenant, names: list[str], code: str, now: dt.datetime) -> None:
    """Count one refusal against each bucket, and forget the ones that left the window."""
    _, window = _limits(tenant)
    with transaction.atomic():
        ClaimFailure.objects.bulk_create(ClaimFailure(tenant=tenant, bucket=b, at=now, code=code) for b in names)
        ClaimFailure.objects.filter(tenant=tenant, bucket__in=names, at__lt=now - window).delete()
