"""The front desk's day: today's appointments at the desk's centre, each row with what can be done to it."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render

from punchcard import clock
from punchcard.appointments import selectors as appointment_selectors
from punchcard.domain.roles import Perm
from punchcard.kernel.refusals import Refusal
from punchcard.packages import wording
from punchcard.tenancy.selectors import local_date, start_of_local_day

from ..access import desk_view


def no_show_options(desk) -> list[tuple[str, str]]:
    """The seeds' two options: redeem a session, or release it and charge one of the clinic's fees."""
    options = [("redeem", "Redeem a session (billed like an arrival)")]
    for fee in appointment_selectors.no_show_settings(desk.tenant).fees:
        options.append(
            (f"fee:{fee.code}", f"Release the session, charge {fee.name} ({wording.money(desk.tenant, fee.amount)})")
        )
    return options


def row_context(desk, view, refusal: Refusal | None = None) -> dict:
    return {
        "desk": desk,
        "v": view,
        "refusal": refusal,
        "no_show_options": no_show_options(desk),
        "can_void": desk.can(Perm.VOID),
    }


def render_day(request, *, refused_id: int | None = None, refusal: Refusal | None = None):
    desk = request.desk
    day = local_date(clock.now(), desk.centre)
    start = start_of_local_day(day, desk.centre)
    rows = appointment_selectors.appointments(
        desk.tenant, centre_id=desk.centre.id, start_from=start, start_to=start + dt.timedelta(days=1)
    )
    context = {
        "desk": desk,
        "day": wording.day(desk.tenant, day),
        "visits": appointment_selectors.views(list(rows.order_by("start"))),
        "refused_id": refused_id,
        "refusal": refusal,
        "no_show_options": no_show_options(desk),
        "can_void": desk.can(Perm.VOID),
    }
    return render(request, "console/today.html", context, status=refusal.status if refusal else 200)


@desk_view()
def today(request):
    return render_day(request)
