"""The caller of a route: whoever authenticated the request (tenancy's API keys and staff sessions).

The kernel only needs what every principal has: the tenant every query is scoped by and the Actor
services check and record. `punchcard.api` installs the authenticators that make one.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.http import HttpRequest

from punchcard.domain.roles import Actor, Perm


class Principal(Protocol):
    tenant: Any
    actor: Actor
    caller_id: str  # "apikey:12" or "staff:3": whose Idempotency-Keys these are

    def can(self, perm: Perm) -> bool: ...


def caller(request: HttpRequest, perm: Perm | None = None) -> Principal:
    """The authenticated principal; with `perm`, refuse (403 naming it) unless the role has it.

    Writes are checked by the services themselves; reads (READ, READ_MONEY) are checked here.
    """
    principal: Principal = request.auth
    if perm is not None:
        principal.actor.require(perm)
    return principal
