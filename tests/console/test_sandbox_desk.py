"""The desk of a sandbox tenant works on its test clock for the rest of the request."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from punchcard import clock
from punchcard.console.access import desk_of
from punchcard.domain.roles import Actor, Role
from punchcard.tenancy.services import create_staff_member

from ..clinic import Clinic, local

pytestmark = pytest.mark.django_db


def test_a_sandboxs_desk_enters_its_clock():
    sandbox = Clinic.open(now=local(2026, 3, 1, 10), sandbox=True)
    admin = Actor(label="test-admin", role=Role.ADMIN, source="tests")
    member = create_staff_member(
        tenant=sandbox.tenant, actor=admin, name="Mira", role=Role.FRONT_DESK, email="mira@sandbox.example",
        password="a long sandbox password 1",
    )  # fmt: skip
    request = RequestFactory().get("/")
    request.user, request.session = member.user, {}
    clock.set_now(None)
    try:
        assert desk_of(request).tenant == sandbox.tenant
        assert clock.now() == local(2026, 3, 1, 10)
    finally:
        clock.reset_tenant_time()  # what the middleware does at the request's end
    assert clock.tenant_instant() is None
