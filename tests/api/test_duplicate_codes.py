"""Defect 5: a duplicate centre, service, plan or patient code is a 409 `duplicate_code` with its own title."""

from __future__ import annotations

import pytest

from punchcard.db import unique
from punchcard.domain.errors import CODES, Conflict
from punchcard.tenancy.models import Centre

pytestmark = pytest.mark.django_db


def _assert_duplicate(reply, field):
    assert reply.status == 409, reply.body
    assert reply.body["code"] == "duplicate_code" and reply.body["field"] == field
    assert reply.body["title"] == CODES["duplicate_code"]
    assert reply.body["type"].endswith("/duplicate_code")


def test_duplicate_centre_code(clinic, admin):
    _assert_duplicate(admin.post("/centres", {"name": "Again", "code": "bandra", "timezone": "UTC"}), "code")
    assert Centre.objects.filter(tenant=clinic.tenant, code="bandra").count() == 1


def test_duplicate_service_code(clinic, admin):
    _assert_duplicate(admin.post("/services", {"name": "Again", "code": "physio", "list_price": 1}), "code")


def test_duplicate_patient_reference(clinic, admin):
    ref = clinic.asha.external_ref
    _assert_duplicate(admin.post("/patients", {"external_ref": ref, "name": "Again"}), "external_ref")


def test_duplicate_plan_code(clinic, data, admin):
    body = {
        "code": "physio-pack",
        "name": "Again",
        "price": 100,
        "lines": [{"service_ids": [clinic.services["physio"].id], "sessions": 1}],
    }
    _assert_duplicate(admin.post("/plans", body), "code")


def test_the_database_constraint_maps_to_duplicate_code_too(clinic):
    """The race the service's check cannot see: the unique index refuses the second row."""
    with pytest.raises(Conflict) as refused, unique("a centre with code 'bandra' exists", field="code"):
        Centre.objects.create(tenant=clinic.tenant, name="Twin", code="bandra", timezone="UTC")
    assert (refused.value.code, refused.value.field) == ("duplicate_code", "code")
    assert Centre.objects.filter(tenant=clinic.tenant, code="bandra").count() == 1
