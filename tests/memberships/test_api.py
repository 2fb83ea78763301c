"""Memberships over HTTP (SPEC §10, README "Memberships"): the manager sets up a tier group and plans, the
front desk subscribes a patient and takes an invoice's payment; the documents are HTML and PDF."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard.memberships.models import Invoice, Membership

from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db

GOLD = {
    "code": "gold",
    "name": "Gold Membership",
    "prices": {"monthly": 300000, "annual": 3000000},
    "tax_rate_bp": 1800,
    "included_products": [{"name": "Sunscreen 50 ml", "quantity": 1}],
    "discount_bp": 1000,
    "perks": ["priority booking"],
    "trial": {"length": 14, "unit": "days", "price": "free"},
    "policies": {"notice_days": 30, "minimum_commitment_periods": 3, "dunning": {"retry_days": [3, 5]}},
}


def _plan(clinic, manager, **overrides):
    body = {**GOLD, "benefits": [{"service_ids": [clinic.services["physio"].id], "sessions": 2}], **overrides}
    return manager.post("/membership-plans", body, headers={"Idempotency-Key": f"plan-{body['code']}"})


def test_the_manager_makes_a_tier_group_and_plans_with_versions(clinic, manager, desk):
    group = manager.post("/tier-groups", {"code": "aesthetics", "name": "Aesthetics"})
    assert group.status == 201
    gold = _plan(clinic, manager, tier_group_id=group.body["id"], rank=1)
    assert gold.status == 201, gold.body
    current = gold.body["current"]
    assert [(p["frequency"], p["price"]["amount"]) for p in current["prices"]] == [
        ("monthly", 300000),
        ("annual", 3000000),
    ]
    assert current["benefits"][0]["sessions"] == 2 and current["discount_bp"] == 1000
    assert current["policies"]["dunning"] == {"retry_days": [3, 5], "final_action": "cancel"}
    clash = _plan(clinic, manager, code="platinum", tier_group_id=group.body["id"], rank=1)
    assert (clash.status, clash.body["code"], clash.body["field"]) == (409, "duplicate_code", "rank")

    edited = manager.put(
        f"/membership-plans/{gold.body['id']}", {**{k: v for k, v in GOLD.items() if k != "code"}, "name": "Gold+"}
    )
    assert edited.status == 200 and [v["number"] for v in edited.body["versions"]] == [2, 1]
    assert edited.body["current"]["name"] == "Gold+" and edited.body["current"]["benefits"] == []
    assert manager.get("/tier-groups/" + str(group.body["id"])).body["plans"] == [
        {"id": gold.body["id"], "code": "gold", "rank": 1}
    ]
    # Benefits live in the catalogue as a plan never sold on its own: not among the package plans.
    assert [p["code"] for p in manager.get("/plans").body["items"]] == []
    refused = desk.post("/membership-plans", {**GOLD, "code": "silver"})
    assert (refused.status, refused.body["code"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prices": {}}, "prices"),
        ({"trial": {"length": 7, "price": "discounted"}}, "trial.amount"),
        ({"policies": {"dunning": {"retry_days": [5, 3]}}}, "retry_days"),
        ({"policies": {"pause": {"allowed": True, "min_months": 4, "max_months": 2}}}, "pause.min_months"),
    ],
)
def test_a_plan_breaking_a_rule_is_a_422_naming_it(clinic, manager, change, field):
    reply = _plan(clinic, manager, **change)
    assert reply.status == 422, reply.body
    assert reply.body["field"] == field or field in str(reply.body)


def test_the_desk_subscribes_reads_it_and_takes_the_payment(clinic, manager, desk):
    gold = _plan(clinic, manager, trial={"length": 0})
    body = {
        "patient_id": clinic.asha.id,
        "plan_id": gold.body["id"],
        "frequency": "monthly",
        "centre_id": clinic.centre.id,
    }
    made = desk.post("/memberships", body, headers={"Idempotency-Key": "sub-asha"})
    assert made.status == 201, made.body
    assert (made.body["status"], made.body["next_billing_date"], made.body["owed"]["amount"]) == (
        "active",
        "2026-04-01",
        300000,
    )
    assert made.body["current_period"] == {"number": 1, "kind": "paid", "start": "2026-03-01", "end": "2026-03-31"}
    again = desk.post("/memberships", body, headers={"Idempotency-Key": "sub-asha"})
    assert again.headers.get("Idempotent-Replayed") == "true" and Membership.objects.count() == 1
    listed = desk.get("/memberships", params={"patient_id": clinic.asha.id})
    assert [m["id"] for m in listed.body["items"]] == [made.body["id"]]

    invoices = desk.get(f"/memberships/{made.body['id']}/invoices").body["items"]
    assert [(i["number"], i["status"], i["gross"]["amount"], i["tax"]["amount"]) for i in invoices] == [
        (1, "open", 300000, 45763)  # 18 % included: 300000 − 300000 × 10000 / 11800 (254237)
    ]
    invoice_id = invoices[0]["id"]
    too_much = desk.post(f"/invoices/{invoice_id}/payments", {"method": "cash", "amount": 300001})
    assert (too_much.status, too_much.body["code"]) == (409, "overpayment")
    paid = desk.post(f"/invoices/{invoice_id}/payments", {"method": "card", "amount": 300000, "reference": "POS-1"})
    assert paid.status == 201 and paid.body["status"] == "paid" and paid.body["due"]["amount"] == 0
    again = desk.post(f"/invoices/{invoice_id}/payments", {"method": "card", "amount": 1})
    assert (again.status, again.body["code"]) == (409, "invoice_not_open")

    html = desk.get(f"/invoices/{invoice_id}/html")
    assert html.status == 200 and "Gold Membership" in html.raw.decode() and "No. 000001" in html.raw.decode()
    pdf = desk.get(f"/invoices/{invoice_id}/pdf")
    assert pdf.status == 200 and pdf.raw.startswith(b"%PDF")
    assert desk.get(f"/invoices/{invoice_id + 1000}").status == 404
    assert Invoice.objects.get().paid == 300000
    assert_reconciled(clinic.tenant)


def test_a_future_start_is_scheduled_without_an_invoice(clinic, manager, desk):
    gold = _plan(clinic, manager)
    made = desk.post(
        "/memberships",
        {
            "patient_id": clinic.ravi.id,
            "plan_id": gold.body["id"],
            "frequency": "annual",
            "centre_id": clinic.centre.id,
            "start_date": (dt.date(2026, 3, 1) + dt.timedelta(days=10)).isoformat(),
        },
    )
    assert made.status == 201 and made.body["status"] == "scheduled"
    assert made.body["next_amount"]["amount"] == 0  # the first period is the free trial
    assert made.body["trial_end"] == "2026-03-25" and made.body["billing_anchor"] == "2026-03-25"
    assert not Invoice.objects.exists()
