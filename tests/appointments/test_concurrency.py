"""Races between separate connections: the last session is held once; an event is applied once."""

import copy

import pytest

from punchcard.appointments.fhir import ingest_fhir
from punchcard.appointments.models import Appointment, AppointmentEvent, EventStatus
from punchcard.domain.errors import RuleViolation
from punchcard.packages.models import Hold, HoldState

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
