"""The outbox: every domain event is a row written in the transaction of its change (commit or roll back
together), the events the issue lists are recorded by the services that own them, and the events API
lets an integrator catch up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from punchcard import clock
from punchcard.appointments.services import book_appointment, record_no_show
from punchcard.billing import services as billing
from punchcard.domain.errors import DomainError
from punchcard.notifications.models import Delivery, OutboxEvent
from punchcard.packages import services as packages

from ..api.conftest import ADMIN
from ..scenario import assert_reconciled
from .test_webhooks import register


def types(tenant) -> list[str]:
    return list(OutboxEvent.objects.filter(tenant=tenant).order_by("id").values_list("type", flat=True))


def test_a_change_and_its_event_roll_back_together(clinic, data, admin):
    register(admin, "https://hooks.example.com/x", types=["*"])
    before = (OutboxEvent.objects.count(), Delivery.objects.count(), DBTaskResult.objects.count())

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        clinic.redeem(data["package"], "physio")
        assert OutboxEvent.objects.filter(type="redemption.created").exists()  # written in the transaction
        raise Undo
    assert (OutboxEvent.objects.count(), Delivery.objects.count(), DBTaskResult.objects.count()) == before
    with pytest.raises(DomainError):
        clinic.redeem(data["package"], "physio", sessions=99)  # a refused service leaves no event
    assert (OutboxEvent.objects.count(), Delivery.objects.count(), DBTaskResult.objects.count()) == before

    redemption = clinic.redeem(data["package"], "physio")
    row = OutboxEvent.objects.get(type="redemption.created", payload__redemption_id=redemption.id)
    assert row.event_id.startswith("evt_") and row.version == 1 and row.tenant_id == clinic.tenant.id
    assert Delivery.objects.filter(event=row).count() == 1  # and its delivery, in the same transaction


def test_sale_use_and_exhaustion_tell_their_events(clinic):
    plan = clinic.plan("three", price=300000, lines=[clinic.line("physio", sessions=3)])
    package = clinic.sell(plan)
    assert types(clinic.tenant)[-2:] == ["package.sold", "package.activated"]  # it starts at once
    clinic.redeem(package, "physio")  # 2 left: the default threshold
    clinic.redeem(package, "physio")  # 1 left: already told
    clinic.redeem(package, "physio")  # none left
    told = [t for t in types(clinic.tenant) if t.startswith("package.")]
    assert told == ["package.sold", "package.activated", "package.low_balance", "package.exhausted"]
    low = OutboxEvent.objects.get(type="package.low_balance")
    assert low.payload | {"plan_name": "Three"} == low.payload and low.payload["remaining"] == 2
    assert low.payload["threshold"] == 2 and low.payload["package_id"] == package.id
    assert_reconciled(clinic.tenant)


def test_a_future_start_is_activated_on_its_day_once(clinic):
    plan = clinic.plan("later", price=100000, lines=[clinic.line("physio", sessions=2)])
    package = clinic.sell(plan, start_date=dt.date(2026, 3, 10))
    assert "package.activated" not in types(clinic.tenant)
    clock.set_now(dt.datetime(2026, 3, 9, 23, 0, tzinfo=dt.UTC))  # 10 March 04:30 in Mumbai
    assert packages.tell_due_notices(tenant=clinic.tenant) == 1
    assert packages.tell_due_notices(tenant=clinic.tenant) == 0
    row = OutboxEvent.objects.get(type="package.activated")
    assert row.payload["package_id"] == package.id and row.payload["start_date"] == "2026-03-10"


def test_refund_and_no_show_are_told(clinic, data):
    billing.refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=data["shared"].id, reason="moved")
    refund = OutboxEvent.objects.get(type="refund.created")
    assert refund.payload["package_id"] == data["shared"].id and refund.payload["to"] == "credit"
    appointment = book_appointment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        external_id="appt-1",
        patient_id=clinic.asha.id,
        service_id=clinic.services["physio"].id,
        centre_id=clinic.centre.id,
        start=clinic.now + dt.timedelta(hours=2),
    )
    clock.set_now(clinic.now + dt.timedelta(hours=4))
    record_no_show(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, option="redeem")
    no_show = OutboxEvent.objects.get(type="appointment.no_show")
    assert no_show.payload["appointment_id"] == appointment.id and no_show.payload["option"] == "redeem"
    assert_reconciled(clinic.tenant)


def test_events_api_catches_up_with_a_cursor(clinic, data, manager, desk):
    for _ in range(3):
        clinic.redeem(data["package"], "physio")
    first = manager.get("/events", type="redemption.created", limit=2).body
    assert [e["type"] for e in first["items"]] == ["redemption.created"] * 2
    rest = manager.get("/events", type="redemption.created", after=first["next_cursor"]).body
    assert len(rest["items"]) == 1
    every = [e["id"] for e in first["items"] + rest["items"]]
    assert every == list(
        OutboxEvent.objects.filter(type="redemption.created").order_by("id").values_list("event_id", flat=True)
    )  # newest last
    caught_up = manager.get("/events", type="redemption.created", after=rest["next_cursor"]).body
    assert caught_up == {"items": [], "next_cursor": rest["next_cursor"]}  # poll again from the same place
    by_id = manager.get("/events", after=every[0], type="redemption.created").body["items"]
    assert [e["id"] for e in by_id] == every[1:]  # an event id works as a cursor too
    one = desk.get(f"/events/{every[0]}")
    assert one.status == 200 and one.body["data"]["package_id"] == data["package"].id
    assert desk.get("/events/evt_nope").status == 404
    assert manager.get("/events", after="garbage").status == 422


def test_reminder_settings_over_the_api(clinic, admin, manager):
    assert admin.get("/reminder-settings").body == {
        "days_before_expiry": [14, 3],
        "low_balance_sessions": 2,
        "email_events": [
            "package.expiring_soon",
            "package.low_balance",
            "membership.payment_failed",
            "membership.renewal_upcoming",
        ],
    }
    assert manager.put("/reminder-settings", {"low_balance_sessions": 1}).status == 403
    changed = admin.put("/reminder-settings", {"days_before_expiry": [7, 30], "email_events": ["package.sold"]})
    assert changed.body == {"days_before_expiry": [30, 7], "low_balance_sessions": 2, "email_events": ["package.sold"]}
    bad = admin.put("/reminder-settings", {"days_before_expiry": [0]})
    assert (bad.status, bad.body["field"]) == (422, "days_before_expiry")
    bad = admin.put("/reminder-settings", {"email_events": ["redemption.created"]})
    assert (bad.status, bad.body["field"]) == (422, "email_events[0]")  # refused by the schema, naming the item
    assert packages.reminder_settings(clinic.tenant) == ((30, 7), 2)


def test_a_tenant_never_sees_another_tenants_events(clinic, data, manager):
    from ..clinic import Clinic

    other = Clinic.open()
    other.plan("x", price=1000, lines=[other.line("physio", sessions=1)])
    theirs = OutboxEvent.objects.filter(tenant=other.tenant).first()
    assert theirs is not None
    assert manager.get(f"/events/{theirs.event_id}").status == 404
    assert theirs.event_id not in {e["id"] for e in manager.get("/events", limit=500).body["items"]}


def test_reminder_settings_changes_are_audited(clinic):
    from punchcard.tenancy.models import AuditEvent

    packages.set_reminder_settings(tenant=clinic.tenant, actor=ADMIN, days_before_expiry=[5], now=clinic.now)
    assert packages.reminder_settings(clinic.tenant) == ((5,), 2)
    audit = AuditEvent.objects.filter(tenant=clinic.tenant, action="reminders.settings").get()
    assert audit.data == {"days_before_expiry": [5], "low_balance_sessions": 2}
