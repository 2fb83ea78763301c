"""Races between separate connections: the last session is held once; an event is applied once;
writes of one tenant that touch different rows do not wait for each other."""

import copy
import threading
import time

import pytest
from django.db import transaction

from punchcard.appointments import charges, selectors
from punchcard.appointments import services as appointments
from punchcard.appointments.fhir import ingest_fhir
from punchcard.appointments.models import Appointment, AppointmentEvent, EventStatus
from punchcard.domain.errors import RuleViolation
from punchcard.domain.roles import Actor
from punchcard.packages.models import Hold, HoldState
from punchcard.tenancy.models import Tenant

from ..clinic import Clinic
from ..scenario import assert_reconciled
from .story import at, balance, book
from .test_events import SCHEDULER, _setup, r4_appointment

pytestmark = pytest.mark.django_db(transaction=True)


def _last_session_package(clinic):
    plan = clinic.plan("physio-2", price=200000, lines=[clinic.line("physio", sessions=2)])
    package = clinic.sell(plan)
    book(clinic, start=at(2026, 3, 5))  # one of the two is already held
    assert balance(package) == (0, 1, 1)
    return package


def test_two_bookings_racing_for_the_last_session_one_holds_one_is_refused(run_concurrently):
    clinic = Clinic.open()
    package = _last_session_package(clinic)

    outcomes = run_concurrently(
        lambda: book(clinic, external_id="RACE-A", start=at(2026, 3, 10), package_id=package.id),
        lambda: book(clinic, external_id="RACE-B", start=at(2026, 3, 11), package_id=package.id),
    )

    booked = [o for o in outcomes if isinstance(o, Appointment)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(booked) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], RuleViolation) and refused[0].code == "insufficient_sessions"
    # The refused booking left nothing behind; the winner holds the last session.
    assert set(
        Appointment.objects.filter(tenant=clinic.tenant, external_id__startswith="RACE").values_list(
            "external_id", flat=True
        )
    ) == {booked[0].external_id}
    assert Hold.objects.filter(package=package, state=HoldState.PENDING).count() == 2
    assert balance(package) == (0, 2, 0)
    assert_reconciled(clinic.tenant)


def test_two_auto_bookings_racing_for_the_last_session_one_gets_it_the_other_books_without(run_concurrently):
    clinic = Clinic.open()
    package = _last_session_package(clinic)

    outcomes = run_concurrently(
        lambda: book(clinic, external_id="AUTO-A", start=at(2026, 3, 10)),
        lambda: book(clinic, external_id="AUTO-B", start=at(2026, 3, 11)),
    )

    assert all(isinstance(o, Appointment) for o in outcomes), outcomes
    assert sorted(o.package_id is not None for o in outcomes) == [False, True]
    assert balance(package) == (0, 2, 0)
    assert_reconciled(clinic.tenant)


def test_the_same_fhir_event_delivered_twice_at_once_is_applied_once(run_concurrently):
    clinic = Clinic.open()
    _, _, package = _setup(clinic)
    resource = r4_appointment(status="arrived")

    outcomes = run_concurrently(
        *[
            lambda: ingest_fhir(tenant=clinic.tenant, actor=SCHEDULER, resource=copy.deepcopy(resource))
            for _ in range(3)
        ]
    )

    assert all(isinstance(o, AppointmentEvent) for o in outcomes), outcomes
    assert sorted(o.status for o in outcomes) == [EventStatus.ACCEPTED, EventStatus.DUPLICATE, EventStatus.DUPLICATE]
    assert Appointment.objects.filter(tenant=clinic.tenant).count() == 1
    assert balance(package) == (1, 0, 4)
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- what waits for what (PostgreSQL row locks)

ADMIN = Actor(label="test-admin", role="admin", source="tests")
PATIENCE = 5.0  # seconds the first transaction stays open waiting for the second write
QUICK = 2.0  # a write that waits for no lock finishes well within this


def _second_while_first_is_open(run_concurrently, first, second):
    """Run `first` in a transaction kept open until `second` (another connection) is done.

    Returns (first's result, second's result, whether second finished while first was still open,
    how long second took). When second waits for a lock first holds, first gives up waiting after
    PATIENCE seconds and commits, and second finishes only then.
    """
    first_written, second_done = threading.Event(), threading.Event()

    def run_first():
        with transaction.atomic():
            result = first()
            first_written.set()
            finished_meanwhile = second_done.wait(PATIENCE)
        return result, finished_meanwhile

    def run_second():
        if not first_written.wait(PATIENCE):
            raise TimeoutError("the first write did not finish")
        started = time.monotonic()
        try:
            return second(), time.monotonic() - started
        finally:
            second_done.set()

    outcomes = run_concurrently(run_first, run_second)
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    (first_result, finished_meanwhile), (second_result, took) = outcomes
    return first_result, second_result, finished_meanwhile, took


def _two_patients_with_packages(clinic):
    plan = clinic.plan("physio-5", price=500000, lines=[clinic.line("physio", sessions=5)])
    return clinic.sell(plan, patient=clinic.asha), clinic.sell(plan, patient=clinic.ravi)


@pytest.mark.postgres
def test_bookings_on_two_packages_of_one_tenant_do_not_wait_for_each_other(run_concurrently):
    clinic = Clinic.open()
    asha_package, ravi_package = _two_patients_with_packages(clinic)

    first, second, finished_meanwhile, took = _second_while_first_is_open(
        run_concurrently,
        lambda: book(clinic, patient=clinic.asha, external_id="OPEN-A", package_id=asha_package.id),
        lambda: book(clinic, patient=clinic.ravi, external_id="QUICK-B", package_id=ravi_package.id),
    )

    assert finished_meanwhile and took < QUICK, f"the second booking waited {took:.1f}s for the first"
    assert {(a.external_id, a.package_id) for a in Appointment.objects.filter(tenant=clinic.tenant)} == {
        ("OPEN-A", asha_package.id),
        ("QUICK-B", ravi_package.id),
    }
    assert (first.package_id, second.package_id) == (asha_package.id, ravi_package.id)
    assert balance(asha_package) == balance(ravi_package) == (0, 1, 4)
    assert_reconciled(clinic.tenant)


@pytest.mark.postgres
@pytest.mark.parametrize("setting", ["no-show fees", "commission rate"])
def test_a_booking_does_not_wait_for_a_settings_write_nor_a_settings_write_for_a_booking(run_concurrently, setting):
    clinic = Clinic.open()
    asha_package, ravi_package = _two_patients_with_packages(clinic)

    def write_setting():
        if setting == "commission rate":
            return appointments.set_commission_rate(tenant=clinic.tenant, actor=ADMIN, rate_bp=500)
        return appointments.configure_no_show_fees(
            tenant=clinic.tenant, actor=ADMIN, fees=[{"code": "missed", "name": "Missed", "amount": 50000}]
        )

    # The settings write open, a booking: then a booking open, the settings write.
    _, booked, finished_meanwhile, took = _second_while_first_is_open(
        run_concurrently, write_setting, lambda: book(clinic, patient=clinic.asha, package_id=asha_package.id)
    )
    assert finished_meanwhile and took < QUICK, f"the booking waited {took:.1f}s for the {setting} write"
    _, _, finished_meanwhile, took = _second_while_first_is_open(
        run_concurrently, lambda: book(clinic, patient=clinic.ravi, package_id=ravi_package.id), write_setting
    )
    assert finished_meanwhile and took < QUICK, f"the {setting} write waited {took:.1f}s for a booking"

    assert booked.package_id == asha_package.id
    assert balance(asha_package) == balance(ravi_package) == (0, 1, 4)
    assert_reconciled(clinic.tenant)


def test_two_settings_writes_at_once_lose_neither(run_concurrently):
    """Both settings live in one row of their own: each write reads it and writes it back under that
    row's lock, so the second waits for the first and keeps what the first wrote."""
    clinic = Clinic.open()

    first_written = threading.Event()

    def commission_first():
        with transaction.atomic():
            appointments.set_commission_rate(tenant=clinic.tenant, actor=ADMIN, rate_bp=500)
            first_written.set()
            time.sleep(0.5)  # still open while the fee list is being written

    def then_fees():
        first_written.wait(PATIENCE)
        return appointments.configure_no_show_fees(
            tenant=Tenant.objects.get(pk=clinic.tenant.pk),  # read before the commission rate commits
            actor=ADMIN,
            fees=[{"code": "missed", "name": "Missed", "amount": 50000}],
        )

    outcomes = run_concurrently(commission_first, then_fees)

    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    assert charges.commission_rate_bp(clinic.tenant) == 500
    fees = selectors.no_show_settings(clinic.tenant).fees
    assert [(f.code, f.name, f.amount) for f in fees] == [("missed", "Missed", 50000)]
