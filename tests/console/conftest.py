"""The console's view tests: the demo clinic, and a Django test client logged in as one of its staff."""

from __future__ import annotations

import pytest
from django.test import Client

from punchcard.cli.demo import build_demo
from punchcard.tenancy.models import StaffMember

PASSWORD = "console-view-test-password-1"


@pytest.fixture
def demo(db):
    built = build_demo()
    for member in StaffMember.objects.filter(tenant=built.tenant, user__isnull=False).select_related("user"):
        member.user.set_password(PASSWORD)
        member.user.save(update_fields=["password"])
    return built


@pytest.fixture
def as_staff(demo):
    """as_staff("meera") → a client logged in as that demo login."""

    def client_for(username: str) -> Client:
        client = Client()
        assert client.login(username=username, password=PASSWORD)
        return client

    return client_for
