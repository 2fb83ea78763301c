"""Pausing, resuming, cancelling and keeping a membership over HTTP (SPEC §10.2): status codes and error codes."""

from __future__ import annotations

import pytest

from punchcard.billing.selectors import credit_balance
from punchcard.memberships.models import Invoice

from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


def _plan(clinic, manager, code="gold", **policies):
    body = {
        "code": code,
        "name": "Gold",
        "prices": {"monthly": 310000},
        "policies": {"pause": {"allowed": True, "max_months": 3, "fee": 50000}, **policies},
    }
    made = manager.post("/membership-plans", body)
    assert made.status == 201, made.body
    return made.body["id"]


def _paid_member(clinic, manager, desk, plan_id, patient=None):
    made = desk.post(
        "/memberships",
        {
            "patient_id": (patient or clinic.asha).id,
            "plan_id": plan_id,
            "frequency": "monthly",
            "centre_id": clinic.centre.id,
        },
    )
    assert made.status == 201, made.body
    invoice = Invoice.objects.get(membership_id=made.body["id"])
    paid = desk.post(f"/invoices/{invoice.id}/payments", {"method": "cash", "amount": invoice.gross})
    assert paid.status == 201, paid.body
    return made.body["id"]


def test_pause_and_resume(clinic, manager, desk):
    member = _paid_member(clinic, manager, desk, _plan(clinic, manager))
    for body, code in [
        ({"months": 4}, "pause_too_long"),
        ({"until": "2026-03-20"}, "pause_too_short"),
    ]:
        refused = desk.post(f"/memberships/{member}/pause", body)
        assert (refused.status, refused.body["code"]) == (409, code), refused.body
    assert desk.post(f"/memberships/{member}/pause", {"months": 0}).status == 422
    assert desk.post(f"/memberships/{member}/pause", {}).status == 422

    paused = desk.post(f"/memberships/{member}/pause", {"months": 2}, headers={"Idempotency-Key": "pause-asha"})
    assert paused.status == 200, paused.body
    # From 1 March for two months: back on 1 May (61 days); 1 April + 61 days = 1 June.
    assert (paused.body["status"], paused.body["paused_until"], paused.body["next_billing_date"]) == (
        "paused",
        "2026-05-01",
        "2026-06-01",
    )
    again = desk.post(f"/memberships/{member}/pause", {"months": 2}, headers={"Idempotency-Key": "pause-asha"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    fee = [i for i in desk.get(f"/memberships/{member}/invoices").body["items"] if i["period"] is None]
    assert [(i["gross"]["amount"], [line["kind"] for line in i["lines"]]) for i in fee] == [(50000, ["fee"])]
    twice = desk.post(f"/memberships/{member}/pause", {"months": 1})
    assert (twice.status, twice.body["code"]) == (409, "membership_transition_not_allowed")

    resumed = desk.post(f"/memberships/{member}/resume")
    # Back the same day: the 61 days not used come off again.
    assert (resumed.status, resumed.body["status"], resumed.body["next_billing_date"]) == (200, "active", "2026-04-01")
    assert resumed.body["paused_until"] is None
    not_paused = desk.post(f"/memberships/{member}/resume")
    assert (not_paused.status, not_paused.body["code"]) == (409, "membership_transition_not_allowed")
    assert desk.post("/memberships/999999/pause", {"months": 1}).status == 404
    assert_reconciled(clinic.tenant)


def test_a_plan_without_pauses_is_a_409(clinic, manager, desk):
    plan = _plan(clinic, manager, pause={"allowed": False})
    member = _paid_member(clinic, manager, desk, plan)
    refused = desk.post(f"/memberships/{member}/pause", {"months": 1})
    assert (refused.status, refused.body["code"]) == (409, "pause_not_allowed")


def test_cancel_at_the_period_end_and_keep(clinic, manager, desk):
    member = _paid_member(clinic, manager, desk, _plan(clinic, manager, notice_days=0))
    now = desk.post(f"/memberships/{member}/cancel", {"when": "now"})
    assert (now.status, now.body["code"]) == (409, "immediate_cancellation_not_allowed")
    assert desk.post(f"/memberships/{member}/cancel", {"when": "later"}).status == 422
    cancelling = desk.post(f"/memberships/{member}/cancel", {})
    assert (cancelling.status, cancelling.body["status"], cancelling.body["cancel_on"]) == (
        200,
        "cancelling",
        "2026-04-01",
    )
    kept = desk.post(f"/memberships/{member}/keep")
    assert (kept.status, kept.body["status"], kept.body["cancel_on"]) == (200, "active", None)
    again = desk.post(f"/memberships/{member}/keep")
    assert (again.status, again.body["code"]) == (409, "membership_transition_not_allowed")


def test_cancel_now_with_a_refund_is_the_managers(clinic, manager, desk):
    plan = _plan(clinic, manager, cancellation="immediate", minimum_commitment_periods=2)
    member = _paid_member(clinic, manager, desk, plan)
    committed = desk.post(f"/memberships/{member}/cancel", {"when": "now"})
    assert (committed.status, committed.body["code"], committed.body["context"]["earliest"]) == (
        409,
        "minimum_commitment",
        "2026-05-01",
    )
    other = _paid_member(clinic, manager, desk, _plan(clinic, manager, "silver", cancellation="immediate"), clinic.ravi)
    forbidden = desk.post(f"/memberships/{other}/cancel", {"when": "now", "refund_unused": True})
    assert (forbidden.status, forbidden.body["code"]) == (403, "forbidden")
    done = manager.post(f"/memberships/{other}/cancel", {"when": "now", "refund_unused": True, "reason": "moving"})
    assert (done.status, done.body["status"], done.body["next_billing_date"]) == (200, "cancelled", None)
    # Cancelled on its first day: all 31 days unused, the whole ₹3,100 back to Ravi's credit.
    assert credit_balance(clinic.tenant, clinic.ravi.id) == 310000
    final = manager.post(f"/memberships/{other}/cancel", {"when": "now"})
    assert (final.status, final.body["code"]) == (409, "membership_transition_not_allowed")
    assert_reconciled(clinic.tenant)
