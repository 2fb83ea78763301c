"""API keys and staff sessions: who may call, as whom, and what gets recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from punchcard import clock
from punchcard.tenancy.models import ApiKey, AuditEvent, Role
from punchcard.tenancy.services import create_staff_member, revoke_api_key

from .conftest import ADMIN, Api, api_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only: speed


def test_a_key_acts_for_its_tenant_and_role_and_is_recorded(clinic, data, keys):
    desk = Api(keys[Role.FRONT_DESK])
    key = ApiKey.objects.get(tenant=clinic.tenant, role=Role.FRONT_DESK)
    created = desk.post("/patients", {"external_ref": "K-1", "name": "Via key"})
    assert created.status == 201
    event = AuditEvent.objects.get(action="patient.create", subject_id=created.body["id"])
    assert event.actor == f"apikey:{key.prefix} (front_desk key)"
    assert event.source == f"apikey:{key.prefix}"


def test_last_used_at_is_stamped_at_most_once_per_window(clinic, keys):
    desk = Api(keys[Role.FRONT_DESK])
    key = ApiKey.objects.get(tenant=clinic.tenant, role=Role.FRONT_DESK)
    assert key.last_used_at is None
    desk.get("/me")
    key.refresh_from_db()
    first = key.last_used_at
    assert first == clock.now()
    with clock.frozen_at(first + dt.timedelta(minutes=1)):
        desk.get("/me")
    key.refresh_from_db()
    assert key.last_used_at == first
    with clock.frozen_at(first + dt.timedelta(minutes=6)):
        desk.get("/me")
    key.refresh_from_db()
    assert key.last_used_at == first + dt.timedelta(minutes=6)


def test_revoked_and_malformed_credentials_are_401(clinic, keys):
    secret = keys[Role.MANAGER]
    revoke_api_key(tenant=clinic.tenant, actor=ADMIN, prefix=secret[:11])
    assert Api(secret).get("/me").status == 401
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", secret, f"Bearer {secret}x"):
        reply = Api(None).call("GET", "/me", headers={"Authorization": header})
        assert (reply.status, reply.body["code"]) == (401, "unauthenticated"), header


def staff_login(clinic, *, role=Role.FRONT_DESK, csrf: bool = False) -> tuple[Client, object]:
    member = create_staff_member(
        tenant=clinic.tenant,
        actor=ADMIN,
        name="Sunita",
        role=role,
        username=f"sunita-{role}",
        password="correct horse battery",
    )
    client = Client(enforce_csrf_checks=csrf)
    assert client.login(username=f"sunita-{role}", password="correct horse battery")
    return client, member


def test_a_staff_session_acts_as_the_staff_member(clinic, data):
    client, member = staff_login(clinic, role=Role.MANAGER)
    api = Api(None, client=client)
    me = api.get("/me").body
    assert (me["actor"], me["role"], me["staff_id"]) == (f"staff:{member.id} Sunita", "manager", member.id)
    redemption = clinic.redeem(data["package"], "physio")
    voided = api.post(f"/redemptions/{redemption.id}/void", {"reason": "wrong patient"})
    assert voided.status == 200
    # The approver is the acting staff member.
    assert voided.body["void_approver"] == {"id": member.id, "name": "Sunita"}
    assert voided.body["voided_by"] == f"staff:{member.id} Sunita"


def test_unsafe_session_requests_need_the_csrf_token(clinic):
    client, _ = staff_login(clinic, csrf=True)
    api = Api(None, client=client)
    assert api.get("/me").status == 200  # safe methods need no token
    refused = api.post("/patients", {"external_ref": "S-1", "name": "No token"})
    assert (refused.status, refused.body["code"]) == (403, "forbidden")
    assert "CSRF" in refused.body["detail"]
    client.get("/admin/login/")  # any page that sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = api.post("/patients", {"external_ref": "S-1", "name": "With token"}, headers={"X-CSRFToken": token})
    assert accepted.status == 201


def test_a_login_without_an_active_staff_member_is_401(clinic):
    from django.contrib.auth.models import User

    User.objects.create_user(username="visitor", password="pw-visitor-123")
    client = Client()
    client.login(username="visitor", password="pw-visitor-123")
    assert Api(None, client=client).get("/me").status == 401
    client, member = staff_login(clinic)
    member.active = False
    member.save()
    assert Api(None, client=client).get("/me").status == 401


def test_a_bearer_key_wins_over_a_session_and_a_bad_one_does_not_fall_back(clinic):
    client, _ = staff_login(clinic)
    secret = api_key(clinic, Role.ACCOUNTANT)
    assert Api(secret, client=client).get("/me").body["role"] == "accountant"
    assert Api("pc_00000000_forged-forged-forged-forged", client=client).get("/me").status == 401
