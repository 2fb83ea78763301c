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


@register.simple_tag
def local_input(instant, centre) -> str:
    """The value of a datetime-local field: '2026-05-29T15:30' at the centre."""
    return instant.astimezone(centre.zone).strftime("%Y-%m-%dT%H:%M") if instant else ""


@register.simple_tag
def covered_by(view) -> str:
    """Which package covers an appointment, and how: 'Physiotherapy Recovery Pack #12 (held)'."""
    package = view.appointment.package
    if view.redemption is not None:
        package = view.redemption.package if package is None else package
        return f"{package.plan_version.name} #{package.id} (session used)"
    if view.hold is not None and package is not None:
        return f"{package.plan_version.name} #{package.id} (session held)"
    return "—"


@register.filter
def can(desk, perm: str) -> bool:
    """{% if desk|can:"refund" %}: whether the desk's role has the permission (the server checks again)."""
    return bool(desk) and desk.can(Perm(perm))
