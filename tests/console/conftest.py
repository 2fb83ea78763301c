"""Fixtures for the console's view tests: the demo clinic at a fixed instant, and logged-in clients per role."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from punchcard import clock
from punchcard.cli.demo import KOLKATA, build_demo
from punchcard.tenancy.models import StaffMember

# 20 May 2026, 9:00 in Mumbai: the demo's day at Bandra has four appointments still to come.
NOW = dt.datetime(2026, 5, 20, 9, 0, tzinfo=KOLKATA)


@pytest.fixture
def frozen():
    clock.set_now(NOW)
    yield NOW
    clock.set_now(None)


@pytest.fixture
def demo(db, frozen):
    return build_demo(NOW)


@pytest.fixture
def as_role(demo):
    """as_role("dev") → a test client logged in as that demo staff member."""

    def client_for(key: str) -> Client:
        client = Client()
        client.force_login(demo.staff[key].user)
        return client

    return client_for


PASSWORD = "console-view-test-password-1"


@pytest.fixture
def as_staff(demo):
    """as_staff("meera") → a client logged in with the demo login's password (through the login throttle)."""
    for member in StaffMember.objects.filter(tenant=demo.tenant, user__isnull=False).select_related("user"):
        member.user.set_password(PASSWORD)
        member.user.save(update_fields=["password"])

    def client_for(username: str) -> Client:
        client = Client()
        assert client.login(username=username, password=PASSWORD)
        return client

    return client_for
