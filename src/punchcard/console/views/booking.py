"""Booking an appointment with the eligible package pre-selected (or another, or none), and a walk-in
visit that uses a session now. Choosing the service first shows the packages that can cover it, the
pre-selected one first (appointments.selectors.candidate_packages: soonest expiry first)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.shortcuts import redirect, render

from punchcard import clock
from punchcard.appointments import selectors as appointment_selectors
from punchcard.appointments import services as appointments
from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.roles import Perm
from punchcard.domain.status import PackageStatus
from punchcard.kernel.refusals import refusal
from punchcard.packages import services as packages
from punchcard.packages import wording
from punchcard.tenancy import selectors as tenancy_selectors

from ..access import desk_view
from .visits import local_instant


def _number(text: str, field: str, *, optional: bool = False) -> int | None:
    text = (text or "").strip()
    if not text and optional:
        return None
    if not text.isdigit():
        raise InvalidInput(f"{field.replace('_id', '')}: choose one from the list", field=field)
    return int(text)


def _choices(desk, person, service_id: int | None) -> list[dict]:
    """The packages that could cover the service for this person, best first, in the clinic's words."""
    if service_id is None:
        return []
    found = appointment_selectors.candidate_packages(desk.tenant, person_id=person.id, service_id=service_id)
    out = []
    for summary in found:
        usable = summary.status.status in (PackageStatus.ACTIVE, PackageStatus.SCHEDULED) or summary.status.in_grace
        if not usable or not any(service_id in line.service_ids and line.available > 0 for line in summary.lines):
            continue  # exhausted or expired: not offered (the service would refuse it)
        expiry = wording.expiry_text(desk.tenant, summary)
        lines = "; ".join(wording.line_text(line, expiry) for line in summary.lines if service_id in line.service_ids)
        out.append(
            {"id": summary.package.id, "text": f"{summary.package.plan_version.name} #{summary.package.id}: {lines}"}
        )
    return out


def _form(request, person, *, template: str, refused=None, status: int = 200):
    desk = request.desk
    data = request.POST if request.method == "POST" else request.GET
    service_id = data.get("service_id", "")
    service_id = int(service_id) if service_id.isdigit() else None
    now = clock.now().astimezone(desk.centre.zone)
    soon = (now + dt.timedelta(minutes=15 - now.minute % 15)).replace(second=0, microsecond=0)
    context = {
        "desk": desk,
        "person": person,
        "services": tenancy_selectors.services(desk.tenant),
        "practitioners": tenancy_selectors.staff(desk.tenant, practitioners_only=True),
        "service_id": service_id,
        "choices": _choices(desk, person, service_id),
        "chosen": data.get("package_id", ""),
        "practitioner_id": data.get("practitioner_id", ""),
        "start": data.get("start") or soon.strftime("%Y-%m-%dT%H:%M"),
        "key": data.get("key") or uuid.uuid4().hex,
        "refusal": refused,
    }
    return render(request, template, context, status=status)


@desk_view(Perm.REDEEM)
def book(request, patient_id: int):
    desk = request.desk
    person = tenancy_selectors.patient(desk.tenant, patient_id)
    if request.method != "POST" or request.POST.get("step") == "choose":
        return _form(request, person, template="console/book.html")
    post = request.POST
    try:
        service_id = _number(post.get("service_id"), "service_id")
        chosen = post.get("package_id", "auto")
        package_id = (
            None if chosen == "none" else appointments.AUTO if chosen in ("", "auto") else _number(chosen, "package_id")
        )
        start = local_instant(post.get("start", ""), desk.centre.zone, "start")
        appointment = appointments.book_appointment(
            tenant=desk.tenant,
            actor=desk.actor,
            external_id=f"console-{post.get('key', '')[:40]}",
            patient_id=person.id,
            service_id=service_id,
            centre_id=desk.centre.id,
            start=start,
            practitioner_id=_number(post.get("practitioner_id"), "practitioner_id", optional=True),
            package_id=package_id,
        )
    except DomainError as error:
        refused = refusal(error, tenant=request.desk.tenant)
        return _form(request, person, template="console/book.html", refused=refused, status=refused.status)
    covered = appointment.package.plan_version.name if appointment.package_id else "no package"
    messages.success(request, f"{person.name}: {appointment.service.name} booked, covered by {covered}.")
    if tenancy_selectors.local_date(appointment.start, desk.centre) == tenancy_selectors.local_date(
        clock.now(), desk.centre
    ):
        return redirect("console:today")
    return redirect("console:patient", patient_id=person.id)


@desk_view(Perm.REDEEM)
def walk_in(request, patient_id: int):
    desk = request.desk
    person = tenancy_selectors.patient(desk.tenant, patient_id)
    if request.method != "POST" or request.POST.get("step") == "choose":
        return _form(request, person, template="console/walk_in.html")
    post = request.POST
    try:
        redemption = packages.redeem_session(
            tenant=desk.tenant,
            actor=desk.actor,
            package_id=_number(post.get("package_id"), "package_id"),
            service_id=_number(post.get("service_id"), "service_id"),
            centre_id=desk.centre.id,
            person_id=person.id,
            practitioner_id=_number(post.get("practitioner_id"), "practitioner_id", optional=True),
            idempotency_key=f"console-walk-in-{post.get('key', '')[:40]}",
        )
    except DomainError as error:
        refused = refusal(error, tenant=request.desk.tenant)
        return _form(request, person, template="console/walk_in.html", refused=refused, status=refused.status)
    messages.success(
        request, f"{person.name}: a session of {redemption.package.plan_version.name} #{redemption.package_id} used."
    )
    return redirect("console:patient", patient_id=person.id)
