"""The front desk's day: today's appointments at the desk's centre."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render

from punchcard import clock
from punchcard.appointments import selectors as appointment_selectors
from punchcard.packages import wording
from punchcard.tenancy.selectors import local_date, start_of_local_day

from ..access import desk_view


@desk_view()
def today(request):
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
    }
    return render(request, "console/today.html", context)
