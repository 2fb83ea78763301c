"""Who is calling the API: an API key (Authorization: Bearer …) or a staff member's Django session.

Either way the request gets a Principal: the tenant every query is scoped by, and the Actor that
services check permissions against and record in the ledger and audit trail. `punchcard.api` installs
these authenticators; routes read the principal with `punchcard.kernel.auth.caller`.

A sandbox tenant's request runs on its test clock from here on (`clock.use_tenant_time`); the
`TenantClockPerRequest` middleware ends that with the request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from punchcard import clock
from punchcard.domain.roles import Actor, Perm

from .models import ApiKey, StaffMember, Tenant
from .selectors import own_clock
from .services import authenticate_api_key

# last_used_at is for "is this key still in use?", not an access log: one write per key per window.
LAST_USED_GRANULARITY = dt.timedelta(minutes=5)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Principal:
    tenant: Tenant
    actor: Actor
    api_key: ApiKey | None = None
    staff: StaffMember | None = None

    def can(self, perm: Perm) -> bool:
        return self.actor.can(perm)

    @property
    def caller_id(self) -> str:
        """Who is calling, for what belongs to one caller (their Idempotency-Keys)."""
        return f"apikey:{self.api_key.pk}" if self.api_key is not None else f"staff:{self.staff.pk}"


def key_actor(key: ApiKey) -> Actor:
    return Actor(label=f"apikey:{key.prefix} ({key.name})", role=key.role, source=f"apikey:{key.prefix}")


def staff_actor(member: StaffMember) -> Actor:
    return Actor(label=f"staff:{member.id} {member.name}", role=member.role, source="api session", staff_id=member.id)


def _touch(key: ApiKey) -> None:
    now = clock.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_GRANULARITY:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY)
    ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer pc_…`: an integration's key, scoped to one tenant and one role."""

    openapi_bearerFormat = "pc_<8 hex>_<secret>"

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization")
        if not header:
            return None  # maybe a staff session
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(message="the Authorization header must be 'Bearer <API key>'")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str):
        key = authenticate_api_key(token)
        if key is None:
            # A wrong credential is refused outright rather than falling back to a session.
            raise AuthenticationError(message="the API key is unknown or revoked")
        _touch(key)  # in real time: "is this key still in use?"
        clock.use_tenant_time(own_clock(key.tenant))  # a sandbox's request runs on its test clock
        return Principal(tenant=key.tenant, actor=key_actor(key), api_key=key)


class StaffSessionAuth(APIKeyCookie):
    """A logged-in staff user's Django session; unsafe methods need the CSRF token as well."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest):
        # ninja checks CSRF before knowing whether there is a session at all; we check it after,
        # so a request with no credentials at all is a 401, not a CSRF 403.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        if not key or user is None or not user.is_authenticated:
            return None
        member = StaffMember.objects.select_related("tenant").filter(user_id=user.pk, active=True).first()
        if member is None:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken")
        clock.use_tenant_time(own_clock(member.tenant))
        return Principal(tenant=member.tenant, actor=staff_actor(member), staff=member)


api_key_auth = ApiKeyAuth()
session_auth = StaffSessionAuth()
