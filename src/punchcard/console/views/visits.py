"""What the desk does to one of the day's appointments: arrive, no-show (redeem, or a fee) and undo, cancel,
reschedule, apply or remove the package; a manager undoes an arrival. Each is one service call; a refusal
shows the service's message on the appointment's row (next to the field it is about) and changes nothing.

With htmx the row is swapped in place; without it the form posts and the day page comes back."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from punchcard.appointments import selectors as appointment_selectors
from punchcard.appointments import services as appointments
from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.roles import Perm
from punchcard.kernel.refusals import refusal

from ..access import desk_view
from ..refusals import next_url
from .today import render_day, row_context


def _act(request, appointment_id: int, do, done: str):
    desk = request.desk
    try:
        do(desk)
    except DomainError as error:
        refused = refusal(error, tenant=request.desk.tenant)
        if request.htmx:
            view = appointment_selectors.view(appointment_selectors.get_appointment(desk.tenant, appointment_id))
            return render(request, "console/_visit_row.html", row_context(desk, view, refused))
        return render_day(request, refused_id=appointment_id, refusal=refused)
    if request.htmx:
        view = appointment_selectors.view(appointment_selectors.get_appointment(desk.tenant, appointment_id))
        return render(request, "console/_visit_row.html", {**row_context(desk, view), "done": done})
    view = appointment_selectors.get_appointment(desk.tenant, appointment_id)
    messages.success(request, f"{view.patient.name}: {done}.")
    return redirect(next_url(request, "console:today"))


@require_POST
@desk_view(Perm.REDEEM)
def arrive(request, appointment_id: int):
    def do(desk):
        appointments.arrive(tenant=desk.tenant, actor=desk.actor, appointment_id=appointment_id)

    return _act(request, appointment_id, do, "arrived")


@require_POST
@desk_view(Perm.REDEEM)
def no_show(request, appointment_id: int):
    choice = request.POST.get("option", "")
    option, _, fee_code = choice.partition(":")

    def do(desk):
        if option not in ("redeem", "fee"):
            raise InvalidInput("choose what the no-show does: redeem a session or charge a fee", field="option")
        appointments.record_no_show(
            tenant=desk.tenant,
            actor=desk.actor,
            appointment_id=appointment_id,
            option=option,
            fee_code=fee_code or None,
        )

    return _act(request, appointment_id, do, "recorded as a no-show")


@require_POST
@desk_view(Perm.REDEEM)
def undo_no_show(request, appointment_id: int):
    def do(desk):
        appointments.undo_no_show(
            tenant=desk.tenant,
            actor=desk.actor,
            appointment_id=appointment_id,
            reason=request.POST.get("reason", ""),
        )

    return _act(request, appointment_id, do, "no-show undone, booked again")


@require_POST
@desk_view(Perm.REDEEM)
def cancel(request, appointment_id: int):
    def do(desk):
        appointments.cancel_appointment(
            tenant=desk.tenant,
            actor=desk.actor,
            appointment_id=appointment_id,
            reason=request.POST.get("reason", ""),
        )

    return _act(request, appointment_id, do, "cancelled")


def local_instant(text: str, zone, field: str) -> dt.datetime:
    """'2026-05-29T15:30' from a datetime-local field, at the centre's time zone."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field}: give a date and a time, e.g. 2026-05-29 15:30", field=field) from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


@require_POST
@desk_view(Perm.REDEEM)
def reschedule(request, appointment_id: int):
    def do(desk):
        appointment = appointment_selectors.get_appointment(desk.tenant, appointment_id)
        start = local_instant(request.POST.get("start", ""), appointment.centre.zone, "start")
        appointments.reschedule_appointment(
            tenant=desk.tenant, actor=desk.actor, appointment_id=appointment_id, start=start
        )

    return _act(request, appointment_id, do, "moved")


@require_POST
@desk_view(Perm.REDEEM)
def apply_package(request, appointment_id: int):
    chosen = request.POST.get("package_id", appointments.AUTO)

    def do(desk):
        package_id = int(chosen) if chosen.isdigit() else appointments.AUTO
        appointments.apply_package(
            tenant=desk.tenant, actor=desk.actor, appointment_id=appointment_id, package_id=package_id
        )

    return _act(request, appointment_id, do, "package applied")


@require_POST
@desk_view(Perm.REDEEM)
def remove_package(request, appointment_id: int):
    def do(desk):
        appointments.remove_package(tenant=desk.tenant, actor=desk.actor, appointment_id=appointment_id)

    return _act(request, appointment_id, do, "package removed")


@require_POST
@desk_view(Perm.VOID)
def undo_arrival(request, appointment_id: int):
    def do(desk):
        appointments.undo_arrival(
            tenant=desk.tenant,
            actor=desk.actor,
            appointment_id=appointment_id,
            reason=request.POST.get("reason", ""),
        )

    return _act(request, appointment_id, do, "arrival undone, booked again")
