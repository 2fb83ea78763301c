"""The promotions, transfer-code, receipt and report routes over HTTP.

The bulk-order and claim routes have their own tests in tests/claims/test_api.py.
"""

import csv
import io

import pytest
from pypdf import PdfReader

from ..api.conftest import Api, api_key
from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    return Clinic.open(now=local(2026, 3, 1, 10))


@pytest.fixture
def desk(clinic):
    return Api(api_key(clinic, "front_desk"))


@pytest.fixture
def manager(clinic):
    return Api(api_key(clinic, "manager"))


def test_promotions_quote_transfer_code_receipt_pdf_and_reports_over_http(clinic, desk, manager):
    plan = clinic.plan(
        "physio-10",
        name="Physiotherapy 10",
        price=1000000,
        transferable=True,
        lines=[clinic.line("physio", sessions=10)],
    )
    created = manager.post(
        "/promotions",
        {"name": "Spring 10%", "kind": "percent", "percent_bp": 1000, "code": "spring", "plan_ids": [plan.plan_id]},
    )
    assert created.status == 201 and created.body["code"] == "SPRING"
    assert desk.post("/promotions", {"name": "x", "kind": "percent", "percent_bp": 1, "code": "x"}).status == 403
    quoted = desk.get(
        "/promotions/quote",
        patient_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        plan_id=plan.plan_id,
        promotion_code="spring",
    )
    assert quoted.status == 200 and quoted.body[0]["gross"]["amount"] == 900000

    package = clinic.sell(plan)
    visits = [clinic.redeem(package, "physio") for _ in range(4)]
    receipt = desk.post("/receipts", {"kind": "redemption", "subject_id": visits[-1].id})
    assert receipt.status == 201 and receipt.body["number"] == 1
    pdf = desk.client.get(receipt.body["pdf_url"], HTTP_AUTHORIZATION=f"Bearer {desk.secret}")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Physiotherapy: 4 of 10 used, 6 remaining" in text
    html = desk.client.get(receipt.body["html_url"], HTTP_AUTHORIZATION=f"Bearer {desk.secret}")
    assert "Physiotherapy: 4 of 10 used, 6 remaining" in html.content.decode()

    transfer = manager.post(f"/packages/{package.id}/transfer-code", {"reason": "gift to sister"})
    assert transfer.status == 201 and transfer.body["kind"] == "transfer" and transfer.body["code"]
    moved = desk.post("/claim-codes/claim", {"code": transfer.body["code"], "patient_id": clinic.lata.id})
    assert moved.status == 200 and moved.body["package_id"] == package.id

    assert desk.get("/reports/liability").status == 403  # front desk may not read money
    liability = manager.get("/reports/liability", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert liability.status == 200, liability.body
    assert liability.body["extra"]["closing"] == 1000000 - 4 * 100000
    usage = manager.call("GET", "/reports/usage", params={"from": "2026-03-01", "to": "2026-03-31", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(usage.raw.decode())))
    assert usage.headers["Content-Type"].startswith("text/csv")
    assert rows == [
        {"service": "Physiotherapy", "redemptions": "4", "sessions": "4", "value": "4000.00", "currency": "INR"}
    ]
    bad = manager.get("/reports/nope")
    assert (bad.status, bad.body["code"]) == (422, "invalid")
    assert_reconciled(clinic.tenant)


def test_our_operations_declare_their_errors_as_problem_json():
    """The same bar tests/api/test_openapi.py sets for the core routes, for the routes of this module."""
    from punchcard.api.openapi import SERVER_LIMITS
    from punchcard.api.router import api

    schema = api.get_openapi_schema(path_prefix="")
    ours = ("/promotions", "/claim-orders", "/claim-codes", "/reports", "/receipts", "/transfer-code")
    checked = 0
    for path, item in schema["paths"].items():
        if not any(part in path for part in ours):
            continue
        for method, op in item.items():
            checked += 1
            statuses = {int(s) for s in op["responses"]}
            assert {401, 403, 422} <= statuses, (method, path, statuses)
            if "{" in path:
                assert 404 in statuses, (method, path)
            if method == "post":
                assert 409 in statuses, (method, path)
            for status, response in op["responses"].items():
                if status in SERVER_LIMITS:  # answered by gunicorn before Punchcard sees the request
                    assert response == SERVER_LIMITS[status], (method, path, status)
                elif int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    assert checked >= 18
