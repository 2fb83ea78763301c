"""Every route of /api/v1 doing its job, told as the front desk, the manager and the accountant would use it."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard.packages.models import Redemption, SessionEntry
from punchcard.packages.selectors import ledger_mismatches

from .conftest import Api, api_key

pytestmark = pytest.mark.django_db


def ids(reply) -> list[int]:
    return [item["id"] for item in reply.body["items"]]


def is_iso_with_offset(text: str) -> bool:
    return dt.datetime.fromisoformat(text).tzinfo is not None


# ---------------------------------------------------------------- caller, centres, services


def test_me_names_tenant_role_and_permissions(clinic, desk):
    reply = desk.get("/me")
    assert reply.status == 200
    assert reply.body["tenant"]["slug"] == clinic.tenant.slug
    assert reply.body["role"] == "front_desk"
    assert reply.body["actor"].startswith("apikey:pc_") and "(front_desk key)" in reply.body["actor"]
    assert "redeem" in reply.body["permissions"] and "void" not in reply.body["permissions"]


def test_centres_list_and_create(clinic, admin, manager):
    assert [c["code"] for c in admin.get("/centres").body["items"]] == ["bandra", "koramangala"]
    created = admin.post("/centres", {"name": "Indiranagar", "code": "indiranagar", "timezone": "Asia/Kolkata"})
    assert created.status == 201 and created.body["timezone"] == "Asia/Kolkata"
    assert admin.post("/centres", {"name": "Again", "code": "indiranagar", "timezone": "UTC"}).status == 409
    bad_zone = admin.post("/centres", {"name": "Mars", "code": "mars", "timezone": "Mars/Olympus"})
    assert (bad_zone.status, bad_zone.body["field"]) == (422, "timezone")
    assert manager.post("/centres", {"name": "X", "code": "x", "timezone": "UTC"}).status == 403


def test_services_list_create_update(clinic, manager):
    listed = manager.get("/services").body["items"]
    physio = next(s for s in listed if s["code"] == "physio")
    assert physio["list_price"] == {"amount": 100000, "currency": "INR", "display": "₹1,000.00"}
    created = manager.post("/services", {"name": "Massage 60 min", "code": "massage", "list_price": 250000})
    assert created.status == 201 and created.body["delivery_cost"]["amount"] == 0
    updated = manager.patch(f"/services/{created.body['id']}", {"list_price": 300000, "active": False})
    assert updated.status == 200
    assert (updated.body["list_price"]["amount"], updated.body["active"], updated.body["name"]) == (
        300000,
        False,
        "Massage 60 min",
    )
    assert manager.patch("/services/999999", {"name": "x"}).status == 404


# ---------------------------------------------------------------- patients


def test_patients_create_get_update_and_filter(clinic, desk):
    created = desk.post("/patients", {"external_ref": "EHR-77", "name": "Meena Iyer", "email": "meena@example.com"})
    assert created.status == 201
    patient_id = created.body["id"]
    assert is_iso_with_offset(created.body["created_at"])
    assert desk.get(f"/patients/{patient_id}").body["name"] == "Meena Iyer"
    assert desk.patch(f"/patients/{patient_id}", {"phone": "+91 98200 00000"}).body["phone"] == "+91 98200 00000"
    bad_email = desk.patch(f"/patients/{patient_id}", {"email": "not an address"})
    assert (bad_email.status, bad_email.body["field"]) == (422, "email")
    assert ids(desk.get("/patients", external_ref="EHR-77")) == [patient_id]
    assert ids(desk.get("/patients", name="meena")) == [patient_id]
    assert desk.get("/patients", external_ref="nobody").body["items"] == []
    duplicate = desk.post("/patients", {"external_ref": "EHR-77", "name": "Someone else"})
    assert (duplicate.status, duplicate.body["field"]) == (409, "external_ref")
    assert desk.get("/patients/999999").status == 404


def test_patient_packages_include_those_shared_with_them(clinic, data, desk):
    shared = data["shared"]
    assert ids(desk.get(f"/patients/{clinic.kiran.id}/packages")) == []
    assert desk.post(f"/packages/{shared.id}/beneficiaries", {"patient_id": clinic.kiran.id}).status == 201
    assert ids(desk.get(f"/patients/{clinic.kiran.id}/packages")) == [shared.id]
    assert ids(desk.get(f"/patients/{clinic.asha.id}/packages")) == [data["package"].id]


def test_patients_paginate_with_an_opaque_cursor(clinic, desk):
    first = desk.get("/patients", limit=4)
    assert len(first.body["items"]) == 4 and first.body["next_cursor"]
    second = desk.get("/patients", limit=4, cursor=first.body["next_cursor"])
    assert len(second.body["items"]) == 2 and second.body["next_cursor"] is None
    assert not set(ids(first)) & set(ids(second))
    assert desk.get("/patients", cursor="not-a-cursor").body["field"] == "cursor"
    assert desk.get("/patients", limit=0).status == 422
    assert desk.get("/patients", limit=201).status == 422


# ---------------------------------------------------------------- plans

PLAN = {
    "code": "chiro-5",
    "name": "Chiro 5",
    "price": 40000,
    "lines": [{"service_ids": [], "sessions": 5}],
    "expiry": {"kind": "after_start", "count": 2, "unit": "months"},
}


def plan_body(clinic, **changes):
    body = {**PLAN, "lines": [{"service_ids": [clinic.services["chiro"].id], "sessions": 5}], **changes}
    return body


def test_plans_create_list_get(clinic, data, manager):
    created = manager.post("/plans", plan_body(clinic))
    assert created.status == 201
    plan = created.body
    assert plan["current"]["number"] == 1 and plan["current"]["total_sessions"] == 5
    assert plan["current"]["expiry"]["description"] == "2 months after the start date"
    assert plan["current"]["lines"][0]["service_ids"] == [clinic.services["chiro"].id]
    assert [p["code"] for p in manager.get("/plans").body["items"]] == ["physio-pack", "family-yoga", "chiro-5"]
    detail = manager.get(f"/plans/{data['physio'].plan_id}").body
    assert [line["sessions"] for line in detail["current"]["lines"]] == [10, 2]
    assert detail["current"]["price"]["display"] == "₹8,000.00"
    assert [v["number"] for v in detail["versions"]] == [1]


def test_plan_refusals_name_the_field(clinic, manager):
    empty = manager.post("/plans", plan_body(clinic, lines=[]))
    assert (empty.status, empty.body["field"]) == (422, "lines")
    unknown_service = manager.post("/plans", plan_body(clinic, lines=[{"service_ids": [999999], "sessions": 1}]))
    assert (unknown_service.status, unknown_service.body["field"]) == (404, "lines[0].service_ids")
    bad_kind = manager.post("/plans", plan_body(clinic, expiry={"kind": "whenever"}))
    assert (bad_kind.status, bad_kind.body["field"]) == (422, "expiry.kind")


def test_editing_a_sold_plan_makes_a_new_version_and_the_package_keeps_its_terms(clinic, data, manager):
    plan_id, package = data["physio"].plan_id, data["package"]
    terms = {
        "name": "Physio Pack 2027",
        "price": 900000,
        "lines": [{"service_ids": [clinic.services["physio"].id], "sessions": 12}],
    }
    edited = manager.put(f"/plans/{plan_id}", terms)
    assert edited.status == 200
    assert [v["number"] for v in edited.body["versions"]] == [2, 1]
    assert edited.body["current"]["price"]["amount"] == 900000
    held = manager.get(f"/packages/{package.id}").body
    assert (held["plan"]["version"], held["granted"]) == (1, 12)
    # Not sold yet: rewritten in place.
    assert manager.put(f"/plans/{plan_id}", {**terms, "price": 950000}).body["current"]["number"] == 2


def test_a_retired_plan_cannot_be_sold(clinic, data, manager, desk):
    plan_id = data["physio"].plan_id
    assert manager.post(f"/plans/{plan_id}/status", {"status": "retired"}).body["status"] == "retired"
    assert [p["code"] for p in manager.get("/plans", status="retired").body["items"]] == ["physio-pack"]
    refused = desk.post(
        "/orders", {"patient_id": clinic.lata.id, "centre_id": clinic.centre.id, "items": [{"plan_id": plan_id}]}
    )
    assert (refused.status, refused.body["code"], refused.body["field"]) == (
        409,
        "plan_not_on_sale",
        "items[0].plan_id",
    )


# ---------------------------------------------------------------- orders and payments


def order_body(clinic, plan, patient=None, **changes):
    return {
        "patient_id": (patient or clinic.lata).id,
        "centre_id": clinic.centre.id,
        "items": [{"plan_id": plan.plan_id}],
        **changes,
    }


def test_an_order_activates_its_package_when_paid_in_full(clinic, data, desk):
    order = desk.post("/orders", order_body(clinic, data["physio"]))
    assert order.status == 201
    assert (order.body["status"], order.body["due"]["amount"]) == ("open", 800000)
    assert order.body["lines"][0]["package_id"] is None
    order_id = order.body["id"]
    part = desk.post(f"/orders/{order_id}/payments", {"method": "card", "amount": 300000, "reference": "slip 1"})
    assert part.status == 201
    assert (part.body["order"]["status"], part.body["order"]["due"]["amount"]) == ("open", 500000)
    assert part.body["payment"]["amount"]["display"] == "₹3,000.00"
    too_much = desk.post(f"/orders/{order_id}/payments", {"method": "cash", "amount": 600000})
    assert (too_much.status, too_much.body["code"], too_much.body["context"]["due"]) == (409, "overpayment", 500000)
    rest = desk.post(f"/orders/{order_id}/payments", {"method": "cash", "amount": 500000})
    assert rest.body["order"]["status"] == "paid"
    package_id = rest.body["order"]["lines"][0]["package_id"]
    assert desk.get(f"/packages/{package_id}").body["holder"]["id"] == clinic.lata.id
    fetched = desk.get(f"/orders/{order_id}").body
    assert [p["amount"]["amount"] for p in fetched["payments"]] == [300000, 500000]


def test_orders_list_filters(clinic, data, desk):
    open_order = desk.post("/orders", order_body(clinic, data["physio"])).body
    assert ids(desk.get("/orders", patient=clinic.lata.id)) == [open_order["id"]]
    assert ids(desk.get("/orders", status="open")) == [open_order["id"]]
    assert len(ids(desk.get("/orders", status="paid"))) == 2
    assert len(ids(desk.get("/orders", centre=clinic.centre.id))) == 3
    assert ids(desk.get("/orders", centre=clinic.other_centre.id)) == []
    assert len(ids(desk.get("/orders", placed_from="2026-03-01", placed_to="2026-03-01"))) == 3
    assert ids(desk.get("/orders", placed_from="2026-03-02")) == []
    assert desk.get("/orders", patient=999999).status == 404


def test_pay_later_is_for_managers_and_activates_the_order(clinic, data, desk, manager):
    order_id = desk.post("/orders", order_body(clinic, data["physio"])).body["id"]
    refused = desk.post(f"/orders/{order_id}/pay-later", {"reason": "insurer pays at month end"})
    assert (refused.status, refused.body["permission"]) == (403, "adjust")
    accepted = manager.post(f"/orders/{order_id}/pay-later", {"reason": "insurer pays at month end"})
    assert accepted.status == 200
    assert accepted.body["status"] == "pay_later" and accepted.body["lines"][0]["package_id"]


def test_cancel_an_open_order_but_not_a_paid_one(clinic, data, desk):
    order_id = desk.post("/orders", order_body(clinic, data["physio"])).body["id"]
    assert desk.post(f"/orders/{order_id}/cancel", {"reason": "changed their mind"}).body["status"] == "cancelled"
    paid = data["package"].order_line.order_id
    refused = desk.post(f"/orders/{paid}/cancel", {"reason": "oops"})
    assert (refused.status, refused.body["code"]) == (409, "order_not_open")


# ---------------------------------------------------------------- packages: reading


def test_package_detail_has_per_line_balances_status_and_people(clinic, data, desk, manager):
    package = data["package"]
    clinic.redeem(package, "physio")
    clinic.hold(package, "physio", dt.date(2026, 3, 5))
    detail = desk.get(f"/packages/{package.id}").body
    assert (detail["status"], detail["in_grace"]) == ("active", False)
    assert (detail["expires_on"], detail["usable_until"]) == ("2026-05-29", "2026-05-29")
    physio = detail["lines"][0]
    assert {k: physio[k] for k in ("granted", "redeemed", "held", "remaining", "available")} == {
        "granted": 10,
        "redeemed": 1,
        "held": 1,
        "remaining": 9,
        "available": 8,
    }
    assert (detail["granted"], detail["remaining"], detail["available"]) == (12, 11, 10)
    assert detail["holder"] == {"id": clinic.asha.id, "name": "Asha", "external_ref": clinic.asha.external_ref}
    assert detail["beneficiaries"] == []
    assert detail["price"]["display"] == "₹8,000.00"
    # Deferred revenue is an accounting figure: the front desk does not see it, the manager does.
    assert detail["deferred_value"] is None and physio["deferred_value"] is None
    assert manager.get(f"/packages/{package.id}").body["deferred_value"]["amount"] == 800000 - 61539


def test_packages_list_filters_by_patient_status_centre_plan_and_purchase_date(clinic, data, desk):
    package, shared = data["package"], data["shared"]
    future = clinic.sell(data["physio"], patient=clinic.kiran, start_date=dt.date(2026, 4, 1))
    assert ids(desk.get("/packages")) == [future.id, shared.id, package.id]
    assert ids(desk.get("/packages", patient=clinic.asha.id)) == [package.id]
    assert ids(desk.get("/packages", status="scheduled")) == [future.id]
    assert ids(desk.get("/packages", status="active")) == [shared.id, package.id]
    assert ids(desk.get("/packages", plan=data["family"].plan_id)) == [shared.id]
    assert ids(desk.get("/packages", centre=clinic.other_centre.id)) == []
    assert len(ids(desk.get("/packages", purchased_from="2026-03-01", purchased_to="2026-03-01"))) == 3
    assert ids(desk.get("/packages", purchased_to="2026-02-28")) == []
    assert desk.get("/packages", status="sleeping").status == 422
    assert desk.get("/packages", purchased_from="1 March").body["field"] == "purchased_from"
    cancelled = desk.get("/packages", status="cancelled")
    assert cancelled.body == {"items": [], "next_cursor": None}


def test_status_filter_pages_through_rows_it_drops(clinic, data, desk):
    sold = [clinic.sell(data["family"], patient=clinic.nikhil) for _ in range(3)]
    for package in sold:
        clinic.redeem(package, "yoga", sessions=20)
    seen, cursor = [], None
    while True:
        params = {"status": "exhausted", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = desk.get("/packages", **params).body
        seen += [item["id"] for item in page["items"]]
        assert all(item["status"] == "exhausted" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(p.id for p in sold)


# ---------------------------------------------------------------- redemption, void, holds


def test_redeem_then_void_restores_the_session_and_records_the_approver(clinic, data, desk, manager):
    package = data["package"]
    body = {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id}
    redeemed = desk.post(f"/packages/{package.id}/redemptions", body)
    assert redeemed.status == 201
    assert (redeemed.body["sessions"], redeemed.body["person"]["id"], redeemed.body["day"]) == (
        1,
        clinic.asha.id,
        "2026-03-01",
    )
    assert redeemed.body["value"] is None  # the front desk does not read money
    redemption_id = redeemed.body["id"]
    assert ids(desk.get(f"/packages/{package.id}/redemptions")) == [redemption_id]
    refused = desk.post(f"/redemptions/{redemption_id}/void", {"reason": "wrong patient"})
    assert (refused.status, refused.body["permission"]) == (403, "void")
    voided = manager.post(f"/redemptions/{redemption_id}/void", {"reason": "wrong patient"})
    assert voided.status == 200
    assert voided.body["voided"] and voided.body["void_reason"] == "wrong patient"
    assert voided.body["voided_by"].startswith("apikey:") and voided.body["void_approver"] is None
    again = manager.post(f"/redemptions/{redemption_id}/void", {"reason": "again"})
    assert (again.status, again.body["code"]) == (409, "already_voided")
    assert desk.get(f"/packages/{package.id}").body["lines"][0]["redeemed"] == 0
    assert ledger_mismatches(clinic.tenant) == []


def test_over_redemption_is_a_409_and_writes_nothing(clinic, data, desk):
    package = data["package"]
    before = SessionEntry.objects.filter(package=package).count()
    body = {"service_id": clinic.services["doctor"].id, "centre_id": clinic.centre.id, "sessions": 3}
    refused = desk.post(f"/packages/{package.id}/redemptions", body)
    assert refused.status == 409
    assert refused.content_type.startswith("application/problem+json")
    assert refused.body["code"] == "insufficient_sessions"
    assert refused.body["type"].endswith("/insufficient_sessions")
    assert refused.body["context"] == {"available": 2, "requested": 3}
    assert SessionEntry.objects.filter(package=package).count() == before
    assert Redemption.objects.filter(package=package).count() == 0
    assert desk.get(f"/packages/{package.id}").body["lines"][1]["available"] == 2


def test_redemption_rules_are_named(clinic, data, desk):
    package = data["package"]
    facial = {"service_id": clinic.services["facial"].id, "centre_id": clinic.centre.id}
    assert desk.post(f"/packages/{package.id}/redemptions", facial).body["code"] == "service_not_eligible"
    elsewhere = {"service_id": clinic.services["physio"].id, "centre_id": clinic.other_centre.id}
    assert desk.post(f"/packages/{package.id}/redemptions", elsewhere).body["code"] == "out_of_scope"
    stranger = {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id, "person_id": clinic.priya.id}
    assert desk.post(f"/packages/{package.id}/redemptions", stranger).body["code"] == "not_beneficiary"


def test_hold_post_and_release(clinic, data, desk):
    package = data["package"]
    body = {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id, "day": "2026-03-10"}
    first = desk.post(f"/packages/{package.id}/holds", body)
    assert first.status == 201 and first.body["state"] == "pending"
    second = desk.post(f"/packages/{package.id}/holds", body).body
    assert desk.get(f"/packages/{package.id}").body["lines"][0]["held"] == 2
    posted = desk.post(f"/holds/{first.body['id']}/post")
    assert posted.status == 200 and posted.body["hold_id"] == first.body["id"]
    # Posting twice is the same arrival.
    assert desk.post(f"/holds/{first.body['id']}/post").body["id"] == posted.body["id"]
    released = desk.post(f"/holds/{second['id']}/release", {"reason": "appointment cancelled"})
    assert released.body["state"] == "released"
    assert desk.post(f"/holds/{second['id']}/release").status == 200  # releasing twice: no change, no body needed
    late = desk.post(f"/holds/{first.body['id']}/release")
    assert (late.status, late.body["code"]) == (409, "hold_resolved")
    holds = desk.get(f"/packages/{package.id}/holds").body["items"]
    assert [(h["state"], h["redemption_id"]) for h in holds] == [("released", None), ("posted", posted.body["id"])]
    after_expiry = {**body, "day": "2026-06-01"}
    assert desk.post(f"/packages/{package.id}/holds", after_expiry).body["code"] == "expired"


# ---------------------------------------------------------------- corrections, expiry, closing


def test_adjustments(clinic, data, manager, desk):
    package = data["package"]
    line_id = package.lines.order_by("id").first().id
    goodwill = manager.post(
        f"/packages/{package.id}/adjustments", {"line_id": line_id, "delta": 1, "reason": "goodwill"}
    )
    assert goodwill.status == 201
    assert (goodwill.body["kind"], goodwill.body["deltas"]["granted"], goodwill.body["reason"]) == (
        "adjust",
        1,
        "goodwill",
    )
    assert desk.get(f"/packages/{package.id}").body["lines"][0]["granted"] == 11
    too_many = manager.post(f"/packages/{package.id}/adjustments", {"line_id": line_id, "delta": -12, "reason": "typo"})
    assert (too_many.status, too_many.body["code"]) == (409, "adjustment_too_large")
    zero = manager.post(f"/packages/{package.id}/adjustments", {"line_id": line_id, "delta": 0, "reason": "x"})
    assert (zero.status, zero.body["field"]) == (422, "delta")
    assert (
        desk.post(f"/packages/{package.id}/adjustments", {"line_id": line_id, "delta": 1, "reason": "x"}).body[
            "permission"
        ]
        == "adjust"
    )


def test_change_expiry_extend_and_clear(clinic, data, manager):
    package = data["package"]
    extended = manager.post(f"/packages/{package.id}/expiry", {"expires_on": "2026-08-31", "reason": "surgery"})
    assert extended.status == 200 and extended.body["expires_on"] == "2026-08-31"
    cleared = manager.post(f"/packages/{package.id}/expiry", {"expires_on": None, "reason": "lifetime"})
    assert (cleared.body["expires_on"], cleared.body["usable_until"]) == (None, None)
    missing = manager.post(f"/packages/{package.id}/expiry", {"reason": "forgot the date"})
    assert (missing.status, missing.body["field"]) == (422, "expires_on")
    no_reason = manager.post(f"/packages/{package.id}/expiry", {"expires_on": "2026-09-01", "reason": ""})
    assert (no_reason.status, no_reason.body["field"]) == (422, "reason")


def test_complete_and_cancel(clinic, data, manager):
    completed = manager.post(f"/packages/{data['package'].id}/complete", {"reason": "treatment plan changed"})
    assert completed.status == 200
    assert (completed.body["status"], completed.body["remaining"], completed.body["closed_reason"]) == (
        "completed",
        0,
        "treatment plan changed",
    )
    cancelled = manager.post(f"/packages/{data['shared'].id}/cancel", {"reason": "moved away"})
    assert cancelled.body["status"] == "cancelled"
    again = manager.post(f"/packages/{data['shared'].id}/cancel", {"reason": "again"})
    assert (again.status, again.body["code"]) == (409, "transition_not_allowed")


# ---------------------------------------------------------------- sharing, transfer, history


def test_beneficiaries_up_to_the_maximum_and_usage_by_person(clinic, data, desk):
    shared = data["shared"]
    for person in (clinic.kiran, clinic.lata, clinic.nikhil):
        added = desk.post(f"/packages/{shared.id}/beneficiaries", {"patient_id": person.id})
        assert added.status == 201 and added.body["patient"]["id"] == person.id
    fourth = desk.post(f"/packages/{shared.id}/beneficiaries", {"patient_id": clinic.priya.id})
    assert (fourth.status, fourth.body["code"]) == (409, "beneficiary_limit")
    yoga = {"service_id": clinic.services["yoga"].id, "centre_id": clinic.centre.id}
    desk.post(f"/packages/{shared.id}/redemptions", {**yoga, "person_id": clinic.kiran.id, "sessions": 2})
    desk.post(f"/packages/{shared.id}/redemptions", yoga)
    usage = {
        u["person"]["name"]: (u["sessions"], u["is_holder"], u["is_beneficiary"])
        for u in desk.get(f"/packages/{shared.id}/usage").body
    }
    assert usage == {
        "Ravi": (1, True, False),
        "Kiran": (2, False, True),
        "Lata": (0, False, True),
        "Nikhil": (0, False, True),
    }
    removed = desk.delete(f"/packages/{shared.id}/beneficiaries/{clinic.lata.id}")
    assert removed.status == 200 and removed.body["removed_at"]
    assert len(desk.get(f"/packages/{shared.id}").body["beneficiaries"]) == 2
    assert desk.delete(f"/packages/{shared.id}/beneficiaries/{clinic.lata.id}").status == 404
    not_shareable = desk.post(f"/packages/{data['package'].id}/beneficiaries", {"patient_id": clinic.kiran.id})
    assert (not_shareable.status, not_shareable.body["code"]) == (409, "not_shareable")


def test_transfer(clinic, data, manager):
    moved = manager.post(
        f"/packages/{data['shared'].id}/transfer", {"to_patient_id": clinic.priya.id, "reason": "gift to sister"}
    )
    assert moved.status == 201
    assert (moved.body["from_patient"]["id"], moved.body["to_patient"]["id"]) == (clinic.ravi.id, clinic.priya.id)
    assert manager.get(f"/packages/{data['shared'].id}").body["holder"]["id"] == clinic.priya.id
    refused = manager.post(f"/packages/{data['package'].id}/transfer", {"to_patient_id": clinic.priya.id})
    assert (refused.status, refused.body["code"]) == (409, "not_transferable")


def test_history_shows_every_entry_with_who_when_why_and_what_it_covered(clinic, data, desk, manager):
    package = data["package"]
    hold = desk.post(
        f"/packages/{package.id}/holds",
        {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id, "day": "2026-03-03"},
    ).body
    redemption = desk.post(f"/holds/{hold['id']}/post").body
    manager.post(f"/redemptions/{redemption['id']}/void", {"reason": "did not attend"})
    entries = manager.get(f"/packages/{package.id}/history").body["items"]
    assert [e["kind"] for e in entries] == ["grant", "grant", "hold", "redeem", "void"]
    hold_entry, redeem_entry, void_entry = entries[2:]
    assert (hold_entry["hold_id"], hold_entry["deltas"]["held"], hold_entry["person"]["id"]) == (
        hold["id"],
        1,
        clinic.asha.id,
    )
    assert (redeem_entry["redemption_id"], redeem_entry["hold_id"], redeem_entry["deltas"]["redeemed"]) == (
        redemption["id"],
        hold["id"],
        1,
    )
    assert void_entry["reason"] == "did not attend" and void_entry["reverses"] == redeem_entry["id"]
    assert void_entry["actor"].startswith("apikey:") and void_entry["source"].startswith("apikey:pc_")
    assert all(is_iso_with_offset(e["at"]) for e in entries)
    assert entries[0]["deltas"]["value"]["amount"] > 0  # managers read money
    assert desk.get(f"/packages/{package.id}/history").body["items"][0]["deltas"]["value"] is None


# ---------------------------------------------------------------- money


def test_refund_to_credit_then_pay_it_out(clinic, data, manager, accountant, desk):
    package = data["package"]
    clinic.redeem(package, "physio", sessions=2)
    money = accountant.get(f"/packages/{package.id}/money").body
    assert money["collected"]["amount"] == 800000
    assert money["suggested_refund"]["amount"] == 800000 * 10 // 12 + 1  # 666,666.67 rounded half up
    assert desk.get(f"/packages/{package.id}/money").body["permission"] == "read_money"
    over = manager.post(f"/packages/{package.id}/refund", {"amount": 900000, "reason": "moving away"})
    assert (over.status, over.body["code"], over.body["field"]) == (422, "refund_out_of_range", "amount")
    refunded = manager.post(f"/packages/{package.id}/refund", {"reason": "moving away"})
    assert refunded.status == 200 and refunded.body["amount"]["amount"] == money["suggested_refund"]["amount"]
    assert manager.get(f"/packages/{package.id}").body["status"] == "cancelled"
    credit = accountant.get(f"/patients/{clinic.asha.id}/credit").body["balance"]["amount"]
    assert credit == refunded.body["amount"]["amount"]
    paid_out = manager.post(f"/patients/{clinic.asha.id}/credit/payouts", {"method": "bank_transfer", "amount": credit})
    assert paid_out.status == 201 and paid_out.body["balance"]["amount"] == 0
    nothing_left = manager.post(f"/patients/{clinic.asha.id}/credit/payouts", {"method": "cash", "amount": 1})
    assert (nothing_left.status, nothing_left.body["code"]) == (409, "insufficient_credit")


def test_top_up_and_upgrade_make_orders(clinic, manager, desk):
    topped = clinic.plan("yoga-10", price=20000, lines=[clinic.line("yoga", sessions=10, top_up_price=2500)])
    bigger = clinic.plan("yoga-30", price=50000, lines=[clinic.line("yoga", sessions=30)])
    package = clinic.sell(topped, patient=clinic.nikhil)
    line_id = package.lines.get().id
    order = desk.post(f"/packages/{package.id}/top-ups", {"line_id": line_id, "sessions": 4})
    assert order.status == 201 and order.body["due"]["amount"] == 10000 and order.body["lines"][0]["kind"] == "top_up"
    desk.post(f"/orders/{order.body['id']}/payments", {"method": "cash", "amount": 10000})
    assert desk.get(f"/packages/{package.id}").body["granted"] == 14
    upgrade = desk.post(f"/packages/{package.id}/upgrade", {"plan_id": bigger.plan_id})
    assert upgrade.status == 201 and upgrade.body["lines"][0]["kind"] == "upgrade"
    assert upgrade.body["credit_applied"]["amount"] == 30000
    assert desk.get(f"/packages/{package.id}").body["status"] == "upgraded"


def test_money_is_formatted_for_the_tenant_locale(db):
    from ..clinic import Clinic

    clinic = Clinic.open(currency="USD")
    clinic.tenant.locale = "en_US"
    clinic.tenant.save()
    plan = clinic.plan("sixpack", price=60000, lines=[clinic.line("physio", sessions=6)])
    api = Api(api_key(clinic, "manager"))
    assert api.get(f"/plans/{plan.plan_id}").body["current"]["price"] == {
        "amount": 60000,
        "currency": "USD",
        "display": "$600.00",
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_of_the_last_sessions_never_overdraw(run_concurrently):
    from ..clinic import Clinic
    from .conftest import seed

    clinic = Clinic.open()
    package = seed(clinic)["package"]
    clinic.redeem(package, "physio", sessions=7)  # 3 physio sessions left
    secret = api_key(clinic, "front_desk")
    body = {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id}

    replies = run_concurrently(
        *[lambda: Api(secret).post(f"/packages/{package.id}/redemptions", body) for _ in range(8)]
    )

    assert all(not isinstance(r, BaseException) for r in replies), replies
    assert sorted(r.status for r in replies) == [201] * 3 + [409] * 5
    assert {r.body["code"] for r in replies if r.status == 409} == {"insufficient_sessions"}
    line = package.lines.order_by("id").first()
    assert (line.redeemed, line.available) == (10, 0)
    assert ledger_mismatches(clinic.tenant) == []
