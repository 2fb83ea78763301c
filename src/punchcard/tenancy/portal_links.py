"""Patient portal links (SPEC §10a): a signed URL that opens one patient's portal until it expires or staff
revoke it.

The URL carries `[link id, nonce]` signed (django.core.signing) under the server's secret key: it cannot be forged, and
the row decides whether it still opens (`expires_at`, `revoked_at`), so revocation is real. Nothing
secret is stored (the nonce only tells links of different databases apart), so the token can be made
again from the row: the CLI, the API and the email built by the outbox all show the same URL for a link.
Revoking is per patient: every open link of theirs at once.

Links that do not open are counted per client address (FAILURE_LIMIT in FAILURE_WINDOW, one conditional
UPDATE on one row, as the claim-code guessing limit does) and refused with RateLimited beyond that.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Case, F, Q, Value, When

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Forbidden, RateLimited
from punchcard.domain.roles import Actor, Perm

from .models import Patient, PortalLink, PortalLinkFailure, Tenant
from .selectors import scoped_get
from .services import audit

SALT = "punchcard.portal-link"
PATH = "/portal/open/"  # + token + "/": the portal's entry (portal/urls.py mounts it here)
DEFAULT_DAYS = 7
MAX_DAYS = 90
FAILURE_LIMIT = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)


def token(link: PortalLink) -> str:
    return signing.Signer(salt=SALT).sign_object([link.pk, link.nonce])


def path(link: PortalLink) -> str:
    return f"{PATH}{token(link)}/"


def url(link: PortalLink, base: str | None = None) -> str:
    """The link as the patient gets it: `base` (a request's origin), else settings.PUBLIC_URL."""
    return f"{(base or settings.PUBLIC_URL).rstrip('/')}{path(link)}"


@transaction.atomic
def create_portal_link(
    *, tenant: Tenant, actor: Actor, patient_id: int, days: int = DEFAULT_DAYS, now: dt.datetime | None = None
) -> PortalLink:
    """A new link to the patient's portal, valid for `days` (1–90). Earlier links keep working."""
    actor.require(Perm.MANAGE_PATIENTS)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    days = validation.whole(days, "days", low=1, high=MAX_DAYS)
    link = PortalLink.objects.create(
        tenant=tenant,
        patient=patient,
        nonce=secrets.token_hex(8),
        created_at=now,
        created_by=actor.label,
        expires_at=now + dt.timedelta(days=days),
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="portal_link.create",
        subject=link,
        now=now,
        data={"patient_id": patient.id, "expires_at": link.expires_at.isoformat()},
    )
    return link


@transaction.atomic
def revoke_portal_links(
    *, tenant: Tenant, actor: Actor, patient_id: int, reason: str = "", now: dt.datetime | None = None
) -> int:
    """Every link of the patient that would still open stops opening now; how many there were."""
    actor.require(Perm.MANAGE_PATIENTS)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    reason = validation.reason(reason, required=False)
    revoked = live_links(tenant, patient.id, now).update(revoked_at=now, revoked_by=actor.label[:200])
    audit(
        tenant=tenant,
        actor=actor,
        action="portal_link.revoke",
        subject=patient,
        reason=reason,
        now=now,
        data={"links": revoked},
    )
    return revoked


def live_links(tenant: Tenant, patient_id: int, now: dt.datetime):
    return PortalLink.objects.filter(tenant=tenant, patient_id=patient_id, revoked_at__isnull=True, expires_at__gt=now)


def link_by_id(link_id, now: dt.datetime | None = None) -> PortalLink | None:
    """The link if it still opens (every portal page asks again), else None."""
    if not isinstance(link_id, int) or isinstance(link_id, bool):
        return None
    now = now or clock.now()
    return (
        PortalLink.objects.select_related("tenant", "patient")
        .filter(pk=link_id, revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )


class LinkRefused(Forbidden):
    """A link that does not open: `reason` is "unknown", "expired" or "revoked" (the page words it)."""

    default_code = "portal_link_refused"

    def __init__(self, reason: str):
        super().__init__(f"this portal link is {reason}", field="token", reason=reason)
        self.reason = reason


def open_link(text: str, *, address: str, now: dt.datetime | None = None) -> PortalLink:
    """The link a token names, or LinkRefused (counted against the address), or RateLimited."""
    now = now or clock.now()
    _refuse_if_limited(address, now)
    try:
        link_id, nonce = signing.Signer(salt=SALT).unsign_object(str(text))
        link = PortalLink.objects.select_related("tenant", "patient").filter(pk=int(link_id)).first()
    except (signing.BadSignature, TypeError, ValueError, OverflowError):
        link = nonce = None
    if link is None or not secrets.compare_digest(str(nonce), link.nonce):
        reason = "unknown"
    elif link.revoked_at is not None:
        reason = "revoked"
    elif link.expires_at <= now:
        reason = "expired"
    else:
        return link
    _count_failure(address, now)
    raise LinkRefused(reason)


def _refuse_if_limited(address: str, now: dt.datetime) -> None:
    row = PortalLinkFailure.objects.filter(address=address[:64]).first()
    if row is not None and row.attempts >= FAILURE_LIMIT and row.window_start > now - FAILURE_WINDOW:
        retry_after = max(1, math.ceil((row.window_start + FAILURE_WINDOW - now).total_seconds()))
        raise RateLimited(
            f"too many portal links that did not open; try again in {retry_after} seconds", retry_after=retry_after
        )


def _count_failure(address: str, now: dt.datetime) -> None:
    """One more failure for the address, in a transaction of its own (a new window once the last is over)."""
    with transaction.atomic():
        PortalLinkFailure.objects.bulk_create(
            [PortalLinkFailure(address=address[:64], window_start=now, attempts=0)], ignore_conflicts=True
        )
        over = Q(window_start__lte=now - FAILURE_WINDOW)
        PortalLinkFailure.objects.filter(address=address[:64]).update(
            attempts=Case(When(over, then=Value(1)), default=F("attempts") + 1),
            window_start=Case(When(over, then=Value(now)), default=F("window_start")),
        )
