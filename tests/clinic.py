"""A small clinic for tests: a tenant, centres, services, staff, patients and plans, in the clinic's words.

Usage:
    clinic = Clinic.open(now=...)
    plan = clinic.plan("physio-pack", price=800000, lines=[clinic.line("physio", 10), clinic.line("doctor", 2)],
                       expiry={"kind": "after_start", "count": 90, "unit": "days"})
    package = clinic.sell(plan, patient=clinic.asha)
    clinic.redeem(package, "physio")
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.catalogue.services import LineSpec, PlanTerms, create_plan
from punchcard.domain.roles import Actor
from punchcard.packages import services as packages
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.models import Role
from punchcard.tenancy.testclock import start_clock

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
_serial = itertools.count(1)


def local(y, m, d, hh=12, mm=0, zone=KOLKATA) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=zone)


class Clinic:
    def __init__(self, tenant, centre, other_centre, services, manager, front_desk, patients, now):
        self.tenant, self.centre, self.other_centre = tenant, centre, other_centre
        self.services, self.manager, self.front_desk = services, manager, front_desk
        self.patients, self.now = patients, now

    @classmethod
    def open(
        cls, *, now: dt.datetime | None = None, currency: str = "INR", slug: str | None = None, sandbox: bool = False
    ) -> Clinic:
        """A clinic as of `now` (the clock is frozen there); a `sandbox` one has its test clock started there."""
        now = now or local(2026, 3, 1, 10)
        clock.set_now(now)
        n = next(_serial)
        tenant = tenancy.create_tenant(
            name=f"Clinic {n}", slug=slug or f"clinic-{n}", currency=currency, sandbox=sandbox, now=now
        )
        if sandbox:
            start_clock(tenant=tenant, now=now)
        admin = Actor(label="test-admin", role=Role.ADMIN, source="tests")
        centre = tenancy.create_centre(
            tenant=tenant, actor=admin, name="Bandra", code="bandra", timezone="Asia/Kolkata"
        )
        other = tenancy.create_centre(
            tenant=tenant, actor=admin, name="Koramangala", code="koramangala", timezone="Asia/Kolkata"
        )
        services = {
            code: tenancy.create_service(
                tenant=tenant, actor=admin, name=name, code=code, list_price=price, delivery_cost=price // 4
            )
            for code, name, price in [
                ("physio", "Physiotherapy", 100000),
                ("doctor", "Doctor consultation", 150000),
                ("facial", "Facial", 10000),
                ("yoga", "Yoga class", 2500),
                ("pilates", "Pilates class", 2500),
                ("chiro", "Chiropractic adjustment", 10000),
            ]
        }
        manager_member = tenancy.create_staff_member(
            tenant=tenant, actor=admin, name="Meera (manager)", role=Role.MANAGER
        )
        desk_member = tenancy.create_staff_member(
            tenant=tenant, actor=admin, name="Dev (front desk)", role=Role.FRONT_DESK, is_practitioner=True
        )
        manager = Actor(
            label=f"staff:{manager_member.id} Meera", role=Role.MANAGER, source="bandra", staff_id=manager_member.id
        )
        front_desk = Actor(
            label=f"staff:{desk_member.id} Dev", role=Role.FRONT_DESK, source="bandra", staff_id=desk_member.id
        )
        patients = {
            name.lower(): tenancy.create_patient(
                tenant=tenant, actor=front_desk, external_ref=f"P-{n}-{i}", name=name, now=now
            )
            for i, name in enumerate(["Asha", "Ravi", "Kiran", "Lata", "Nikhil", "Priya"])
        }
        return cls(tenant, centre, other, services, manager, front_desk, patients, now)

    def __getattr__(self, name):
        patients = self.__dict__.get("patients", {})
        if name in patients:
            return patients[name]
        raise AttributeError(name)

    def line(
        self, *service_codes: str, sessions: int, bonus: int = 0, patient_pays: int = 0, top_up_price: int | None = None
    ) -> LineSpec:
        return LineSpec(
            service_ids=[self.services[c].id for c in service_codes],
            sessions=sessions,
            bonus_sessions=bonus,
            patient_pays=patient_pays,
            top_up_price=top_up_price,
        )

    def plan(self, code: str, *, price: int, lines: list[LineSpec], **terms):
        terms.setdefault("name", code.replace("-", " ").title())
        return create_plan(
            tenant=self.tenant, actor=self.manager, code=code, terms=PlanTerms(price=price, lines=lines, **terms)
        )

    def sell(self, version, *, patient=None, start_date: dt.date | None = None, centre=None, **kw):
        return billing.sell_package(
            tenant=self.tenant,
            actor=self.front_desk,
            patient_id=(patient or self.asha).id,
            centre_id=(centre or self.centre).id,
            plan_id=version.plan_id,
            start_date=start_date,
            **kw,
        )

    def redeem(self, package, service_code: str, *, centre=None, person=None, sessions: int = 1, **kw):
        return packages.redeem_session(
            tenant=self.tenant,
            actor=self.front_desk,
            package_id=package.id,
            service_id=self.services[service_code].id,
            centre_id=(centre or self.centre).id,
            person_id=person.id if person else None,
            sessions=sessions,
            **kw,
        )

    def hold(self, package, service_code: str, day: dt.date, *, centre=None, person=None, sessions: int = 1, **kw):
        return packages.place_hold(
            tenant=self.tenant,
            actor=self.front_desk,
            package_id=package.id,
            service_id=self.services[service_code].id,
            centre_id=(centre or self.centre).id,
            day=day,
            person_id=person.id if person else None,
            sessions=sessions,
            **kw,
        )
