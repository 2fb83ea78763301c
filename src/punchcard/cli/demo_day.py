"""The demo's day at the front desk: the clinic's two no-show fees, and today's appointments at Bandra
(three covered by a package, one without), booked through the appointment services at `now`."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from punchcard import clock
from punchcard.appointments import services as appointments
from punchcard.domain.roles import Actor, cli_actor
from punchcard.tenancy.models import Role

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
NO_SHOW_FEES = [
    {"code": "late-cancel", "name": "Late cancellation", "amount": 50000},
    {"code": "missed", "name": "Missed appointment", "amount": 100000},
]
TODAY = [  # patient, service, practitioner, local time, package ("auto" or None)
    ("sanjay", "chiro", "rahul", dt.time(10, 0), appointments.AUTO),
    ("ravi", "massage", "imran", dt.time(11, 30), appointments.AUTO),
    ("arjun", "yoga", "kavya", dt.time(15, 0), appointments.AUTO),
    ("lata", "doctor", "anil", dt.time(17, 30), None),
]


def book_the_day(demo, now: dt.datetime) -> None:
    tenant, dev = demo.tenant, demo.staff["dev"]
    desk = Actor(label=f"staff:{dev.id} {dev.name}", role=Role.FRONT_DESK, source="bandra", staff_id=dev.id)
    today = now.astimezone(KOLKATA).date()
    with clock.frozen_at(now):
        appointments.configure_no_show_fees(tenant=tenant, actor=cli_actor(), fees=NO_SHOW_FEES, now=now)
        for n, (patient, service, practitioner, at, package) in enumerate(TODAY, start=1):
            appointments.book_appointment(
                tenant=tenant,
                actor=desk,
                external_id=f"demo-{today.isoformat()}-{n}",
                patient_id=demo.patients[patient].id,
                service_id=demo.services[service].id,
                centre_id=demo.centres["bandra"].id,
                start=dt.datetime.combine(today, at, tzinfo=KOLKATA),
                practitioner_id=demo.staff[practitioner].id,
                package_id=package,
                now=now,
            )
