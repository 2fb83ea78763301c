"""A refused action on a page (the staff console, the patient portal): the domain error's message, in a
sentence and in the clinic's words, next to the field it is about, with the HTTP status the API would give
(nothing was written: the service's transaction rolled back)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date

from punchcard.domain.errors import DomainError

STATUS = {"invalid": 422, "not_found": 404, "forbidden": 403, "conflict": 409, "rate_limited": 429}


@dataclass(frozen=True)
class Refusal:
    message: str
    field: str
    code: str
    status: int


def _day(tenant, iso: str | None) -> str | None:
    if not iso or tenant is None:
        return None
    return format_date(dt.date.fromisoformat(iso), format="d MMM yyyy", locale=tenant.locale)


def clinic_words(error: DomainError, tenant=None) -> str | None:
    """The refusals the desk meets most, said as the desk would say them; None: the service's own words."""
    context = error.context
    rule = context.get("rule") if error.code == "reschedule_refused" else error.code
    expired, starts = _day(tenant, context.get("expired_after")), _day(tenant, context.get("starts_on"))
    if error.code == "reschedule_refused" and rule == "expired" and expired:
        return f"The package expires on {expired}; remove it or change its expiry first."
    if error.code == "reschedule_refused" and rule == "not_started" and starts:
        return f"The package starts on {starts}; remove it or move the appointment to that day or later."
    if rule == "expired" and expired:
        return f"The package expired after {expired}."
    if rule == "not_started" and starts:
        return f"The package starts on {starts}, not before."
    return None


def refusal(error: DomainError, *, tenant=None, default_field: str = "") -> Refusal:
    message = clinic_words(error, tenant) or error.message[:1].upper() + error.message[1:]
    if not message.endswith("."):
        message += "."
    return Refusal(
        message=message, field=error.field or default_field, code=error.code, status=STATUS.get(error.kind, 409)
    )
