"""The claim-code routes over HTTP: a bulk order made, paid and claimed; refusals and the guessing limit."""

import pytest

from punchcard.claims import codes

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
    assert_reconciled(clinic.tenant)


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
