"""Defect 2: a hold or booking dated before today could spend a session of a package that is hard-expired
today, and its recognition was posted months back. Such a date is refused unless a manager back-dates
explicitly with a reason (audited); the posting then never lands in a closed accounting period."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard import clock
from punchcard.appointments.models import Appointment
from punchcard.domain.errors import Forbidden, RuleViolation
from punchcard.domain.roles import Actor
from punchcard.ledger import periods
from punchcard.ledger.models import JournalEntry
from punchcard.packages import services
from punchcard.packages.models import Hold, SessionEntry
from punchcard.tenancy.models import AuditEvent

from ..api.conftest import Api, api_key
from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


@pytest.fixture
def expired():
    """A hard 10-day pack sold on 1 March (last day 10 March); today is 20 March."""
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "ten-days",
        price=100000,
        lines=[clinic.line("physio", sessions=4)],
        expiry={"kind": "after_start", "count": 10, "unit": "days"},
    )
    package = clinic.sell(plan)
    clock.set_now(local(2026, 3, 20, 10))
    yield clinic, package
    clock.set_now(None)


def _hold_body(clinic, day, **extra):
    return {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id, "day": day, **extra}


def test_a_back_dated_hold_on_an_expired_package_is_refused(expired):
    clinic, package = expired
    desk = Api(api_key(clinic, "front_desk"))
    walk_in = desk.post(
        f"/packages/{package.id}/redemptions",
        {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id},
    )
    assert (walk_in.status, walk_in.body["code"]) == (409, "expired")
    entries = SessionEntry.objects.count()
    refused = desk.post(f"/packages/{package.id}/holds", _hold_body(clinic, "2026-03-09"))
    assert (refused.status, refused.body["code"], refused.body["field"]) == (409, "backdated", "day")
    assert "before today (2026-03-20)" in refused.body["detail"]
    # The front desk cannot back-date even with a reason: a manager's call.
    with_reason = desk.post(f"/packages/{package.id}/holds", _hold_body(clinic, "2026-03-09", backdate_reason="late"))
    assert (with_reason.status, with_reason.body["permission"]) == (403, "adjust")
    assert SessionEntry.objects.count() == entries and not Hold.objects.exists()
    assert_reconciled(clinic.tenant)


def test_a_back_dated_booking_is_refused(expired):
    clinic, _ = expired
    desk = Api(api_key(clinic, "front_desk"))
    body = {
        "external_id": "APT-LATE",
        "patient_id": clinic.asha.id,
        "service_id": clinic.services["physio"].id,
        "centre_id": clinic.centre.id,
        "start": "2026-03-19T10:00:00+05:30",
    }
    refused = desk.post("/appointments", body)
    assert (refused.status, refused.body["code"], refused.body["field"]) == (409, "backdated", "start")
    assert not Appointment.objects.exists() and not Hold.objects.exists()
    today = desk.post("/appointments", body | {"external_id": "APT-TODAY", "start": "2026-03-20T18:00:00+05:30"})
    assert today.status == 201 and today.body["package_id"] is None  # expired: booked without the package
    manager = Api(api_key(clinic, "manager"))
    late = manager.post("/appointments", body | {"backdate_reason": "the scheduler was down on the 19th"})
    assert late.status == 201, late.body
    assert AuditEvent.objects.get(action="appointment.book", subject_id=late.body["id"]).reason == (
        "the scheduler was down on the 19th"
    )
    assert_reconciled(clinic.tenant)


def test_a_manager_back_dates_with_a_reason_and_the_posting_avoids_the_closed_period(expired):
    clinic, package = expired
    clock.set_now(local(2026, 4, 3, 10))
    periods.close_period(tenant=clinic.tenant, actor=Actor("accountant", "accountant"), period="2026-03")
    with pytest.raises(RuleViolation):
        clinic.hold(package, "physio", dt.date(2026, 3, 9))
    with pytest.raises(Forbidden):
        clinic.hold(package, "physio", dt.date(2026, 3, 9), backdate_reason="seen, not entered")
    hold = services.place_hold(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        service_id=clinic.services["physio"].id,
        centre_id=clinic.centre.id,
        day=dt.date(2026, 3, 9),
        backdate_reason="seen on 9 March, entered late",
    )
    audit = AuditEvent.objects.get(action="hold.backdate", subject_id=hold.id)
    assert (audit.reason, audit.data) == ("seen on 9 March, entered late", {"day": "2026-03-09", "today": "2026-04-03"})
    last_before = JournalEntry.objects.order_by("-id").values_list("id", flat=True).first()
    redemption = services.post_hold(tenant=clinic.tenant, actor=clinic.manager, hold_id=hold.id)
    entry = JournalEntry.objects.get(event_type="redemption", event_id=redemption.id)
    # Not ten days (or months) back into a closed March: on the first open day, naming its own date.
    assert (entry.date, entry.original_date) == (dt.date(2026, 4, 1), dt.date(2026, 3, 9))
    assert "belongs to 2026-03-09" in entry.memo
    assert not JournalEntry.objects.filter(id__gt=last_before, date__lte=dt.date(2026, 3, 31)).exists()
    assert_reconciled(clinic.tenant)
