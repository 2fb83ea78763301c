"""The scheduling system's references resolved to the tenant's rows: a patient by its external reference,
a service by its code (the first of several that matches), a centre by its code (or the only centre), a
practitioner by staff id ("12" or "Practitioner/12"). An unknown one is `unknown_reference`, so the event
is kept as rejected and can be retried once the row exists.
"""

from __future__ import annotations

import re

from punchcard.domain.errors import InvalidInput
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant


def _unknown(what: str, ref, field: str) -> InvalidInput:
    return InvalidInput(f"this tenant has no {what} {ref!r}", code="unknown_reference", field=field, reference=str(ref))


def patient(tenant: Tenant, ref: str, field: str) -> Patient:
    row = Patient.objects.filter(tenant=tenant, external_ref=ref).first()
    if row is None:
        raise _unknown("patient", ref, field)
    return row


def service(tenant: Tenant, codes: tuple[str, ...]) -> Service:
    found = {s.code: s for s in Service.objects.filter(tenant=tenant, code__in=[c for c in codes if c])}
    for code in codes:
        if code in found:
            return found[code]
    raise _unknown("service", ", ".join(c for c in codes if c) or "(none given)", "service")


def centre(tenant: Tenant, code: str | None) -> Centre:
    if code is None:
        centres = list(Centre.objects.filter(tenant=tenant)[:2])
        if len(centres) == 1:
            return centres[0]
        raise InvalidInput("the event names no centre and the tenant has several", field="centre")
    row = Centre.objects.filter(tenant=tenant, code=code).first()
    if row is None:
        raise _unknown("centre", code, "centre")
    return row


_PRACTITIONER = re.compile(r"^(?:Practitioner/)?(\d{1,18})$")


def practitioner(tenant: Tenant, ref: str | None) -> StaffMember | None:
    if ref is None:
        return None
    match = _PRACTITIONER.match(ref)
    member = StaffMember.objects.filter(tenant=tenant, pk=int(match.group(1))).first() if match else None
    if member is None:
        raise _unknown("practitioner", ref, "practitioner")
    return member
