"""The promotions, claim-code, receipt and report routes over HTTP (a test URLconf mounts them)."""

import csv
import io

import pytest
from pypdf import PdfReader

from punchcard.promotions import codes

from ..api.conftest import Api, api_key
from ..clinic import Clinic, local
from .support import assert_clean

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


def _patient(api, ref, name):
    reply = api.post("/patients", {"external_ref": ref, "name": name})
    assert reply.status == 201, reply.body
    return reply.body["id"]


def test_a_bulk_order_of_ten_codes_is_made_paid_and_claimed_over_http(clinic, desk, manager):
    plan = clinic.plan("physio-10", name="Physiotherapy 10", price=800000, lines=[clinic.line("physio", sessions=10)])
    acme = _patient(desk, "ACME", "Acme Ltd")
    made = desk.post(
        "/claim-orders",
        {
            "buyer_id": acme,
            "centre_id": clinic.centre.id,
            "plan_id": plan.plan_id,
            "quantity": 10,
            "expires_on": "2026-12-31",
        },
        headers={"Idempotency-Key": "acme-bulk-1"},
    )
    assert made.status == 201, made.body
    order, issued = made.body["order"], made.body["codes"]
    assert order["gross"]["amount"] == 8000000 and order["status"] == "open" and len(issued) == 10
    assert all(c["status"] == "unpaid" and c["code"] and c["code"].replace("-", "")[-4:] == c["hint"] for c in issued)
    again = desk.post(
        "/claim-orders",
        {
            "buyer_id": acme,
            "centre_id": clinic.centre.id,
            "plan_id": plan.plan_id,
            "quantity": 10,
            "expires_on": "2026-12-31",
        },
        headers={"Idempotency-Key": "acme-bulk-1"},
    )
    assert again.body == made.body and again.headers.get("Idempotent-Replayed") == "true"

    paid = desk.post(
        f"/orders/{order['id']}/payments", {"method": "bank_transfer", "amount": 8000000, "reference": "NEFT 991"}
    )
    assert paid.status == 201, paid.body
    listed = manager.get("/claim-codes", order_id=order["id"], limit=50)
    assert {c["status"] for c in listed.body["items"]} == {"open"} and not any(c["code"] for c in listed.body["items"])
    assert listed.body["items"][0]["value_held"]["amount"] == 800000

    for i, code in enumerate(c["code"] for c in issued):
        employee = _patient(desk, f"EMP-{i}", f"Employee {i}")
        claimed = desk.post("/claim-codes/claim", {"code": code.lower(), "patient_id": employee})
        assert claimed.status == 200, claimed.body
        assert claimed.body["status"] == "claimed" and claimed.body["package_id"]
        package = desk.get(f"/packages/{claimed.body['package_id']}")
        assert package.status == 200 and package.body["holder"]["id"] == employee
    used = desk.post("/claim-codes/claim", {"code": issued[0]["code"], "patient_id": acme})
    assert (used.status, used.body["code"]) == (409, "claim_code_used")
    assert_clean(clinic.tenant)


def test_claim_refusals_and_the_guessing_limit_over_http(clinic, desk):
    typo = desk.post("/claim-codes/claim", {"code": "7K3M-Q9TX-2HJD-5W", "patient_id": clinic.asha.id})
    assert (typo.status, typo.body["code"], typo.body["field"]) == (422, "claim_code_mistyped", "code")
    for _ in range(9):
        unknown = desk.post("/claim-codes/claim", {"code": codes.generate(), "patient_id": clinic.asha.id})
        assert (unknown.status, unknown.body["code"]) == (404, "claim_code_unknown")
    limited = desk.post("/claim-codes/claim", {"code": codes.generate(), "patient_id": clinic.asha.id})
    assert (limited.status, limited.body["code"]) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.content_type.startswith("application/problem+json")


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
    assert_clean(clinic.tenant)


def test_our_operations_declare_their_errors_as_problem_json():
    """The same bar tests/api/test_openapi.py sets for the core routes, for the routes of this module."""
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
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    assert checked >= 18
