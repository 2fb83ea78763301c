"""Domain events: recorded in the service's transaction, heard inside it or only after it commits."""

from __future__ import annotations

import pytest
from django.db import transaction

from punchcard import events
from punchcard.domain.errors import DomainError
from punchcard.tenancy.models import AuditEvent

from ..clinic import Clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Every event, as in-transaction listeners and after-commit listeners hear it."""
    log = {"recorded": [], "committed": []}

    def recorded(event):
        log["recorded"].append(event)

    def committed(event):
        log["committed"].append(event)

    events.on(events.ANY, recorded, when=events.RECORDED)
    events.on(events.ANY, committed)
    yield log
    events.off(events.ANY, recorded, when=events.RECORDED)
    events.off(events.ANY, committed)


def _package(clinic):
    plan = clinic.plan("physio-5", price=500000, lines=[clinic.line("physio", sessions=5)])
    return clinic.sell(plan, patient=clinic.asha)


@pytest.mark.django_db(transaction=True)  # no test transaction around it: autocommit, as outside a service
def test_an_event_is_refused_outside_a_transaction(heard):
    clinic = Clinic.open()
    with pytest.raises(RuntimeError, match="outside a transaction"):
        events.record("test.happened", tenant=clinic.tenant)
    assert [e.type for e in heard["recorded"]].count("test.happened") == 0


def test_a_redemption_is_heard_in_its_transaction_and_delivered_after_commit(heard, django_capture_on_commit_callbacks):
    clinic = Clinic.open()
    package = _package(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        redemption = clinic.redeem(package, "physio")
    created = [e for e in heard["committed"] if e.type == "redemption.created"]
    assert len(created) == 1
    event = created[0]
    assert event.id.startswith("evt_") and event.tenant_id == clinic.tenant.id and event.version == 1
    assert event.payload == {
        "redemption_id": redemption.id,
        "package_id": package.id,
        "line_id": redemption.line_id,
        "patient_id": clinic.asha.id,
        "service_id": clinic.services["physio"].id,
        "centre_id": clinic.centre.id,
        "appointment_id": None,
        "sessions": 1,
        "day": redemption.day.isoformat(),
        "value": 100000,
    }
    # The same event object was heard inside the transaction first.
    assert event in heard["recorded"]


def test_a_rolled_back_change_delivers_nothing_and_its_listeners_writes_roll_back_with_it(
    heard, django_capture_on_commit_callbacks
):
    clinic = Clinic.open()
    package = _package(clinic)
    audits = AuditEvent.objects.count()

    def audit_in_the_transaction(event):
        AuditEvent.objects.create(
            tenant=event.tenant, at=event.occurred_at, action="test.heard", actor="test", subject_type="x", subject_id=1
        )

    events.on("redemption.created", audit_in_the_transaction, when=events.RECORDED)
    try:
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(DomainError),
            transaction.atomic(),
        ):
            clinic.redeem(package, "physio")
            raise DomainError("the desk changed its mind")
    finally:
        events.off("redemption.created", audit_in_the_transaction, when=events.RECORDED)
    assert callbacks == []
    assert [e.type for e in heard["committed"]] == []
    assert AuditEvent.objects.count() == audits  # the listener's row went with the rollback


def test_a_refused_service_records_no_event(heard):
    clinic = Clinic.open()
    package = _package(clinic)
    before = len(heard["recorded"])
    with pytest.raises(DomainError):
        clinic.redeem(package, "physio", sessions=6)  # five sessions only
    assert heard["recorded"][before:] == []


def test_a_failing_after_commit_listener_does_not_keep_the_event_from_the_others(
    heard, django_capture_on_commit_callbacks
):
    clinic = Clinic.open()
    package = _package(clinic)

    def broken(event):
        raise RuntimeError("a webhook endpoint is down")

    events.on("redemption.created", broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            clinic.redeem(package, "physio")
    finally:
        events.off("redemption.created", broken)
    assert [e.type for e in heard["committed"]].count("redemption.created") == 1
