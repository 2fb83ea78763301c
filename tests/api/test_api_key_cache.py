"""A process remembers an API key for a few seconds: the key is read once per window, a revocation made
elsewhere takes effect within the window, one made here at once, and the secret is checked every time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from punchcard import clock
from punchcard.tenancy import keycache
from punchcard.tenancy.models import ApiKey, Role
from punchcard.tenancy.onboarding import update_tenant
from punchcard.tenancy.services import revoke_api_key

from .conftest import ADMIN, Api

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def wall(monkeypatch):
    """The machine's real time, as the cache reads it, moved by hand."""
    now = [START]
    monkeypatch.setattr(clock, "wall", lambda: now[0])
    return now


def key_reads(api: Api) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/me").status == 200
    return sum('"tenancy_apikey"' in q["sql"] and q["sql"].startswith("SELECT") for q in ctx.captured_queries)


def test_a_key_is_read_once_per_window(clinic, keys, wall, settings):
    settings.API_KEY_CACHE_SECONDS = 5
    desk = Api(keys[Role.FRONT_DESK])
    assert key_reads(desk) == 1
    wall[0] = START + dt.timedelta(seconds=4.9)
    assert key_reads(desk) == 0
    wall[0] = START + dt.timedelta(seconds=5)
    assert key_reads(desk) == 1  # the window is over: read again


def test_a_key_revoked_by_another_process_stops_working_within_the_window(clinic, keys, wall, settings):
    settings.API_KEY_CACHE_SECONDS = 5
    secret = keys[Role.MANAGER]
    manager = Api(secret)
    assert manager.get("/me").status == 200
    # Another process (a second server, `punchcard apikey revoke`) revokes it: this one is not told.
    ApiKey.objects.filter(prefix=secret[:11]).update(revoked_at=clock.now())
    wall[0] = START + dt.timedelta(seconds=3)
    assert manager.get("/me").status == 200  # still remembered: the documented window
    wall[0] = START + dt.timedelta(seconds=5)
    assert manager.get("/me").status == 401


def test_a_key_revoked_in_this_process_stops_working_at_once(clinic, keys, wall):
    secret = keys[Role.MANAGER]
    assert Api(secret).get("/me").status == 200
    revoke_api_key(tenant=clinic.tenant, actor=ADMIN, prefix=secret[:11])
    assert Api(secret).get("/me").status == 401


def test_the_secret_is_checked_on_every_request(clinic, keys, wall):
    secret = keys[Role.FRONT_DESK]
    assert Api(secret).get("/me").status == 200
    wrong = secret[:11] + "_" + "x" * (len(secret) - 12)
    assert Api(wrong).get("/me").status == 401


def test_a_tenant_change_here_is_seen_at_once(clinic, keys, wall):
    desk = Api(keys[Role.FRONT_DESK])
    assert desk.get("/me").status == 200
    update_tenant(tenant=clinic.tenant, actor=ADMIN, name="Sunrise Physio & Rehab")
    assert keycache.remembered(keys[Role.FRONT_DESK][:11]) is None


def test_each_request_gets_its_own_tenant_object(clinic, keys, wall):
    prefix = keys[Role.FRONT_DESK][:11]
    Api(keys[Role.FRONT_DESK]).get("/me")
    first, second = keycache.remembered(prefix), keycache.remembered(prefix)
    assert first.tenant == second.tenant and first.tenant is not second.tenant
    first.tenant._account_ids = {"cash": 1}  # what one request caches on its tenant stays its own
    assert not hasattr(keycache.remembered(prefix).tenant, "_account_ids")


def test_zero_turns_the_cache_off(clinic, keys, wall, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    desk = Api(keys[Role.FRONT_DESK])
    assert key_reads(desk) == 1
    assert key_reads(desk) == 1
