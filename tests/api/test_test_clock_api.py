"""The test clock over HTTP: a sandbox's requests run on its clock (and the next request on the same thread
does not), `GET /test-clock` shows it, `POST /test-clock/advance` moves it and says what ran; a live
tenant gets 409 `test_clock_live_tenant`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from punchcard import clock
from punchcard.domain.roles import Role
from punchcard.packages.models import Package
from punchcard.tenancy import selectors
from punchcard.tenancy.services import create_staff_member

from ..clinic import Clinic, local
from .conftest import ADMIN, Api, api_key

pytestmark = pytest.mark.django_db

START = local(2026, 3, 1, 10)  # Sunday 1 March 2026, 10:00 in Mumbai


@pytest.fixture
def sandbox() -> Clinic:
    clinic = Clinic.open(now=START, sandbox=True)
    plan = clinic.plan(
        "ten-days",
        price=300000,
        lines=[clinic.line("physio", sessions=3)],
        expiry={"kind": "fixed_date", "fixed_date": "2026-03-11"},
    )
    clinic.pack = clinic.sell(plan)
    return clinic


@pytest.fixture
def live() -> Clinic:
    return Clinic.open(now=START)


def test_a_sandboxs_request_runs_on_its_clock_and_the_next_one_on_the_thread_does_not(sandbox, live):
    shared = Client()  # one client, one thread: the second request must not inherit the first's clock
    in_sandbox = Api(api_key(sandbox, Role.FRONT_DESK), client=shared)
    in_clinic = Api(api_key(live, Role.FRONT_DESK), client=shared)
    clock.set_now(None)  # the freeze Clinic.open left would beat every tenant's clock

    made = in_sandbox.post("/patients", {"external_ref": "S-1", "name": "Sandra"})
    assert made.status == 201, made.body
    assert dt.datetime.fromisoformat(made.body["created_at"]) == START  # the sandbox's clock, not today
    assert clock.tenant_instant() is None  # ended with the request

    made = in_clinic.post("/patients", {"external_ref": "L-1", "name": "Lata"})
    assert made.status == 201, made.body
    assert abs(dt.datetime.fromisoformat(made.body["created_at"]) - clock.wall()) < dt.timedelta(minutes=1)


def test_a_staff_session_runs_on_the_sandboxs_clock_too(sandbox):
    create_staff_member(
        tenant=sandbox.tenant,
        actor=ADMIN,
        name="Mira",
        role=Role.MANAGER,
        email="mira@sandbox.example",
        password="a long sandbox password 1",
    )
    client = Client()
    assert client.login(username="mira@sandbox.example", password="a long sandbox password 1")
    clock.set_now(None)
    reply = client.get("/api/v1/test-clock")
    assert reply.status_code == 200 and reply.json() == {
        "tenant": sandbox.tenant.slug,
        "now": "2026-03-01T04:30:00Z",
        "own_clock": True,
    }


def test_advance_over_http_runs_the_jobs_and_says_what_ran(sandbox):
    manager = Api(api_key(sandbox, Role.MANAGER))
    clock.set_now(None)
    reply = manager.post("/test-clock/advance", {"to": "2026-03-12T12:00:00+05:30"})
    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["previous"], body["now"], body["done"]) == ("2026-03-01T04:30:00Z", "2026-03-12T06:30:00Z", True)
    assert {"job": "expiry-sweep", "slot": "Asia/Kolkata/2026-03-12", "at": "2026-03-11T18:35:00Z", "count": 1} in (
        body["ran"]
    )
    assert Package.objects.get(id=sandbox.pack.id).lines.get().forfeited == 3
    assert manager.get("/test-clock").body["now"] == "2026-03-12T06:30:00Z"

    again = manager.post("/test-clock/advance", {"to": "2026-03-12"})  # a date: noon in Mumbai, the same instant
    assert (again.status, again.body["steps"], again.body["ran"]) == (200, 0, [])

    backwards = manager.post("/test-clock/advance", {"to": "2026-03-02"})
    assert (backwards.status, backwards.body["code"]) == (422, "test_clock_backwards")
    nonsense = manager.post("/test-clock/advance", {"to": "next tuesday"})
    assert nonsense.status == 422
    desk = Api(api_key(sandbox, Role.FRONT_DESK)).post("/test-clock/advance", {"to": "2026-03-13"})
    assert (desk.status, desk.body["permission"]) == (403, "advance_test_clock")
    assert selectors.own_clock(sandbox.tenant) == local(2026, 3, 12, 12)


def test_a_live_tenant_gets_409(live):
    admin = Api(api_key(live, Role.ADMIN))
    clock.set_now(None)
    for reply in (admin.get("/test-clock"), admin.post("/test-clock/advance", {"to": "2026-03-12"})):
        assert reply.status == 409 and reply.content_type.startswith("application/problem+json")
        assert reply.body["code"] == "test_clock_live_tenant"
    assert selectors.own_clock(live.tenant) is None
