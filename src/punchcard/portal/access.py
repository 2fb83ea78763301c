"""Who is visiting: the patient whose portal link opened this browser's visit.

Opening a link sets one cookie, `punchcard_portal` (the link's id, signed; HttpOnly, SameSite=Lax, Secure
when the server is served over HTTPS, only under /portal/, until the link expires). `portal_view` guards
every page: it reads the cookie, asks again whether the link still opens (so revoking one refuses the very
next page) and gives the view `request.visit`; pages are never cached.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from punchcard import clock
from punchcard.domain.roles import Actor
from punchcard.tenancy import portal_links
from punchcard.tenancy.models import Patient, PortalLink, Tenant

COOKIE = "punchcard_portal"
COOKIE_SALT = "punchcard.portal-visit"
COOKIE_PATH = "/portal/"


@dataclass(frozen=True)
class Visit:
    link: PortalLink
    tenant: Tenant
    patient: Patient
    actor: Actor


def visit_of(request) -> Visit | None:
    try:
        link_id = int(request.get_signed_cookie(COOKIE, salt=COOKIE_SALT))
    except (KeyError, signing.BadSignature, ValueError):
        return None
    link = portal_links.link_by_id(link_id, clock.now())
    if link is None:
        return None
    actor = Actor.patient(link.patient_id, link.patient.name)
    return Visit(link=link, tenant=link.tenant, patient=link.patient, actor=actor)


def remember(response, link: PortalLink) -> None:
    seconds = max(0, int((link.expires_at - clock.now()).total_seconds()))
    response.set_signed_cookie(
        COOKIE,
        str(link.id),
        salt=COOKIE_SALT,
        max_age=seconds,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def forget(response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, samesite="Lax")


def private(response):
    patch_cache_control(response, no_store=True, private=True)
    return response


def refused(request, reason: str, *, status: int = 403):
    """The page for a visit that cannot go on; the cookie goes with it."""
    response = render(request, "portal/refused.html", {"reason": reason}, status=status)
    forget(response)
    return private(response)


def missing(request):
    """Not found among the patient's own: the same page whether it exists for someone else or not at all."""
    context = {"visit": request.visit, "reason": "There is no such page among yours.", "title": "Not found"}
    return render(request, "portal/refused.html", context, status=404)


NO_VISIT = (
    "This page opens with the link your clinic sent you. The link may have expired or been withdrawn: "
    "ask the clinic for a new one."
)


def portal_view(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        visit = visit_of(request)
        if visit is None:
            return refused(request, NO_VISIT)
        request.visit = visit
        return private(view(request, *args, **kwargs))

    return wrapper
