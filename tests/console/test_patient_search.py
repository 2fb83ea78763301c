"""Finding a patient by name, reference, phone or email, and the indexes those lookups use."""

from __future__ import annotations

import pytest
from django.db import connection

from punchcard.tenancy.models import Patient
from punchcard.tenancy.selectors import patient_lookups, search_patients

pytestmark = pytest.mark.django_db


def names(found) -> list[str]:
    return [p.name for p in found]


def test_the_desk_finds_a_patient_by_reference_phone_email_or_part_of_the_name(demo):
    tenant = demo.tenant
    assert names(search_patients(tenant, "p-1001")) == ["Asha Rao"]
    assert names(search_patients(tenant, "P-100"))[0] == "Arjun Mehta"  # P-1001..P-1009, by name
    assert len(search_patients(tenant, "P-100")) == 9
    assert names(search_patients(tenant, "+91 98200 10020")) == ["Ravi Rao"]
    assert names(search_patients(tenant, "MEENA.RAO@")) == ["Meena Rao"]
    assert names(search_patients(tenant, "rao")) == ["Asha Rao", "Meena Rao", "Ravi Rao"]
    assert search_patients(tenant, "  ") == [] and search_patients(tenant, "100%") == []


def many_patients(tenant, count: int) -> None:
    """A clinic's worth of patients (test data, written directly), then the planner's statistics."""
    now = tenant.created_at
    Patient.objects.bulk_create(
        Patient(
            tenant=tenant,
            external_ref=f"X-{n:06d}",
            name=f"Patient {n:06d} Surname{n % 997}",
            email=f"patient{n}@example.net",
            phone=f"+44 7700 {n:06d}",
            created_at=now,
        )
        for n in range(count)
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # as autovacuum would: move the new rows out of GIN's pending list
            cursor.execute("SELECT gin_clean_pending_list('patient_name_search'::regclass)")
        cursor.execute("ANALYZE")


def test_the_lookups_use_the_search_indexes_among_many_patients(demo):
    many_patients(demo.tenant, 20_000)
    contact, _ = patient_lookups(demo.tenant, "X-01234")
    shown = contact.explain()
    for index in ("patient_ref_search", "patient_phone_search", "patient_email_search"):
        assert index in shown, shown
    assert [p.external_ref for p in search_patients(demo.tenant, "x-012345")] == ["X-012345"]
    if connection.vendor == "postgresql":
        shown = patient_lookups(demo.tenant, "Surname123")[1].explain()
        assert "patient_name_search" in shown, shown
