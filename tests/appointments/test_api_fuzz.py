"""Schemathesis fuzzes every appointment route (tests.appointments.urls) with a manager's key: no 5xx, every
response as declared. Ids are swapped for the seeded tenant's real ones half of the time, so the success
paths (book, arrive, no-show, reschedule, FHIR intake...) are fuzzed too."""
from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test.utils import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from punchcard import clock
from punchcard.appointments import services as appointments
from punchcard.tenancy.actors import Actor
from punchcard.tenancy.services import create_api_key
from punchcard.wsgi import application

from ..clinic import Clinic
from .story import at, book

URLS = "tests.appointments.urls"
with override_settings(ROOT_URLCONF=URLS):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEEDED: dict[str, list[int]] = {}


def _swap(values, names):
    if not isinstance(values, dict):
        return st.just(values)
    known = [k for k, v in values.items() if k in names and names[k] and isinstance(v, int)]
    if not known:
        return st.just(values)
    real = st.fixed_dictionaries({k: st.sampled_from(names[k]) for k in known}).map(lambda ids: {**values, **ids})
    return st.one_of(st.just(values), real)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    return _swap(path_parameters, SEEDED)


@schema.hook
def flatmap_query(context, query):
    return _swap(query, {"patient": SEEDED.get("patient_id", [])})


@schema.hook
def flatmap_body(context, body):
    return _swap(body, SEEDED)


@pytest.fixture
def manager_key(db, in_process_requests):
    clinic = Clinic.open()
    plan = clinic.plan("physio-5", price=500000, lines=[clinic.line("physio", sessions=50, patient_pays=100)],
                       expiry={"kind": "after_start", "count": 90, "unit": "days"})
    package = clinic.sell(plan)
    appointments.configure_no_show_fees(tenant=clinic.tenant, actor=Actor(label="t", role="admin"),
                                        fees=[{"code": "missed", "name": "Missed", "amount": 1000}])
    booked = [book(clinic, start=at(2026, 3, d)) for d in (5, 6, 7)]
    SEEDED.clear()
    SEEDED.update({"appointment_id": [a.id for a in booked], "patient_id": [clinic.asha.id],
                   "service_id": [clinic.services["physio"].id], "centre_id": [clinic.centre.id],
                   "package_id": [package.id], "practitioner_id": [clinic.front_desk.staff_id]})
    _, secret = create_api_key(tenant=clinic.tenant, actor=Actor(label="t", role="admin"), name="m", role="manager")
    yield secret
    SEEDED.clear()
    clock.set_now(None)


@pytest.fixture
def in_process_requests():
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.urls(URLS)
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_appointment_operation_conforms_to_its_schema(case, manager_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {manager_key}"}, checks=CHECKS)
