"""`tick`: what is due is enqueued exactly once, however often and wherever it runs; daily work follows
each centre's own local day."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from punchcard import clock
from punchcard.domain.roles import Actor, Role
from punchcard.jobs import registry
from punchcard.jobs.models import Due
from punchcard.jobs.tick import tick
from punchcard.packages.models import Package
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic
from ..scenario import assert_reconciled

UTC = dt.UTC
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _unfreeze():
    yield
    clock.set_now(None)


def test_every_registered_job_is_there():
    names = {job.name for job in registry.jobs()}
    assert {"expiry-sweep", "claim-code-expiry", "reminders", "outbox-delivery", "idempotency-purge"} <= names


@pytest.mark.django_db
def test_tick_twice_at_the_same_instant_enqueues_nothing_new():
    Clinic.open()
    at = dt.datetime(2026, 3, 2, 0, 10, tzinfo=KOLKATA)
    first = tick(now=at)
    tasks = DBTaskResult.objects.count()
    assert ("expiry-sweep", "Asia/Kolkata/2026-03-02") in first
    assert ("outbox-delivery", "2026-03-01T18:40Z") in first
    assert tick(now=at) == []
    assert tick(now=at + dt.timedelta(seconds=30)) == []  # the same minute
    assert DBTaskResult.objects.count() == tasks
    later = tick(now=at + dt.timedelta(minutes=1))
    assert [job for job, _ in later] == ["outbox-delivery"]  # only the minute's work is new


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_enqueue_once(run_concurrently):
    Clinic.open()
    at = dt.datetime(2026, 3, 2, 0, 10, tzinfo=KOLKATA)
    outcomes = run_concurrently(lambda: tick(now=at), lambda: tick(now=at), lambda: tick(now=at))
    assert all(isinstance(o, list) for o in outcomes), outcomes
    claimed = [slot for o in outcomes for slot in o]
    assert len(claimed) == len(set(claimed)) == Due.objects.count()
    assert DBTaskResult.objects.count() == Due.objects.count()


def _two_centre_clinic():
    """One tenant with a centre in Mumbai and one in New York, a package at each whose last day is 1 March."""
    clinic = Clinic.open(now=dt.datetime(2026, 1, 1, 12, tzinfo=UTC))
    admin = Actor(label="test-admin", role=Role.ADMIN, source="tests")
    ny = tenancy.create_centre(
        tenant=clinic.tenant, actor=admin, name="Manhattan", code="nyc", timezone="America/New_York"
    )
    plan = clinic.plan(
        "month",
        price=300000,
        lines=[clinic.line("physio", sessions=3)],
        expiry={"kind": "fixed_date", "fixed_date": "2026-03-01"},
        scope="all",
    )
    mumbai = clinic.sell(plan)
    manhattan = clinic.sell(plan, centre=ny, patient=clinic.ravi)
    return clinic, mumbai, manhattan


def _run_queue():
    call_command("worker", batch=True, interval="0", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_at_0005_each_centre_has_its_own_today():
    clinic, mumbai, manhattan = _two_centre_clinic()
    kolkata_0005 = dt.datetime(2026, 3, 2, 0, 5, tzinfo=KOLKATA)  # 1 March 18:35 UTC; 13:35 in New York
    clock.set_now(kolkata_0005)
    enqueued = dict(tick(now=kolkata_0005))
    assert enqueued["expiry-sweep"] == "Asia/Kolkata/2026-03-02"
    _run_queue()
    assert Package.objects.get(id=mumbai.id).lines.get().forfeited == 3  # past its last day in Mumbai
    assert Package.objects.get(id=manhattan.id).lines.get().forfeited == 0  # still 1 March in New York

    new_york_0005 = dt.datetime(2026, 3, 2, 0, 5, tzinfo=NEW_YORK)
    clock.set_now(new_york_0005)
    slots = tick(now=new_york_0005)
    assert ("expiry-sweep", "America/New_York/2026-03-02") in slots
    assert ("expiry-sweep", "Asia/Kolkata/2026-03-02") not in slots  # done already
    _run_queue()
    assert Package.objects.get(id=manhattan.id).lines.get().forfeited == 3
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_before_0005_nothing_daily_is_due():
    Clinic.open()
    slots = tick(now=dt.datetime(2026, 3, 2, 0, 4, tzinfo=KOLKATA))
    assert not [s for job, s in slots if job == "expiry-sweep" and s.startswith("Asia/Kolkata/2026-03-02")]
