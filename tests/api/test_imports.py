"""POST /api/v1/imports: the console's import page's route — multipart CSV in, the report out (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from punchcard.packages.models import Package

from ..scenario import assert_reconciled
from .conftest import BASE

FIXTURE = Path(__file__).parent.parent / "imports" / "packages_fixture.csv"


def _upload(api, data: bytes, *, query: str = "", **fields):
    response = api.client.post(
        f"{BASE}/imports{query}",
        {"file": _named(data), "source_system": "clinicsoft", **fields},
        **api._headers(None),
    )
    return response


def _named(data: bytes):
    f = io.BytesIO(data)
    f.name = "packages.csv"
    return f


@pytest.fixture
def physio_10(clinic):
    return clinic.plan(
        "physio-10",
        price=1000000,
        lines=[clinic.line("physio", sessions=10)],
        expiry={"kind": "after_start", "count": 180, "unit": "days"},
    )


@pytest.mark.django_db
def test_a_dry_run_then_the_import_then_a_rerun_that_creates_nothing(clinic, physio_10, manager):
    dry = _upload(manager, FIXTURE.read_bytes(), dry_run="true")
    assert dry.status_code == 200, dry.content
    body = dry.json()
    assert (body["dry_run"], body["rows"], body["created"], body["refused"]) == (True, 10, 3, 7)
    assert [(p["line"], p["column"], p["code"]) for p in body["problems"]][:2] == [
        (4, "plan_code", "not_found"),
        (5, "sessions_used", "import_used_exceeds_granted"),
    ]
    assert not Package.objects.filter(tenant=clinic.tenant).exists()

    real = _upload(manager, FIXTURE.read_bytes()).json()
    assert (real["dry_run"], real["created"], real["patients_created"]) == (False, 3, 2)
    again = _upload(manager, FIXTURE.read_bytes(), query="?format=csv")
    assert again.status_code == 200 and again["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(again.content.decode())))
    assert [r["outcome"] for r in rows].count("unchanged") == 3 and len(rows) == 10
    assert {r["outcome"] for r in rows} == {"unchanged", "refused"}
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_who_may_import_and_what_a_bad_file_or_a_json_body_answers(clinic, physio_10, desk, accountant, manager):
    for api in (desk, accountant):
        refused = _upload(api, FIXTURE.read_bytes())
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    bad = _upload(manager, b"\xff\xfe")
    assert bad.status_code == 422 and bad.json()["code"] == "import_file_invalid"
    assert bad.json()["field"] == "file"
    as_json = manager.post("/imports", {"file": "x"})
    assert as_json.status == 415 and "multipart/form-data" in as_json.body["detail"]
    missing = manager.client.post(f"{BASE}/imports", {"source_system": "x"}, **manager._headers(None))
    assert missing.status_code == 422
    wrong_source = _upload(manager, FIXTURE.read_bytes(), source_system="Not A Slug!")
    assert wrong_source.status_code == 422 and wrong_source.json()["field"] == "source_system"
    assert not Package.objects.filter(tenant=clinic.tenant).exists()
