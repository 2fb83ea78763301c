"""An admin runs the clinic's setup through the API alone: settings, centres, staff and roles, API keys."""

from __future__ import annotations

import pytest
from django.test import Client

from punchcard.tenancy.models import ApiKey, AuditEvent, StaffMember

from .conftest import Api

pytestmark = pytest.mark.django_db


def test_settings_and_centres(clinic, admin):
    shown = admin.get("/tenant")
    assert shown.status == 200 and shown.body["slug"] == clinic.tenant.slug and shown.body["sandbox"] is False
    changed = admin.patch("/tenant", {"name": "Sunrise Physio", "time_zone": "Asia/Kolkata", "locale": "en-IN"})
    assert changed.status == 200, changed.body
    assert (changed.body["name"], changed.body["time_zone"], changed.body["locale"]) == (
        "Sunrise Physio",
        "Asia/Kolkata",
        "en_IN",
    )
    assert admin.get("/me").body["tenant"]["name"] == "Sunrise Physio"
    bad = admin.patch("/tenant", {"time_zone": "Mars/Olympus"})
    assert (bad.status, bad.body["field"]) == (422, "time_zone")
    extra = admin.patch("/tenant", {"currency": "USD"})
    assert (extra.status, extra.body["field"]) == (422, "currency")  # the currency never changes
    renamed = admin.patch(f"/centres/{clinic.centre.id}", {"name": "Bandra West", "timezone": "Asia/Kolkata"})
    assert (renamed.status, renamed.body["name"], renamed.body["code"]) == (200, "Bandra West", "bandra")
    assert admin.patch("/centres/999999", {"name": "x"}).status == 404
    assert AuditEvent.objects.filter(tenant=clinic.tenant, action__in=["tenant.update", "centre.update"]).count() == 2


def test_staff_hired_promoted_and_deactivated_through_the_api(clinic, admin):
    hired = admin.post(
        "/staff", {"name": "Meera", "role": "front_desk", "email": "meera@clinic.example", "password": "long enough pw"}
    )
    assert hired.status == 201, hired.body
    assert (hired.body["username"], hired.body["role"], hired.body["active"]) == (
        "meera@clinic.example",
        "front_desk",
        True,
    )
    client = Client()
    assert client.login(username="meera@clinic.example", password="long enough pw")
    assert client.get("/api/v1/me").json()["role"] == "front_desk"

    promoted = admin.patch(f"/staff/{hired.body['id']}", {"role": "manager"})
    assert (promoted.status, promoted.body["role"]) == (200, "manager")
    assert client.get("/api/v1/me").json()["role"] == "manager"  # from the next request on
    listed = admin.get("/staff").body["items"]
    assert any(m["username"] == "meera@clinic.example" and m["role"] == "manager" for m in listed)

    left = admin.post(f"/staff/{hired.body['id']}/deactivate", {"reason": "moved to Pune"})
    assert (left.status, left.body["active"]) == (200, False)
    assert client.get("/api/v1/me").status_code == 401
    assert not Client().login(username="meera@clinic.example", password="long enough pw")
    assert AuditEvent.objects.get(action="staff.deactivate").reason == "moved to Pune"


def test_staff_bad_input_writes_nothing(clinic, admin):
    before = StaffMember.objects.count()
    weak = admin.post("/staff", {"name": "X", "role": "admin", "email": "x@clinic.example", "password": "short"})
    assert (weak.status, weak.body["field"]) == (422, "password")
    role = admin.post("/staff", {"name": "X", "role": "owner"})
    assert (role.status, role.body["field"]) == (422, "role")
    email = admin.post("/staff", {"name": "X", "role": "admin", "email": "not an email"})
    assert (email.status, email.body["field"]) == (422, "email")
    assert StaffMember.objects.count() == before
    admin.post("/staff", {"name": "Y", "role": "admin", "email": "y@clinic.example"})
    again = admin.post("/staff", {"name": "Y", "role": "admin", "email": "y@clinic.example"})
    assert (again.status, again.body["code"], again.body["field"]) == (409, "duplicate_code", "username")


def test_an_admin_cannot_deactivate_or_demote_themself(clinic, admin):
    admin.post(
        "/staff", {"name": "Boss", "role": "admin", "email": "boss@clinic.example", "password": "long enough pw"}
    )
    client = Client()
    assert client.login(username="boss@clinic.example", password="long enough pw")
    me = StaffMember.objects.get(user__username="boss@clinic.example")
    own = client.post(f"/api/v1/staff/{me.id}/deactivate", {"reason": "oops"}, content_type="application/json")
    assert own.status_code == 409, own.content
    demote = client.patch(f"/api/v1/staff/{me.id}", {"role": "manager"}, content_type="application/json")
    assert demote.status_code == 409
    me.refresh_from_db()
    assert (me.active, me.role) == (True, "admin")


def test_api_keys_created_listed_and_revoked_through_the_api(clinic, admin):
    created = admin.post("/api-keys", {"name": "scheduler", "role": "front_desk"})
    assert created.status == 201, created.body
    secret, prefix = created.body["secret"], created.body["prefix"]
    assert secret.startswith(prefix + "_")
    assert Api(secret).get("/me").body["role"] == "front_desk"
    listed = admin.get("/api-keys")
    assert listed.status == 200
    row = next(k for k in listed.body["items"] if k["prefix"] == prefix)
    assert "secret" not in row and "digest" not in row and secret not in str(listed.body)
    revoked = admin.post(f"/api-keys/{prefix}/revoke")
    assert revoked.status == 200 and revoked.body["revoked_at"]
    assert Api(secret).get("/me").status == 401
    assert ApiKey.objects.get(prefix=prefix).revoked_at is not None
    assert admin.post("/api-keys/pc_00000000/revoke").status == 404
    assert admin.post("/api-keys/nonsense/revoke").status == 422
    bad = admin.post("/api-keys", {"name": "x", "role": "root"})
    assert (bad.status, bad.body["field"]) == (422, "role")
