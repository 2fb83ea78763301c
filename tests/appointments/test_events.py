"""The scheduling system's status events drive the package without staff clicks (SPEC §5, §12).

FHIR mapping under test (appointments.fhir): Appointment.id → external id; participant actor
"Patient/<external ref>" (R5: subject) → patient; "Practitioner/<staff id>" → practitioner;
serviceType coding code → Service.code; the centre extension (or a "Location/<code>" participant) →
Centre.code; meta.versionId / lastUpdated → dedupe key and staleness.
"""

import copy
import datetime as dt

import pytest

from punchcard.appointments import selectors
from punchcard.appointments import services as appointments
from punchcard.appointments.events import ingest_event
from punchcard.appointments.fhir import CENTRE_EXTENSION, ingest_fhir
from punchcard.appointments.models import Appointment, AppointmentEvent, EventStatus
from punchcard.appointments.retry import retry_event
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.roles import Actor
from punchcard.packages.models import Hold, HoldState, Redemption
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic
from ..scenario import assert_reconciled
from .story import balance

pytestmark = pytest.mark.django_db

THIRTY_DAYS = {"kind": "after_start", "count": 30, "unit": "days"}
ADMIN = Actor(label="test-admin", role="admin", source="tests")
# The scheduling system's integration key acts with the front desk's role.
SCHEDULER = Actor(label="apikey:pc_sched (Scheduler)", role="front_desk", source="scheduler")


def _setup(clinic, *, patient_ref="P-1001", patient_pays=20000):
    patient = tenancy.create_patient(
        tenant=clinic.tenant, actor=clinic.front_desk, external_ref=patient_ref, name="Anita Desai"
    )
    practitioner = tenancy.create_staff_member(tenant=clinic.tenant, actor=ADMIN, name="Dr Rao", is_practitioner=True)
    plan = clinic.plan(
        "physio-5",
        price=500000,
        expiry=THIRTY_DAYS,
        lines=[clinic.line("physio", sessions=5, patient_pays=patient_pays)],
    )
    package = clinic.sell(plan, patient=patient)
    return patient, practitioner, package


def r4_appointment(
    *,
    id="APT-77",
    version="1",
    status="booked",
    start="2026-03-10T10:00:00+05:30",
    end="2026-03-10T10:45:00+05:30",
    patient="P-1001",
    practitioner=None,
    service="physio",
    centre="bandra",
    last_updated="2026-03-01T10:00:00+05:30",
):
    """A FHIR R4 Appointment as a scheduling system sends it."""
    resource = {
        "resourceType": "Appointment",
        "id": id,
        "meta": {"versionId": version, "lastUpdated": last_updated},
        "extension": [{"url": CENTRE_EXTENSION, "valueCode": centre}],
        "status": status,
        "serviceCategory": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/service-category",
                        "code": "27",
                        "display": "Specialist Medical",
                    }
                ]
            }
        ],
        "serviceType": [
            {
                "coding": [
                    {
                        "system": "https://clinic.example/fhir/CodeSystem/services",
                        "code": service,
                        "display": "Physiotherapy 45 min",
                    }
                ]
            }
        ],
        "description": "Physiotherapy follow-up",
        "start": start,
        "end": end,
        "minutesDuration": 45,
        "participant": [
            {
                "actor": {"reference": f"Patient/{patient}", "display": "Anita Desai"},
                "required": "required",
                "status": "accepted",
            },
        ],
    }
    if practitioner is not None:
        resource["participant"].append(
            {
                "actor": {"reference": f"Practitioner/{practitioner}", "display": "Dr Rao"},
                "required": "required",
                "status": "accepted",
            }
        )
    return resource


def r5_appointment(
    *,
    id="APT-88",
    version="1",
    status="booked",
    start="2026-03-10T10:00:00+05:30",
    patient="P-1001",
    service="physio",
    centre="bandra",
):
    return {
        "resourceType": "Appointment",
        "id": id,
        "meta": {"versionId": version},
        "status": status,
        "class": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}]}],
        "serviceType": [{"concept": {"coding": [{"system": "https://clinic.example/services", "code": service}]}}],
        "subject": {"reference": f"Patient/{patient}"},
        "start": start,
        "end": "2026-03-10T10:45:00+05:30",
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{centre}"}, "status": "accepted"},
        ],
    }


def _fhir(clinic, resource, **kw):
    return ingest_fhir(tenant=clinic.tenant, actor=SCHEDULER, resource=copy.deepcopy(resource), **kw)


# ---------------------------------------------------------------- FHIR booked → arrived, delivered twice


def test_fhir_r4_booked_then_arrived_each_delivered_twice_redeems_exactly_once():
    clinic = Clinic.open()
    patient, rao, package = _setup(clinic)
    booked = r4_appointment(practitioner=rao.id)
    arrived = r4_appointment(
        practitioner=rao.id, status="arrived", version="2", last_updated="2026-03-10T10:02:00+05:30"
    )

    outcomes = [_fhir(clinic, booked), _fhir(clinic, booked), _fhir(clinic, arrived), _fhir(clinic, arrived)]

    assert [e.status for e in outcomes] == [
        EventStatus.ACCEPTED,
        EventStatus.DUPLICATE,
        EventStatus.ACCEPTED,
        EventStatus.DUPLICATE,
    ]
    assert {e.source for e in outcomes} == {"fhir-r4"}
    appointment = Appointment.objects.get(tenant=clinic.tenant, external_id="APT-77")
    assert all(e.appointment_id == appointment.id for e in outcomes)
    assert (appointment.status, appointment.patient_id, appointment.practitioner_id, appointment.centre_id) == (
        "arrived",
        patient.id,
        rao.id,
        clinic.centre.id,
    )
    assert appointment.start == dt.datetime.fromisoformat("2026-03-10T10:00:00+05:30")
    redemption = Redemption.objects.get(appointment=appointment)
    assert redemption.package_id == package.id and redemption.practitioner_id == rao.id
    assert balance(package) == (1, 0, 4)
    view = selectors.view(appointment)
    assert view.amount_to_collect == 20000 and [c.amount for c in view.commissions] == [10000]
    assert "redemption" in outcomes[2].outcome and "duplicate of event" in outcomes[3].outcome
    assert_reconciled(clinic.tenant)


def test_fhir_r5_fulfilled_for_an_unseen_appointment_creates_and_redeems_it():
    clinic = Clinic.open()
    _, _, package = _setup(clinic)
    event = _fhir(clinic, r5_appointment(status="fulfilled"))
    assert event.status == EventStatus.ACCEPTED and event.source == "fhir-r5"
    appointment = event.appointment
    assert appointment.status == "arrived" and appointment.centre_id == clinic.centre.id
    assert balance(package) == (1, 0, 4)
    # The same resource named as R5 explicitly is the same event.
    assert _fhir(clinic, r5_appointment(status="fulfilled"), fhir_version="5.0").status == EventStatus.DUPLICATE
    assert_reconciled(clinic.tenant)


def test_fhir_status_vocabulary_drives_the_flow():
    clinic = Clinic.open()
    _, _, package = _setup(clinic)
    for status in ["proposed", "pending", "booked"]:
        _fhir(clinic, r4_appointment(id=f"A-{status}", status=status, version="1"))
    assert balance(package) == (0, 3, 2)
    _fhir(
        clinic,
        r4_appointment(id="A-booked", status="checked-in", version="2", last_updated="2026-03-10T10:00:00+05:30"),
    )
    _fhir(
        clinic,
        r4_appointment(
            id="A-pending", status="entered-in-error", version="2", last_updated="2026-03-02T10:00:00+05:30"
        ),
    )
    _fhir(
        clinic, r4_appointment(id="A-proposed", status="noshow", version="2", last_updated="2026-03-10T12:00:00+05:30")
    )
    states = dict(Appointment.objects.filter(tenant=clinic.tenant).values_list("external_id", "status"))
    assert states == {"A-booked": "arrived", "A-pending": "cancelled", "A-proposed": "noshow"}
    # The tenant's default for automatic no-shows is 'redeem'.
    assert balance(package) == (2, 0, 3)
    with pytest.raises(InvalidInput) as bad:
        _fhir(clinic, r4_appointment(id="A-x", status="dreaming"))
    assert bad.value.field == "status"
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- out of order, stale, cancelled after arrival


def test_arrived_before_booked_ends_arrived_with_one_redemption():
    clinic = Clinic.open()
    _, _, package = _setup(clinic)
    base = {
        "external_id": "APT-9",
        "patient": "P-1001",
        "service": "physio",
        "centre": "bandra",
        "start": "2026-03-10T10:00:00+05:30",
    }
    arrived = ingest_event(
        tenant=clinic.tenant,
        actor=SCHEDULER,
        payload={**base, "status": "arrived", "updated_at": "2026-03-10T10:05:00+05:30"},
    )
    booked = ingest_event(
        tenant=clinic.tenant,
        actor=SCHEDULER,
        payload={**base, "status": "booked", "updated_at": "2026-03-01T09:00:00+05:30"},
    )
    assert (arrived.status, booked.status) == (EventStatus.ACCEPTED, EventStatus.ACCEPTED)
    assert "stale" in booked.outcome
    appointment = Appointment.objects.get(tenant=clinic.tenant, external_id="APT-9")
    assert appointment.status == "arrived" and balance(package) == (1, 0, 4)

    # Without timestamps a late booking event still does not reopen the arrival.
    fhir_arrived = r4_appointment(id="APT-10", status="arrived", version="7")
    fhir_booked = r4_appointment(id="APT-10", status="booked", version="6")
    for resource in (fhir_arrived, fhir_booked):
        del resource["meta"]["lastUpdated"]
    _fhir(clinic, fhir_arrived)
    late = _fhir(clinic, fhir_booked)
    assert late.status == EventStatus.ACCEPTED and "does not reopen" in late.outcome
    assert Appointment.objects.get(tenant=clinic.tenant, external_id="APT-10").status == "arrived"
    assert balance(package) == (2, 0, 3)
    assert_reconciled(clinic.tenant)


def test_cancelled_after_arrival_is_refused_and_kept_until_a_manager_undoes_the_arrival():
    clinic = Clinic.open()
    _, _, package = _setup(clinic)
    _fhir(clinic, r4_appointment(status="booked", version="1"))
    _fhir(clinic, r4_appointment(status="arrived", version="2", last_updated="2026-03-10T10:01:00+05:30"))
    cancelled = r4_appointment(status="cancelled", version="3", last_updated="2026-03-10T11:00:00+05:30")

    with pytest.raises(Conflict) as refused:
        _fhir(clinic, cancelled)
    assert refused.value.code == "package_not_removable"
    kept = AppointmentEvent.objects.get(pk=refused.value.context["event_id"])
    assert (kept.status, kept.error_code, kept.event_status, kept.external_id) == (
        EventStatus.REJECTED,
        "package_not_removable",
        "cancelled",
        "APT-77",
    )
    assert kept.payload["status"] == "cancelled"
    appointment = Appointment.objects.get(tenant=clinic.tenant, external_id="APT-77")
    assert appointment.status == "arrived" and balance(package) == (1, 0, 4)

    # Review: the arrival was a mistake. The manager undoes it; the kept event is applied again.
    appointments.undo_arrival(
        tenant=clinic.tenant,
        actor=clinic.manager,
        appointment_id=appointment.id,
        reason="the patient never came; cancelled by phone",
    )
    retried = retry_event(tenant=clinic.tenant, actor=SCHEDULER, event_id=kept.id)
    assert retried.status == EventStatus.ACCEPTED and retried.retry_of_id == kept.id
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and balance(package) == (0, 0, 5)
    assert Redemption.objects.get(appointment=appointment).voided_at is not None
    assert selectors.view(appointment).amount_to_collect == 0
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- refusals are kept for review


def test_an_event_for_an_unknown_patient_or_service_is_refused_and_kept_then_retried():
    clinic = Clinic.open()
    _setup(clinic)
    payload = {
        "event_id": "evt-1",
        "external_id": "APT-20",
        "status": "booked",
        "patient": "P-4040",
        "service": "physio",
        "centre": "bandra",
        "start": "2026-03-10T10:00:00+05:30",
    }
    with pytest.raises(InvalidInput) as refused:
        ingest_event(tenant=clinic.tenant, actor=SCHEDULER, payload=payload)
    error = refused.value
    assert (error.code, error.field) == ("unknown_reference", "patient") and "P-4040" in error.message
    kept = AppointmentEvent.objects.get(pk=error.context["event_id"])
    assert (kept.status, kept.error_code, kept.payload) == (EventStatus.REJECTED, "unknown_reference", payload)
    assert not Appointment.objects.filter(tenant=clinic.tenant).exists()
    assert list(selectors.events(clinic.tenant, status="rejected")) == [kept]

    with pytest.raises(InvalidInput) as unknown_service:
        ingest_fhir(tenant=clinic.tenant, actor=SCHEDULER, resource=r4_appointment(id="APT-21", service="reiki"))
    assert (unknown_service.value.code, unknown_service.value.field) == ("unknown_reference", "service")

    # A malformed body is kept too.
    with pytest.raises(InvalidInput):
        ingest_fhir(tenant=clinic.tenant, actor=SCHEDULER, resource={"resourceType": "Appointment", "status": 7})
    assert AppointmentEvent.objects.filter(tenant=clinic.tenant, status="rejected").count() == 3

    # The patient is registered; the kept event goes through on retry, and only once.
    tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="P-4040", name="Late Entry")
    retried = retry_event(tenant=clinic.tenant, actor=SCHEDULER, event_id=kept.id)
    assert retried.status == EventStatus.ACCEPTED and retried.appointment.external_id == "APT-20"
    assert ingest_event(tenant=clinic.tenant, actor=SCHEDULER, payload=payload).status == EventStatus.DUPLICATE
    with pytest.raises(InvalidInput):
        retry_event(tenant=clinic.tenant, actor=SCHEDULER, event_id=retried.id)
    assert_reconciled(clinic.tenant)


def test_a_moved_start_reschedules_and_a_move_past_expiry_is_refused_and_kept():
    clinic = Clinic.open()
    _, _, package = _setup(clinic)
    _fhir(clinic, r4_appointment(version="1", start="2026-03-10T10:00:00+05:30", end="2026-03-10T10:45:00+05:30"))
    moved = _fhir(
        clinic,
        r4_appointment(
            version="2",
            start="2026-03-12T10:00:00+05:30",
            end="2026-03-12T10:45:00+05:30",
            last_updated="2026-03-02T10:00:00+05:30",
        ),
    )
    assert "rescheduled" in moved.outcome
    appointment = Appointment.objects.get(tenant=clinic.tenant, external_id="APT-77")
    assert Hold.objects.get(appointment=appointment, state=HoldState.PENDING).day == dt.date(2026, 3, 12)

    with pytest.raises(Conflict) as refused:
        _fhir(
            clinic,
            r4_appointment(
                version="3",
                start="2026-04-12T10:00:00+05:30",
                end="2026-04-12T10:45:00+05:30",
                last_updated="2026-03-03T10:00:00+05:30",
            ),
        )
    assert refused.value.code == "reschedule_refused"
    appointment.refresh_from_db()
    assert appointment.start == dt.datetime.fromisoformat("2026-03-12T10:00:00+05:30")
    assert Hold.objects.get(appointment=appointment, state=HoldState.PENDING).day == dt.date(2026, 3, 12)
    assert AppointmentEvent.objects.get(pk=refused.value.context["event_id"]).error_code == "reschedule_refused"
    assert balance(package) == (0, 1, 4)
    assert_reconciled(clinic.tenant)


def test_an_automatic_no_show_uses_the_tenants_default_fee():
    clinic = Clinic.open()
    _, _, package = _setup(clinic)
    appointments.configure_no_show_fees(
        tenant=clinic.tenant,
        actor=ADMIN,
        default_option="fee",
        fees=[{"code": "missed", "name": "Missed appointment", "amount": 40000}],
    )
    _fhir(clinic, r4_appointment(version="1"))
    event = _fhir(clinic, r4_appointment(version="2", status="noshow", last_updated="2026-03-10T12:00:00+05:30"))
    appointment = event.appointment
    appointment.refresh_from_db()
    assert (appointment.status, appointment.no_show_choice) == ("noshow", "fee")
    assert balance(package) == (0, 0, 5)
    assert selectors.view(appointment).amount_to_collect == 40000
    # The patient turned up late after all: the scheduler says arrived; the fee goes, the session is used.
    _fhir(clinic, r4_appointment(version="3", status="arrived", last_updated="2026-03-10T12:30:00+05:30"))
    appointment.refresh_from_db()
    assert appointment.status == "arrived" and balance(package) == (1, 0, 4)
    assert selectors.view(appointment).amount_to_collect == 20000  # the co-pay only
    assert_reconciled(clinic.tenant)
