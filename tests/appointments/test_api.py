"""The appointment routes over HTTP, with API keys: booking → arrival, a refused reschedule, the FHIR intake
delivered twice, a refused event kept for review (even under an Idempotency-Key), and the settings."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from punchcard.appointments import selectors
from punchcard.appointments import services as appointments
from punchcard.appointments.schemas import AppointmentOut
from punchcard.domain.roles import Actor
from punchcard.kernel.schemas import Ctx
from punchcard.packages.services import add_beneficiary
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.auth import Principal
from punchcard.tenancy.services import create_api_key

from ..clinic import Clinic
from ..scenario import assert_reconciled
from .story import at, balance, book
from .test_events import r4_appointment

pytestmark = pytest.mark.django_db

ADMIN = Actor(label="test-admin", role="admin", source="tests")
BASE = "/api/v1"


class Api:
    def __init__(self, secret: str):
        self.client, self.secret = Client(), secret

    def call(self, method: str, path: str, body=None, *, content_type="application/json", headers=None, params=None):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        if method == "GET":
            response = self.client.get(BASE + path, params or {}, **extra)
        else:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body if body is not None else {})
            response = getattr(self.client, method.lower())(BASE + path, data=data, content_type=content_type, **extra)
        return response.status_code, (json.loads(response.content) if response.content else None)


def _key(clinic, role: str) -> Api:
    _, secret = create_api_key(tenant=clinic.tenant, actor=ADMIN, name=f"{role} key", role=role)
    return Api(secret)


@pytest.fixture
def world():
    clinic = Clinic.open()
    patient = tenancy.create_patient(
        tenant=clinic.tenant, actor=clinic.front_desk, external_ref="P-1001", name="Anita Desai"
    )
    plan = clinic.plan(
        "physio-5",
        price=500000,
        expiry={"kind": "after_start", "count": 30, "unit": "days"},
        lines=[clinic.line("physio", sessions=5, patient_pays=20000)],
    )
    package = clinic.sell(plan, patient=patient)
    return clinic, patient, package


def test_book_arrive_and_a_refused_reschedule_over_http(world):
    clinic, patient, package = world
    desk = _key(clinic, "front_desk")
    status, body = desk.call(
        "POST",
        "/appointments",
        {
            "external_id": "APT-1",
            "patient_id": patient.id,
            "service_id": clinic.services["physio"].id,
            "centre_id": clinic.centre.id,
            "start": "2026-03-10T00:30:00+05:30",
            "end": "2026-03-10T01:15:00+05:30",
        },
    )
    assert status == 201, body
    assert (body["package_id"], body["package_state"], body["day"]) == (package.id, "held", "2026-03-10")
    assert body["hold"]["day"] == "2026-03-10" and body["commissions"] is None  # front desk reads no money
    appointment_id = body["id"]

    status, body = desk.call(
        "POST", f"/appointments/{appointment_id}/reschedule", {"start": "2026-04-10T10:00:00+05:30"}
    )
    assert status == 409 and body["code"] == "reschedule_refused" and body["context"]["rule"] == "expired"
    assert body["type"].endswith("/reschedule_refused")

    status, body = desk.call("POST", f"/appointments/{appointment_id}/arrive")
    assert status == 200 and body["status"] == "arrived" and body["package_state"] == "redeemed"
    assert body["amount_to_collect"]["amount"] == 20000 and body["redemption"]["appointment_id"] == appointment_id

    status, body = desk.call("POST", f"/appointments/{appointment_id}/package/remove", {})
    assert status == 409 and body["code"] == "package_not_removable"

    status, body = desk.call("GET", f"/patients/{patient.id}/appointment-charges")
    assert status == 200 and body["total_to_collect"]["amount"] == 20000 and len(body["charges"]) == 1

    status, body = desk.call(
        "POST",
        "/appointments",
        {
            "external_id": "APT-2",
            "patient_id": patient.id,
            "service_id": clinic.services["physio"].id,
            "centre_id": clinic.centre.id,
            "start": "2026-03-10T10:00:00",
            "package_id": None,
        },
    )
    assert status == 422 and body["field"] == "start"
    assert balance(package) == (1, 0, 4)
    assert_reconciled(clinic.tenant)


def test_fhir_intake_over_http_applies_once_and_keeps_refusals(world):
    clinic, _, package = world
    scheduler = _key(clinic, "front_desk")
    booked = r4_appointment()
    status, body = scheduler.call("POST", "/fhir/Appointment", booked, content_type="application/fhir+json")
    assert status == 201 and body["status"] == "accepted", body
    status, body = scheduler.call("POST", "/fhir/Appointment", booked, content_type="application/fhir+json")
    assert status == 200 and body["status"] == "duplicate"
    arrived = r4_appointment(status="arrived", version="2", last_updated="2026-03-10T10:01:00+05:30")
    status, body = scheduler.call(
        "PUT", "/fhir/Appointment/APT-77", arrived, content_type="application/fhir+json; fhirVersion=4.0"
    )
    assert status == 201 and body["source"] == "fhir-r4"
    assert balance(package) == (1, 0, 4)

    # An unknown patient: refused with a clear code, and kept — even under an Idempotency-Key.
    stranger = r4_appointment(id="APT-99", patient="P-404")
    status, body = scheduler.call(
        "POST",
        "/fhir/Appointment",
        stranger,
        content_type="application/fhir+json",
        headers={"Idempotency-Key": "evt-404"},
    )
    assert status == 422 and body["code"] == "unknown_reference" and body["field"] == "patient"
    event_id = body["context"]["event_id"]
    status, body = scheduler.call("GET", "/appointment-events", params={"status": "rejected"})
    assert status == 200 and [e["id"] for e in body["items"]] == [event_id]
    assert body["items"][0]["error_code"] == "unknown_reference"

    tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="P-404", name="New")
    status, body = scheduler.call("POST", f"/appointment-events/{event_id}/retry")
    assert status == 201 and body["status"] == "accepted" and body["retry_of"] == event_id

    status, body = scheduler.call("POST", "/fhir/Appointment", b"{not json", content_type="application/fhir+json")
    assert status == 422 and body["code"] == "invalid"
    status, body = scheduler.call(
        "POST",
        "/appointment-events",
        {
            "external_id": "APT-5",
            "status": "booked",
            "patient": "P-1001",
            "service": "physio",
            "centre": "bandra",
            "start": "2026-03-11T10:00:00+05:30",
        },
    )
    assert status == 201 and body["outcome"].startswith("created with package")
    assert_reconciled(clinic.tenant)


def test_no_show_settings_and_choices_over_http(world):
    clinic, patient, package = world
    admin, desk, manager = _key(clinic, "admin"), _key(clinic, "front_desk"), _key(clinic, "manager")
    settings = {
        "fees": [{"code": "missed", "name": "Missed appointment", "amount": 40000}],
        "default_option": "fee",
        "default_fee_code": "missed",
    }
    assert desk.call("PUT", "/settings/no-show-fees", settings)[0] == 403
    status, body = admin.call("PUT", "/settings/no-show-fees", settings)
    assert status == 200 and body["fees"][0]["amount"]["amount"] == 40000 and body["default_option"] == "fee"
    status, body = admin.call("PUT", "/settings/no-show-fees", {"fees": [{"code": "X!", "name": "", "amount": 0}]})
    assert status == 422

    status, body = desk.call(
        "POST",
        "/appointments",
        {
            "external_id": "APT-3",
            "patient_id": patient.id,
            "service_id": clinic.services["physio"].id,
            "centre_id": clinic.centre.id,
            "start": "2026-03-12T10:00:00+05:30",
        },
    )
    appointment_id = body["id"]
    status, body = desk.call("POST", f"/appointments/{appointment_id}/no-show", {})
    assert status == 200 and body["no_show_choice"] == "fee" and body["amount_to_collect"]["amount"] == 40000
    status, body = desk.call("POST", f"/appointments/{appointment_id}/no-show/undo", {})
    assert status == 200 and body["status"] == "booked" and body["package_state"] == "held"
    status, body = desk.call("POST", f"/appointments/{appointment_id}/no-show", {"option": "redeem"})
    assert status == 200 and body["package_state"] == "redeemed"
    status, body = desk.call("POST", f"/appointments/{appointment_id}/no-show/undo", {})
    assert status == 403 and body["code"] == "forbidden"
    status, body = manager.call("POST", f"/appointments/{appointment_id}/no-show/undo", {"reason": "came late"})
    assert status == 200 and body["package_state"] == "held"
    status, body = manager.call("GET", "/commissions")
    assert status == 200 and body == []  # nobody to credit: no practitioner, no credited sale
    assert balance(package) == (0, 1, 4)
    assert_reconciled(clinic.tenant)


def test_an_appointment_response_is_mapped_from_rows_its_selector_loaded(world, django_assert_num_queries):
    """The schemas run no query: the selectors load the hold, the redemption (with their rows), the
    charges and commissions; a page of appointments takes the same few queries whatever its length."""
    clinic, patient, _ = world
    family = clinic.plan(
        "family-physio",
        price=500000,
        shareable=True,
        max_beneficiaries=3,
        lines=[clinic.line("physio", sessions=5, patient_pays=20000)],
    )
    package = clinic.sell(family, patient=patient)
    add_beneficiary(tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.asha.id)
    practitioner = tenancy.create_staff_member(tenant=clinic.tenant, actor=ADMIN, name="Dr Rao", is_practitioner=True)
    arrived = book(
        clinic, patient=patient, practitioner=practitioner, beneficiary_id=clinic.asha.id, package_id=package.id
    )
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=arrived.id)
    held = book(clinic, patient=patient, practitioner=practitioner, start=at(2026, 3, 12))
    ctx = Ctx(Principal(tenant=clinic.tenant, actor=ADMIN))

    for appointment_id in (arrived.id, held.id):
        view = selectors.view(selectors.get_appointment(clinic.tenant, appointment_id))
        with django_assert_num_queries(0):
            out = AppointmentOut.of(view, ctx)
        assert out.package_state == ("redeemed" if appointment_id == arrived.id else "held")
    assert out.hold.person.id == patient.id and out.practitioner.id == practitioner.id

    page = list(selectors.appointments(clinic.tenant))
    with django_assert_num_queries(4):
        views = selectors.views(page)
    with django_assert_num_queries(0):
        outs = [AppointmentOut.of(v, ctx) for v in views]
    first = next(o for o in outs if o.id == arrived.id)
    assert (first.redemption.person.id, first.beneficiary.id) == (clinic.asha.id, clinic.asha.id)
    assert [c.external_id for c in first.charges] == [arrived.external_id]
    assert [c.staff.id for c in first.commissions] == [practitioner.id]


@pytest.mark.parametrize(
    "start, end, field",
    [
        ("9999-12-31T23:59:00-12:00", None, "start"),  # a valid FHIR instant, year 10000 in UTC
        ("1850-01-01T10:00:00+05:30", None, "start"),
        ("2026-03-10T10:00:00+05:30", "9999-12-31T23:59:00-12:00", "end"),
    ],
)
def test_a_fhir_instant_out_of_range_names_the_field_and_the_event_is_kept(world, start, end, field):
    clinic, _, package = world
    scheduler = _key(clinic, "front_desk")
    resource = r4_appointment(id="APT-far", start=start, end=end)
    if end is None:
        resource.pop("end")
    status, body = scheduler.call("POST", "/fhir/Appointment", resource, content_type="application/fhir+json")
    assert status == 422, body
    assert body["code"] == "invalid" and body["field"] == field, body
    assert "between the years 1900 and 2999" in body["detail"]
    status, kept = scheduler.call("GET", f"/appointment-events/{body['context']['event_id']}")
    assert status == 200 and kept["status"] == "rejected" and kept["error_code"] == "invalid"
    assert balance(package) == (0, 0, 5)
    assert_reconciled(clinic.tenant)
