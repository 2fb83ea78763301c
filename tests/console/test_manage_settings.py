"""The admin's and accountant's settings pages through Django's test client: webhook endpoints (the secret
shown once, rotate, delete, deliveries and replay), accounting periods (close an ended month; refusals), and
staff administration (change a role, deactivate; an admin cannot demote or deactivate themself)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model

from punchcard.ledger.models import AccountingPeriod
from punchcard.notifications.models import Attempt, Delivery, DeliveryState, OutboxEvent, WebhookEndpoint
from punchcard.tenancy.models import AuditEvent, StaffMember

from ..scenario import assert_reconciled
from .conftest import NOW

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")


def _member(demo, key: str) -> StaffMember:
    return StaffMember.objects.get(pk=demo.staff[key].pk)


# ---------------------------------------------------------------- webhook endpoints


def test_an_endpoint_is_added_with_its_secret_shown_once_rotated_and_deleted(demo, as_staff):
    admin = as_staff("sameer")
    assert admin.get("/manage/webhooks/").status_code == 200
    made = admin.post(
        "/manage/webhooks/new/",
        {"url": "https://hooks.example.com/clinic", "description": "Front office", "event_types": ["package.sold"]},
    )
    page = made.content.decode()
    endpoint = WebhookEndpoint.objects.get(tenant=demo.tenant, url="https://hooks.example.com/clinic")
    assert made.status_code == 200 and endpoint.event_types == ["package.sold"]
    assert SECRET.search(page).group() == endpoint.secret and "Copy it now" in page
    listed = admin.get("/manage/webhooks/").content.decode()
    assert "https://hooks.example.com/clinic" in listed and endpoint.secret not in listed

    old = endpoint.secret
    rotated = admin.post(f"/manage/webhooks/{endpoint.id}/rotate/").content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert SECRET.search(rotated).group() == endpoint.secret
    assert endpoint.secret not in admin.get("/manage/webhooks/").content.decode()

    gone = admin.post(f"/manage/webhooks/{endpoint.id}/delete/", follow=True)
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is not None and "hooks.example.com/clinic" not in gone.content.decode()
    assert admin.get(f"/manage/webhooks/{endpoint.id}/deliveries/").status_code == 404
    assert_reconciled()


def test_a_refused_endpoint_names_its_field_and_writes_nothing(demo, as_staff):
    admin = as_staff("sameer")
    bad_url = admin.post("/manage/webhooks/new/", {"url": "ftp://example.com/x", "event_types": ["*"]})
    assert bad_url.status_code == 422 and 'id="p-url-error"' in bad_url.content.decode()
    assert "http:// or https://" in bad_url.content.decode()
    no_events = admin.post("/manage/webhooks/new/", {"url": "https://hooks.example.com/x"})
    assert no_events.status_code == 422 and 'id="p-event_types-error"' in no_events.content.decode()
    assert not WebhookEndpoint.objects.filter(tenant=demo.tenant).exists()
    # A manager is not an admin: no page, no link, and a forged POST is refused with nothing written.
    manager = as_staff("meera")
    assert manager.get("/manage/webhooks/").status_code == 403
    assert "/manage/webhooks/" not in manager.get("/manage/reports/").content.decode()
    forged = manager.post("/manage/webhooks/new/", {"url": "https://hooks.example.com/x", "event_types": ["*"]})
    assert forged.status_code == 403 and not WebhookEndpoint.objects.filter(tenant=demo.tenant).exists()


def test_an_endpoints_deliveries_are_listed_and_one_is_replayed(demo, as_staff):
    admin = as_staff("sameer")
    admin.post("/manage/webhooks/new/", {"url": "https://hooks.example.com/log", "event_types": ["*"]})
    endpoint = WebhookEndpoint.objects.get(tenant=demo.tenant)
    # What the worker leaves after a failed attempt (the sending itself is tested in tests/notifications).
    event = OutboxEvent.objects.filter(tenant=demo.tenant).order_by("id").first()
    delivery = Delivery.objects.create(
        tenant=demo.tenant, endpoint=endpoint, event=event, state=DeliveryState.FAILED, attempts=1, next_attempt_at=NOW
    )
    Attempt.objects.create(
        tenant=demo.tenant,
        delivery=delivery,
        number=1,
        at=NOW,
        duration_ms=321,
        status_code=503,
        outcome="retry",
        next_retry_at=NOW + dt.timedelta(minutes=5),
    )
    listed = admin.get("/manage/webhooks/").content.decode()
    assert "retry (503)" in listed
    page = admin.get(f"/manage/webhooks/{endpoint.id}/deliveries/").content.decode()
    assert event.event_id in page and "503" in page and "321 ms" in page and "20 May 2026, 09:05" in page
    replayed = admin.post(f"/manage/deliveries/{delivery.id}/replay/", follow=True)
    delivery.refresh_from_db()
    assert replayed.status_code == 200 and "sent again" in replayed.content.decode()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 0
    assert AuditEvent.objects.filter(tenant=demo.tenant, action="webhook.replay").count() == 1
    # A disabled endpoint's delivery is refused in words, and stays as it was, until it is enabled again.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=NOW, disabled_reason="the receiver answered 410")
    assert "the receiver answered 410" in admin.get("/manage/webhooks/").content.decode()
    disabled = admin.post(f"/manage/deliveries/{delivery.id}/replay/")
    assert disabled.status_code == 422 and "re-enable it to replay" in disabled.content.decode()
    assert AuditEvent.objects.filter(tenant=demo.tenant, action="webhook.replay").count() == 1
    enabled = admin.post(f"/manage/webhooks/{endpoint.id}/enable/", follow=True)
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is None and "deliveries to it resume" in enabled.content.decode()
    assert admin.post(f"/manage/deliveries/{delivery.id}/replay/").status_code == 302
    assert AuditEvent.objects.filter(tenant=demo.tenant, action="webhook.replay").count() == 2
    admin.post(f"/manage/webhooks/{endpoint.id}/delete/")
    refused = admin.post(f"/manage/deliveries/{delivery.id}/replay/")
    assert refused.status_code == 422 and "re-enable it to replay" in refused.content.decode()
    assert AuditEvent.objects.filter(tenant=demo.tenant, action="webhook.replay").count() == 2


# ---------------------------------------------------------------- accounting periods


def test_the_accountant_closes_an_ended_month_and_an_open_one_is_refused(demo, as_staff):
    accountant = as_staff("ritu")
    page = accountant.get("/manage/reports/").content.decode()
    assert "Close April 2026" in page and "Close May 2026" not in page  # May has not ended on 20 May
    closed = accountant.post("/manage/reports/close-period/", {"period": "2026-04"}, follow=True)
    assert closed.status_code == 200 and "Closed" in closed.content.decode() and "2026-04" in closed.content.decode()
    april = AccountingPeriod.objects.get(tenant=demo.tenant, month=dt.date(2026, 4, 1))
    assert "Ritu" in april.closed_by or "staff:" in april.closed_by
    assert "Close April 2026" not in closed.content.decode()
    # Every earlier month closed with it: no gap.
    assert not AccountingPeriod.objects.filter(tenant=demo.tenant, month__gt=dt.date(2026, 4, 1)).exists()
    months = set(AccountingPeriod.objects.filter(tenant=demo.tenant).values_list("month", flat=True))
    assert min(months) <= dt.date(2026, 4, 1) and len(months) == len({m.replace(day=1) for m in months})

    before = AccountingPeriod.objects.filter(tenant=demo.tenant).count()
    refused = accountant.post("/manage/reports/close-period/", {"period": "2026-05"})
    assert refused.status_code == 422 and "2026-05 has not ended" in refused.content.decode()
    assert 'id="period-error"' in refused.content.decode()
    garbled = accountant.post("/manage/reports/close-period/", {"period": "May"})
    assert garbled.status_code == 422 and "YYYY-MM" in garbled.content.decode()
    assert AccountingPeriod.objects.filter(tenant=demo.tenant).count() == before
    assert_reconciled()


def test_a_manager_reads_the_periods_but_cannot_close_one(demo, as_staff):
    manager = as_staff("meera")
    page = manager.get("/manage/reports/").content.decode()
    assert "Accounting periods" in page and "Close April 2026" not in page
    forged = manager.post("/manage/reports/close-period/", {"period": "2026-04"})
    assert forged.status_code == 403 and not AccountingPeriod.objects.filter(tenant=demo.tenant).exists()


# ---------------------------------------------------------------- staff administration


def test_the_admin_changes_a_role_and_deactivates_a_login(demo, as_staff):
    admin = as_staff("sameer")
    dev = _member(demo, "dev")
    changed = admin.post(f"/manage/staff/{dev.id}/role/", {"role": "manager"}, follow=True)
    assert changed.status_code == 200 and "Role changed" in changed.content.decode()
    assert _member(demo, "dev").role == "manager"
    assert as_staff("dev").get("/manage/catalogue/").status_code == 200  # the new role applies at once

    farah = _member(demo, "farah")
    desk = as_staff("farah")
    assert desk.get("/").status_code == 200
    no_reason = admin.post(f"/manage/staff/{farah.id}/deactivate/", {"reason": ""})
    assert no_reason.status_code == 422 and _member(demo, "farah").active
    gone = admin.post(f"/manage/staff/{farah.id}/deactivate/", {"reason": "left the clinic"}, follow=True)
    assert "Deactivated" in gone.content.decode()
    assert not _member(demo, "farah").active and not get_user_model().objects.get(username="farah").is_active
    assert desk.get("/").status_code in (302, 403)  # the open session no longer works
    assert not desk.login(username="farah", password="console-view-test-password-1")
    assert_reconciled()


def test_an_admin_cannot_demote_or_deactivate_themself_and_others_cannot_administer(demo, as_staff):
    admin = as_staff("sameer")
    me = _member(demo, "sameer")
    demoted = admin.post(f"/manage/staff/{me.id}/role/", {"role": "front_desk"})
    assert demoted.status_code == 422 and "cannot demote yourself" in demoted.content.decode()
    assert f'id="staff-{me.id}-error"' in demoted.content.decode()
    left = admin.post(f"/manage/staff/{me.id}/deactivate/", {"reason": "testing"})
    assert left.status_code == 422 and "cannot deactivate yourself" in left.content.decode()
    bad_role = admin.post(f"/manage/staff/{_member(demo, 'dev').id}/role/", {"role": "owner"})
    assert bad_role.status_code == 422 and "Role must be one of" in bad_role.content.decode()
    assert _member(demo, "sameer").role == "admin" and _member(demo, "sameer").active
    assert _member(demo, "dev").role == "front_desk"

    manager = as_staff("meera")
    dev = _member(demo, "dev")
    forged = manager.post(f"/manage/staff/{dev.id}/deactivate/", {"reason": "forged"})
    assert forged.status_code == 403 and _member(demo, "dev").active
    assert manager.post(f"/manage/staff/{dev.id}/role/", {"role": "admin"}).status_code == 403
    assert _member(demo, "dev").role == "front_desk"
    assert not AuditEvent.objects.filter(tenant=demo.tenant, action__in=("staff.update", "staff.deactivate")).exists()
