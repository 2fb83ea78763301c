"""The guessing limit on claim codes: attempts are counted per caller and per code prefix, atomically.

What is counted: each claim attempt reserves one place in two buckets before the code is looked up,
the caller's (`caller:apikey:pc_…` / `caller:staff:12` / `caller:patient:7` in the portal) and the typed
code's first four symbols' (`prefix:7K3M`, after the forgiving reading of codes.normalise). A successful
claim, or a refusal a guesser cannot provoke (a bad patient id), gives its places back; a counted refusal keeps them.
Past `FAILURE_LIMIT` kept places within `FAILURE_WINDOW` of a bucket's first one (a tenant may set its own
in `settings["claim_rate_limit"]`: {"failures": n, "window_minutes": m}), an attempt is refused as
RateLimited with the seconds until that window ends.

Why these buckets: the client IP is not the caller's (behind the clinic's proxy every desk shares
one), so one mistyping desk must not lock out the others; a guesser spreading attempts over many
keys at one code they half know is still stopped by the prefix bucket.

Why it is exact under bursts: a place is taken by one conditional UPDATE (`attempts < limit`, or the
window over) on a unique (tenant, bucket) row, committed at once. Concurrent attempts queue on that
row and each re-reads the count the previous one committed, so a burst never passes the limit; there
is no read-then-write to race.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, F, Q, Value, When

from punchcard.domain.errors import RateLimited
from punchcard.domain.roles import Actor
from punchcard.tenancy.models import Tenant

from .models import ClaimGuessCounter

FAILURE_LIMIT = 10
FAILURE_WINDOW = dt.timedelta(minutes=15)
PREFIX_SYMBOLS = 4
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def caller_of(actor: Actor) -> str:
    """The caller an attempt is counted against: the staff member or the patient (in the portal), else the
    API key (or channel)."""
    if actor.staff_id:
        who = f"staff:{actor.staff_id}"
    elif actor.patient_id:
        who = f"patient:{actor.patient_id}"
    else:
        who = actor.source or actor.label
    return f"caller:{who}"[:200]


def prefix_of(text: str) -> str:
    """The typed code's first symbols, read as codes.normalise reads them (case, separators, O/I/L)."""
    cleaned = "".join(ch for ch in str(text).upper() if ch not in "- \t").translate(_ALIASES)
    return f"prefix:{cleaned[:PREFIX_SYMBOLS]}"


def buckets(actor: Actor, code: str) -> list[str]:
    return [caller_of(actor), prefix_of(code)]


def _limits(tenant: Tenant) -> tuple[int, dt.timedelta]:
    conf = (tenant.settings or {}).get("claim_rate_limit") or {}
    return int(conf.get("failures", FAILURE_LIMIT)), dt.timedelta(minutes=int(conf.get("window_minutes", 15)))


@dataclass(frozen=True)
class Reservation:
    tenant: Tenant
    places: tuple[tuple[str, dt.datetime], ...]  # (bucket, the window it was counted in)

    def give_back(self) -> None:
        """The attempt was not a guess (it succeeded, or failed for another reason): uncount it."""
        with transaction.atomic():
            for bucket, window_start in self.places:
                ClaimGuessCounter.objects.filter(
                    tenant=self.tenant, bucket=bucket, window_start=window_start, attempts__gt=0
                ).update(attempts=F("attempts") - 1)


def _take(tenant: Tenant, bucket: str, now: dt.datetime, limit: int, window: dt.timedelta) -> dt.datetime | None:
    """Take one place in `bucket` (its window's start), or None when the bucket is full."""
    with transaction.atomic():
        ClaimGuessCounter.objects.bulk_create(
            [ClaimGuessCounter(tenant=tenant, bucket=bucket, window_start=now, attempts=0)], ignore_conflicts=True
        )
        over = Q(window_start__lte=now - window)
        taken = (
            ClaimGuessCounter.objects.filter(tenant=tenant, bucket=bucket)
            .filter(over | Q(attempts__lt=limit))
            .update(
                attempts=Case(When(over, then=Value(1)), default=F("attempts") + 1),
                window_start=Case(When(over, then=Value(now)), default=F("window_start")),
            )
        )
        if not taken:
            return None
        return ClaimGuessCounter.objects.values_list("window_start", flat=True).get(tenant=tenant, bucket=bucket)


def reserve(tenant: Tenant, names: list[str], now: dt.datetime) -> Reservation:
    """One place in every bucket, or RateLimited (and no place taken) when any of them is full."""
    limit, window = _limits(tenant)
    places: list[tuple[str, dt.datetime]] = []
    for bucket in names:
        window_start = _take(tenant, bucket, now, limit, window)
        if window_start is None:
            Reservation(tenant, tuple(places)).give_back()
            started = ClaimGuessCounter.objects.values_list("window_start", flat=True).get(tenant=tenant, bucket=bucket)
            retry_after = max(1, math.ceil((started + window - now).total_seconds()))
            raise RateLimited(
                f"too many failed claim attempts; try again in {retry_after} seconds",
                retry_after=retry_after,
                bucket=bucket.split(":", 1)[0],
            )
        places.append((bucket, window_start))
    return Reservation(tenant, tuple(places))
