"""The demo clinic: a tenant with four months of believable history, built through the services.

History is made the way it would have happened: the clock is set to each past instant in turn
(`clock.frozen_at`), and every service is called with that `now`, so the ledger, the journal and
the audit trail read exactly as if the front desk had done it. The clock is restored afterwards.

    from punchcard.cli.demo import build_demo
    demo = build_demo(now)        # demo.tenant, demo.api_key, demo.packages["asha-physio"], ...
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db import transaction

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.catalogue.models import CommissionPolicy
from punchcard.catalogue.services import LineSpec, PlanTerms, create_plan, set_plan_online
from punchcard.claims import services as claims
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_terms import Trial
from punchcard.domain.roles import Actor, cli_actor
from punchcard.memberships import services as memberships
from punchcard.memberships.models import Membership
from punchcard.packages import services as packages
from punchcard.packages.models import Package
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.models import Role, Tenant

from .demo_day import book_the_day

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
DEMO_NAME = "Punchcard Demo Clinic"
PUBLIC_HOLIDAYS = ["2026-01-26", "2026-08-15", "2026-10-02"]
SOLD_ONLINE = ("physio-recovery", "facials-6", "classes-10")  # patients may buy these in the portal

CENTRES = [  # code, name, zone
    ("bandra", "Bandra", "Asia/Kolkata"),
    ("koramangala", "Koramangala", "Asia/Kolkata"),
    ("dubai", "Dubai Healthcare City", "Asia/Dubai"),
]
SERVICES = [  # code, name, list price, delivery cost (paise)
    ("physio", "Physiotherapy 45 min", 100000, 30000),
    ("doctor", "Doctor consultation", 150000, 60000),
    ("facial", "Facial", 100000, 25000),
    ("massage", "Therapeutic massage 60 min", 120000, 40000),
    ("chiro", "Chiropractic adjustment", 100000, 30000),
    ("yoga", "Yoga class", 30000, 8000),
    ("pilates", "Pilates class", 30000, 8000),
    ("spin", "Spin class", 30000, 8000),
]
STAFF = [  # key, name, role, practitioner
    ("meera", "Meera Iyer", Role.MANAGER, False),
    ("dev", "Dev Shah", Role.FRONT_DESK, False),
    ("farah", "Farah Khan", Role.FRONT_DESK, False),
    ("anil", "Dr. Anil Kumar", Role.FRONT_DESK, True),
    ("priya", "Priya Nair", Role.FRONT_DESK, True),
    ("rahul", "Rahul Menon", Role.FRONT_DESK, True),
    ("sneha", "Sneha Pillai", Role.FRONT_DESK, True),
    ("kavya", "Kavya Reddy", Role.FRONT_DESK, True),
    ("imran", "Imran Sheikh", Role.FRONT_DESK, True),
    ("ritu", "Ritu Sen", Role.ACCOUNTANT, False),
    ("sameer", "Sameer Das", Role.ADMIN, False),
]
PATIENTS = [  # key, external ref, name
    ("asha", "P-1001", "Asha Rao"),
    ("ravi", "P-1002", "Ravi Rao"),
    ("meena", "P-1003", "Meena Rao"),
    ("kiran", "P-1004", "Kiran Desai"),
    ("lata", "P-1005", "Lata Menon"),
    ("nikhil", "P-1006", "Nikhil Joshi"),
    ("priya", "P-1007", "Priya Sharma"),
    ("arjun", "P-1008", "Arjun Mehta"),
    ("divya", "P-1009", "Divya Patel"),
    ("sanjay", "P-1010", "Sanjay Gupta"),
    ("neha", "P-1011", "Neha Kapoor"),
    ("vikram", "P-1012", "Vikram Singh"),
    ("ananya", "P-1013", "Ananya Bose"),
]


@dataclass
class Demo:
    tenant: Tenant
    api_key: str  # the manager API key's secret (shown once)
    centres: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    staff: dict = field(default_factory=dict)
    patients: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)  # code → PlanVersion
    packages: dict[str, Package] = field(default_factory=dict)
    membership_plans: dict = field(default_factory=dict)  # code → MembershipPlanVersion
    memberships: dict[str, Membership] = field(default_factory=dict)
    expired_by_sweep: int = 0


class _Builder:
    def __init__(self, now: dt.datetime, slug: str, password: str | None = None):
        self.now = now
        self.password = password
        self.today = now.astimezone(KOLKATA).date()
        self.slug = slug
        self.admin = cli_actor()

    # ------------------------------------------------------------ time

    def at(self, days_ago: int, hour: int = 11, minute: int = 0) -> dt.datetime:
        """An instant `days_ago` days before today, at a local hour in Mumbai/Bengaluru."""
        assert days_ago >= 1, "history is strictly in the past"
        day = self.today - dt.timedelta(days=days_ago)
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)

    def not_blackout(self, days_ago: int) -> int:
        """The same day, or a later one if it is a blackout date of the family pack."""
        while (self.today - dt.timedelta(days=days_ago)).isoformat() in PUBLIC_HOLIDAYS and days_ago > 1:
            days_ago -= 1
        return days_ago

    # ------------------------------------------------------------ people

    def desk(self, centre_code: str) -> Actor:
        member = self.demo.staff["farah" if centre_code == "koramangala" else "dev"]
        return Actor(
            label=f"staff:{member.id} {member.name}", role=Role.FRONT_DESK, source=centre_code, staff_id=member.id
        )

    def manager(self, centre_code: str = "bandra") -> Actor:
        member = self.demo.staff["meera"]
        return Actor(
            label=f"staff:{member.id} {member.name}", role=Role.MANAGER, source=centre_code, staff_id=member.id
        )

    # ------------------------------------------------------------ actions

    def sell(
        self,
        key: str,
        patient: str,
        plan: str,
        centre: str,
        days_ago: int,
        method: str,
        reference: str,
        *,
        start_in_days: int | None = None,
        staff: str | None = None,
    ) -> Package:
        now = self.at(days_ago, 10, 15)
        with clock.frozen_at(now):
            start = (
                now.astimezone(KOLKATA).date() + dt.timedelta(days=start_in_days) if start_in_days is not None else None
            )
            package = billing.sell_package(
                tenant=self.tenant,
                actor=self.desk(centre),
                patient_id=self.demo.patients[patient].id,
                centre_id=self.demo.centres[centre].id,
                plan_id=self.demo.plans[plan].plan_id,
                start_date=start,
                method=method,
                reference=reference,
                credited_staff_id=self.demo.staff[staff].id if staff else None,
                idempotency_key=f"demo-sale-{key}",
                now=now,
            )
        self.demo.packages[key] = package
        return package

    def redeem(
        self,
        key: str,
        service: str,
        centre: str,
        days_ago: int,
        *,
        person: str | None = None,
        practitioner: str | None = None,
        hour: int = 11,
    ):
        now = self.at(days_ago, hour)
        with clock.frozen_at(now):
            return packages.redeem_session(
                tenant=self.tenant,
                actor=self.desk(centre),
                package_id=self.demo.packages[key].id,
                service_id=self.demo.services[service].id,
                centre_id=self.demo.centres[centre].id,
                person_id=self.demo.patients[person].id if person else None,
                practitioner_id=self.demo.staff[practitioner].id if practitioner else None,
                now=now,
            )

    # ------------------------------------------------------------ the story

    def build(self, api_key: str | None) -> Demo:
        setup = self.at(130, 9)
        with clock.frozen_at(setup):
            tenant = tenancy.create_tenant(
                name=DEMO_NAME if self.slug == "demo" else f"{DEMO_NAME} ({self.slug})",
                slug=self.slug,
                currency="INR",
                locale="en_IN",
                now=setup,
            )
            self.tenant = tenant
            _, secret = tenancy.create_api_key(
                tenant=tenant, actor=self.admin, name="Demo manager key", role=Role.MANAGER, secret=api_key, now=setup
            )
            self.demo = demo = Demo(tenant=tenant, api_key=secret)
            for code, name, zone in CENTRES:
                demo.centres[code] = tenancy.create_centre(
                    tenant=tenant, actor=self.admin, name=name, code=code, timezone=zone
                )
            for code, name, price, cost in SERVICES:
                demo.services[code] = tenancy.create_service(
                    tenant=tenant, actor=self.admin, name=name, code=code, list_price=price, delivery_cost=cost
                )
            for key, name, role, practitioner in STAFF:
                # Console logins with the demo password (none: an operator sets one with `changepassword`).
                username = key if self.slug == "demo" else f"{self.slug}.{key}"
                demo.staff[key] = tenancy.create_staff_member(
                    tenant=tenant,
                    actor=self.admin,
                    name=name,
                    role=role,
                    is_practitioner=practitioner,
                    username=username,
                    password=self.password,
                )
            for key, ref, name in PATIENTS:
                first, last = name.lower().split()
                demo.patients[key] = tenancy.create_patient(
                    tenant=tenant,
                    actor=self.admin,
                    external_ref=ref,
                    name=name,
                    email=f"{first}.{last}@example.com",
                    phone=f"+91 98200 {ref[-4:]}0",
                    now=setup,
                )
            self._plans()
            self._membership_plans()
        self._history()
        self._memberships()
        return demo

    def _plans(self) -> None:
        s, c = self.demo.services, self.demo.centres
        manager = self.manager()
        plans = {
            "physio-recovery": PlanTerms(
                name="Physiotherapy Recovery Pack",
                package_type="Therapy",
                price=800000,
                description="10 physiotherapy sessions and 2 doctor consultations over 90 days.",
                lines=[
                    LineSpec([s["physio"].id], 10, label="Physiotherapy"),
                    LineSpec([s["doctor"].id], 2, label="Doctor consultation"),
                ],
                expiry={"kind": "after_start", "count": 90, "unit": "days"},
            ),
            "facials-6": PlanTerms(
                name="6-Pack Facials",
                package_type="Premium",
                price=450000,
                description="Six facials for the price of four and a half (₹6,000 at list prices).",
                lines=[LineSpec([s["facial"].id], 6, label="Facial")],
                expiry={"kind": "after_start", "count": 12, "unit": "months"},
                expiry_mode="soft",
                grace_days=14,
            ),
            "classes-10": PlanTerms(
                name="10-Class Package",
                package_type="Fitness",
                price=200000,
                description="Ten classes of any kind: yoga, pilates or spin, at any centre.",
                lines=[
                    LineSpec([s["yoga"].id, s["pilates"].id, s["spin"].id], 10, label="Classes (yoga / pilates / spin)")
                ],
                expiry={"kind": "after_first_use", "count": 60, "unit": "days"},
                scope="all",
            ),
            "chiro-b3f1": PlanTerms(
                name="Buy 3 Free 1 Chiropractic",
                package_type="Therapy",
                price=300000,
                description="Three chiropractic adjustments and a fourth free, in Bandra or Koramangala.",
                lines=[LineSpec([s["chiro"].id], 3, bonus_sessions=1, label="Chiropractic adjustment")],
                expiry={"kind": "after_start", "count": 3, "unit": "months"},
                scope="listed",
                centre_ids=[c["bandra"].id, c["koramangala"].id],
                commission_policy=CommissionPolicy.ON_SALE,
            ),
            "family-wellness": PlanTerms(
                name="Family Wellness Pack",
                package_type="Preventive",
                price=708000,
                tax_rate_bp=1800,
                tax_inclusive=True,
                description="Eight massage or physiotherapy sessions shared by up to four family members "
                "(GST 18 % included).",
                lines=[LineSpec([s["massage"].id, s["physio"].id], 8, label="Massage or physiotherapy")],
                expiry={"kind": "after_start", "count": 6, "unit": "months"},
                scope="all",
                shareable=True,
                max_beneficiaries=4,
                transferable=True,
                blackout_dates=PUBLIC_HOLIDAYS,
                cap_per_week=2,
            ),
        }
        for code, terms in plans.items():
            self.demo.plans[code] = create_plan(tenant=self.tenant, actor=manager, code=code, terms=terms)
            if code in SOLD_ONLINE:
                set_plan_online(tenant=self.tenant, actor=manager, plan_id=self.demo.plans[code].plan_id, online=True)

    def _membership_plans(self) -> None:
        """The Wellness Club: Gold, Platinum and VIP, ranked in one tier group, each with sessions a month."""
        s, manager = self.demo.services, self.manager()
        club = memberships.create_tier_group(
            tenant=self.tenant, actor=manager, code="wellness-club", name="Wellness Club"
        )
        tiers = {  # code: rank, name, prices, benefits, trial
            "gold": (
                1,
                "Gold",
                {"monthly": 300000, "quarterly": 810000},
                [LineSpec([s["physio"].id, s["massage"].id], 2, label="Physiotherapy or massage")],
                Trial(),
            ),
            "platinum": (
                2,
                "Platinum",
                {"monthly": 500000, "annual": 5400000},
                [
                    LineSpec([s["physio"].id, s["massage"].id], 4, label="Physiotherapy or massage"),
                    LineSpec([s["yoga"].id, s["pilates"].id, s["spin"].id], 4, label="Classes"),
                ],
                Trial(length=14, unit="days"),
            ),
            "vip": (
                3,
                "VIP",
                {"monthly": 900000, "annual": 9720000},
                [
                    LineSpec([s["physio"].id, s["massage"].id, s["chiro"].id], 8, label="Therapy sessions"),
                    LineSpec([s["doctor"].id], 1, label="Doctor consultation"),
                ],
                Trial(),
            ),
        }
        for code, (rank, name, prices, benefits, trial) in tiers.items():
            self.demo.membership_plans[code] = memberships.create_membership_plan(
                tenant=self.tenant,
                actor=manager,
                code=code,
                tier_group_id=club.id,
                rank=rank,
                terms=memberships.MembershipTerms(
                    name=name,
                    prices=prices,
                    tax_rate_bp=1800,
                    description=f"{name} of the Wellness Club (GST 18 % included).",
                    benefits=benefits,
                    trial=trial,
                ),
            )

    def _memberships(self) -> None:
        """Four members, then every day's membership run as the job queue would have run it. The members pay
        each invoice at the desk on the day it is issued: the demo is built in one transaction, and a card
        provider is never called inside one (a sandbox's test clock shows cards, declines and retries)."""
        members = [  # key, patient, plan, frequency, centre, days ago
            ("asha-gold", "asha", "gold", "monthly", "bandra", 100),
            ("sanjay-platinum", "sanjay", "platinum", "monthly", "koramangala", 80),
            ("vikram-vip", "vikram", "vip", "annual", "bandra", 60),
            ("ananya-gold", "ananya", "gold", "quarterly", "bandra", 45),
        ]
        joining = {member[5]: member for member in members}
        for days_ago in range(max(joining), 0, -1):
            self._membership_day(days_ago)
            if days_ago in joining:
                key, patient, plan, frequency, centre, _ = joining[days_ago]
                now = self.at(days_ago, 10, 45)
                with clock.frozen_at(now):
                    self.demo.memberships[key] = memberships.subscribe(
                        tenant=self.tenant,
                        actor=self.desk(centre),
                        patient_id=self.demo.patients[patient].id,
                        plan_id=self.demo.membership_plans[plan].plan_id,
                        frequency=frequency,
                        centre_id=self.demo.centres[centre].id,
                        idempotency_key=f"demo-membership-{key}",
                        now=now,
                    )
            self._desk_collects(days_ago)
        with clock.frozen_at(self.now):
            self._membership_run(self.now)
        for key, membership in self.demo.memberships.items():
            self.demo.memberships[key] = Membership.objects.get(pk=membership.pk)

    def _membership_day(self, days_ago: int) -> None:
        """That day's run at 00:05 in Mumbai: renewals and retries, recognition through the day before."""
        day = self.today - dt.timedelta(days=days_ago)
        at = dt.datetime.combine(day, dt.time(0, 5), tzinfo=KOLKATA)
        with clock.frozen_at(at):
            self._membership_run(at)

    def _membership_run(self, at: dt.datetime) -> None:
        memberships.run_billing(now=at, tenant_id=self.tenant.id)
        local_day = at.astimezone(KOLKATA).date()
        memberships.recognise(as_of=local_day - dt.timedelta(days=1), tenant_id=self.tenant.id, now=at)
        memberships.tell_due_notices(now=at, tenant_id=self.tenant.id)

    def _desk_collects(self, days_ago: int) -> None:
        """The desk takes the members' open invoices by bank transfer (UPI) on the day they are issued."""
        now = self.at(days_ago, 12, 30)
        with clock.frozen_at(now):
            for key, membership in self.demo.memberships.items():
                for invoice in membership.invoices.filter(status=InvoiceStatus.OPEN).order_by("id"):
                    memberships.pay_invoice(
                        tenant=self.tenant,
                        actor=self.desk(membership.centre.code),
                        invoice_id=invoice.id,
                        method="bank_transfer",
                        amount=invoice.gross - invoice.credit_applied - invoice.paid,
                        reference=f"UPI {key.upper()} {invoice.number}",
                        idempotency_key=f"demo-invoice-{invoice.id}",
                        now=now,
                    )

    def _history(self) -> None:
        demo, fam = self.demo, self.not_blackout
        self.sell("kiran-facials", "kiran", "facials-6", "bandra", 120, "bank_transfer", "NEFT HDFC0001 88231")
        self.sell("priya-chiro", "priya", "chiro-b3f1", "bandra", 118, "card", "CARD AUTH 442190")
        self.redeem("kiran-facials", "facial", "bandra", 115, practitioner="sneha")
        self.redeem("priya-chiro", "chiro", "bandra", 112, practitioner="rahul")
        self.sell("lata-physio", "lata", "physio-recovery", "koramangala", 110, "cash", "RCPT-K-0007")
        self.redeem("lata-physio", "physio", "koramangala", 105, practitioner="priya")
        self.redeem("lata-physio", "doctor", "koramangala", 105, practitioner="anil", hour=12)

        # The Rao family pack: paid by card and cash on one order, shared with Asha and Meena.
        now = self.at(100, 10, 30)
        with clock.frozen_at(now):
            desk = self.desk("koramangala")
            order = billing.place_order(
                tenant=self.tenant,
                actor=desk,
                patient_id=demo.patients["ravi"].id,
                centre_id=demo.centres["koramangala"].id,
                items=[billing.OrderItem(plan_id=demo.plans["family-wellness"].plan_id)],
                idempotency_key="demo-sale-rao-family",
                now=now,
            )
            billing.record_payment(
                tenant=self.tenant,
                actor=desk,
                order_id=order.id,
                method="card",
                amount=500000,
                reference="CARD AUTH 771204",
                now=now,
            )
            billing.record_payment(
                tenant=self.tenant,
                actor=desk,
                order_id=order.id,
                method="cash",
                amount=order.gross - 500000,
                reference="RCPT-K-0011",
                now=now,
            )
            family = Package.objects.get(order_line__order=order)
            demo.packages["rao-family"] = family
            for person in ("asha", "meena"):
                packages.add_beneficiary(
                    tenant=self.tenant, actor=desk, package_id=family.id, patient_id=demo.patients[person].id, now=now
                )

        self.redeem("priya-chiro", "chiro", "koramangala", 98, practitioner="rahul")
        self.redeem("rao-family", "massage", "koramangala", fam(95), person="ravi", practitioner="imran")
        self.redeem("kiran-facials", "facial", "bandra", 95, practitioner="sneha", hour=15)
        self.redeem("lata-physio", "physio", "koramangala", 92, practitioner="priya")
        self.sell("arjun-classes", "arjun", "classes-10", "bandra", 90, "cash", "RCPT-B-0031")
        self.redeem("arjun-classes", "yoga", "bandra", 85, practitioner="kavya", hour=7)
        self.redeem("priya-chiro", "chiro", "bandra", 84, practitioner="rahul")
        self.redeem("rao-family", "physio", "bandra", fam(80), person="asha", practitioner="priya")
        self.redeem("arjun-classes", "pilates", "koramangala", 80, practitioner="kavya", hour=18)
        self.redeem("lata-physio", "physio", "koramangala", 78, practitioner="priya")
        self.redeem("kiran-facials", "facial", "bandra", 75, practitioner="sneha")
        self.redeem("arjun-classes", "spin", "bandra", 75, hour=7)

        now = self.at(70, 17)
        with clock.frozen_at(now):
            packages.complete_package(
                tenant=self.tenant,
                actor=self.manager("koramangala"),
                package_id=demo.packages["lata-physio"].id,
                reason="Treatment plan changed: referred for knee surgery",
                now=now,
            )

        self.redeem("arjun-classes", "yoga", "dubai", 65, hour=9)
        self.redeem("rao-family", "massage", "koramangala", fam(60), person="meena", practitioner="imran")
        self.redeem("kiran-facials", "facial", "bandra", 60, practitioner="sneha")
        self.redeem("arjun-classes", "pilates", "bandra", 55, practitioner="kavya", hour=8)
        self.sell("vikram-facials", "vikram", "facials-6", "koramangala", 50, "card", "CARD AUTH 118034")
        self.redeem("kiran-facials", "facial", "bandra", 45, practitioner="sneha")
        self.redeem("arjun-classes", "spin", "koramangala", 45, hour=19)
        self.redeem("vikram-facials", "facial", "koramangala", 45, practitioner="sneha", hour=16)

        # Asha's own Physiotherapy Recovery Pack: 4 of 10 physio used by the end.
        self.sell("asha-physio", "asha", "physio-recovery", "bandra", 40, "cash", "RCPT-B-0142")
        self.redeem("asha-physio", "physio", "bandra", 38, practitioner="priya")
        self.redeem("asha-physio", "doctor", "bandra", 38, practitioner="anil", hour=12)
        self.redeem("asha-physio", "physio", "bandra", 31, practitioner="priya")

        # Arjun was away for treatment: the manager extends his class pass by 35 days.
        now = self.at(30, 16)
        with clock.frozen_at(now):
            arjun = Package.objects.get(pk=demo.packages["arjun-classes"].id)
            packages.change_expiry(
                tenant=self.tenant,
                actor=self.manager(),
                package_id=arjun.id,
                expires_on=arjun.expires_on + dt.timedelta(days=35),
                reason="Away for medical treatment; goodwill extension",
                now=now,
            )
        self.redeem("rao-family", "physio", "bandra", fam(30), person="ravi", practitioner="priya", hour=12)

        # The nightly sweep: Priya's chiropractic pack expired with its bonus session unused (breakage).
        now = self.at(25, 0, 30)
        with clock.frozen_at(now):
            self.demo.expired_by_sweep += packages.expire_due_packages(tenant=self.tenant, now=now)

        self.redeem("asha-physio", "physio", "bandra", 24, practitioner="priya")
        self.sell("sanjay-chiro", "sanjay", "chiro-b3f1", "koramangala", 20, "cash", "RCPT-K-0058", staff="rahul")
        self.redeem("asha-physio", "physio", "bandra", 17, practitioner="priya")
        self.redeem("kiran-facials", "facial", "bandra", 15, practitioner="sneha")  # the sixth: exhausted
        self.sell("neha-classes", "neha", "classes-10", "koramangala", 14, "card", "CARD AUTH 903311")
        self.redeem("rao-family", "massage", "koramangala", fam(12), person="asha", practitioner="imran")

        # Redeemed on Asha's pack by mistake (it was Ravi's session), voided by the manager next day.
        mistake = self.redeem("asha-physio", "physio", "bandra", 10, practitioner="priya", hour=17)
        self.redeem("neha-classes", "spin", "koramangala", 10, hour=19)
        now = self.at(9, 10)
        with clock.frozen_at(now):
            packages.void_redemption(
                tenant=self.tenant,
                actor=self.manager(),
                redemption_id=mistake.id,
                reason="Wrong patient selected at the front desk",
                now=now,
            )

        self.redeem("sanjay-chiro", "chiro", "koramangala", 6, practitioner="rahul")
        self.redeem("neha-classes", "yoga", "bandra", 6, practitioner="kavya", hour=7)
        self.redeem("vikram-facials", "facial", "koramangala", 3, practitioner="sneha")
        # Divya starts her pack next week (future-dated: scheduled until then).
        self.sell("divya-physio", "divya", "physio-recovery", "bandra", 2, "card", "CARD AUTH 650172", start_in_days=7)

        # A gift: Meena buys a facials pack for a friend; it waits as a claim code (its value held on the code).
        now = self.at(4, 16)
        with clock.frozen_at(now):
            desk = self.desk("bandra")
            gift = claims.place_claim_order(
                tenant=self.tenant,
                actor=desk,
                buyer_id=demo.patients["meena"].id,
                centre_id=demo.centres["bandra"].id,
                plan_id=demo.plans["facials-6"].plan_id,
                kind="gift",
                recipient="Anita",
                message="Happy birthday!",
                idempotency_key="demo-gift-meena",
                now=now,
            )
            billing.record_payment(
                tenant=self.tenant,
                actor=desk,
                order_id=gift.order.id,
                method="card",
                amount=gift.order.gross,
                reference="CARD AUTH 118842",
                now=now,
            )

        # Today: the nightly sweep again (nothing else is due), and Neha's class on Friday is held.
        with clock.frozen_at(self.now):
            self.demo.expired_by_sweep += packages.expire_due_packages(tenant=self.tenant, now=self.now)
            packages.place_hold(
                tenant=self.tenant,
                actor=self.desk("bandra"),
                package_id=demo.packages["neha-classes"].id,
                service_id=demo.services["pilates"].id,
                centre_id=demo.centres["bandra"].id,
                day=self.today + dt.timedelta(days=2),
                now=self.now,
            )
        for key, package in demo.packages.items():
            demo.packages[key] = Package.objects.get(pk=package.pk)


@transaction.atomic
def build_demo(
    now: dt.datetime | None = None, *, api_key: str | None = None, slug: str = "demo", password: str | None = None
) -> Demo:
    """Create the demo tenant with its history up to `now` (default: the clock), and today's appointments
    at the front desk (demo_day). Staff log in to the console with `password` (None: no console login
    until one is set). All or nothing."""
    now = now or clock.now()
    if now.tzinfo is None:
        raise ValueError("build_demo needs an aware datetime")
    demo = _Builder(now, slug, password).build(api_key)
    book_the_day(demo, now)
    return demo
