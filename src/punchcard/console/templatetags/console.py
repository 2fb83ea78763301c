"""Template tags for the console: instants at a centre's local time, in the tenant's locale."""

from __future__ import annotations

from babel.dates import format_datetime, format_time
from django import template

from punchcard.domain.roles import Perm

register = template.Library()


@register.simple_tag(takes_context=True)
def local_time(context, instant, centre) -> str:
    """'10:30' at the centre (the front desk thinks in its own zone)."""
    if not instant:
        return "—"
    return format_time(instant.astimezone(centre.zone), format="HH:mm", locale=context["desk"].tenant.locale)


@register.simple_tag(takes_context=True)
def local_datetime(context, instant, centre) -> str:
    """'2 Mar 2026, 10:30' at the centre."""
    if not instant:
        return "—"
    when = instant.astimezone(centre.zone)
    return format_datetime(when, format="d MMM yyyy, HH:mm", locale=context["desk"].tenant.locale)


@register.filter
def can(desk, perm: str) -> bool:
    """{% if desk|can:"refund" %}: whether the desk's role has the permission (the server checks again)."""
    return bool(desk) and desk.can(Perm(perm))
