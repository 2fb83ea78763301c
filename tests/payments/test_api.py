"""The payment-method routes: 201 and the stored card, problems with stable codes, roles, tenancy."""

from __future__ import annotations

import pytest

from punchcard.billing.models import Payment, PaymentAttempt, PaymentMethod

from ..api.conftest import Api, api_key
from ..clinic import Clinic
from ..scenario import assert_reconciled
from .conftest import order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(clinic):
    return Api(api_key(clinic, "front_desk"))


def test_the_desk_stores_a_card_lists_it_and_detaches_it(clinic, desk):
    path = f"/patients/{clinic.asha.id}/payment-methods"
    added = desk.post(path, {"provider": "test", "token": "tok_ok"}, headers={"Idempotency-Key": "card-1"})
    assert added.status == 201, added.body
    body = added.body
    assert {
        k: body[k] for k in ("patient_id", "provider", "brand", "last4", "expiry_month", "expiry_year", "status")
    } == {
        "patient_id": clinic.asha.id,
        "provider": "test",
        "brand": "Visa",
        "last4": "4242",
        "expiry_month": 12,
        "expiry_year": 2029,
        "status": "active",
    }
    assert "reference" not in body and "token" not in body  # what charges it is never shown
    again = desk.post(path, {"provider": "test", "token": "tok_ok"}, headers={"Idempotency-Key": "card-1"})
    assert again.body == body and again.headers["Idempotent-Replayed"] == "true"
    assert PaymentMethod.objects.count() == 1

    listed = desk.get(path)
    assert [m["id"] for m in listed.body["items"]] == [body["id"]]

    gone = desk.delete(f"/payment-methods/{body['id']}")
    assert (gone.status, gone.body["status"]) == (200, "detached") and gone.body["detached_at"]
    assert desk.get(path, status="active").body["items"] == []
    assert [m["id"] for m in desk.get(path, status="detached").body["items"]] == [body["id"]]


@pytest.mark.parametrize(
    "payload, status, code, field",
    [
        ({"provider": "test", "token": "tok_bogus"}, 409, "payment_method_refused", "token"),
        ({"provider": "stripe", "token": "tok_ok"}, 422, "unknown_provider", "provider"),
        ({"provider": "manual", "token": "cheque"}, 409, "payment_method_refused", "token"),
        ({"provider": "test"}, 422, "invalid", "token"),
        ({"provider": "test", "token": "tok_ok", "number": "4242424242424242"}, 422, "invalid", "number"),
    ],
)
def test_refusals_are_problems_naming_the_rule_and_write_nothing(clinic, desk, payload, status, code, field):
    reply = desk.post(f"/patients/{clinic.asha.id}/payment-methods", payload)
    assert (reply.status, reply.body["code"], reply.body["field"]) == (status, code, field), reply.body
    assert reply.content_type.startswith("application/problem+json")
    assert not PaymentMethod.objects.exists()


def test_another_tenants_patient_and_method_are_404(clinic, desk):
    other = Clinic.open(slug="other-clinic")
    theirs = desk.post(f"/patients/{other.asha.id}/payment-methods", {"provider": "test", "token": "tok_ok"})
    assert (theirs.status, theirs.body["code"]) == (404, "not_found")
    their_card = Api(api_key(other, "front_desk")).post(
        f"/patients/{other.asha.id}/payment-methods", {"provider": "test", "token": "tok_ok"}
    )
    assert their_card.status == 201
    assert desk.delete(f"/payment-methods/{their_card.body['id']}").status == 404
    assert desk.get(f"/patients/{other.asha.id}/payment-methods").status == 404
    assert PaymentMethod.objects.get().status == "active"


def test_an_accountant_may_read_but_not_add(clinic):
    accountant = Api(api_key(clinic, "accountant"))
    refused = accountant.post(f"/patients/{clinic.asha.id}/payment-methods", {"provider": "test", "token": "tok_ok"})
    assert (refused.status, refused.body["permission"]) == (403, "sell")
    assert accountant.get(f"/patients/{clinic.asha.id}/payment-methods").status == 200


def test_an_order_charged_to_a_stored_card(clinic, desk, physio):
    order = order_for(clinic, physio)
    method = desk.post(f"/patients/{clinic.asha.id}/payment-methods", {"provider": "test", "token": "tok_ok"}).body
    path = f"/orders/{order.id}/charges"

    paid = desk.post(path, {"payment_method_id": method["id"]}, headers={"Idempotency-Key": "pay-1"})

    assert paid.status == 201, paid.body
    assert paid.body["order"]["status"] == "paid" and paid.body["order"]["due"]["amount"] == 0
    assert paid.body["payment"]["method"] == "external" and paid.body["payment"]["amount"]["amount"] == 500000
    assert desk.post(path, {"payment_method_id": method["id"]}, headers={"Idempotency-Key": "pay-1"}).body == paid.body
    assert Payment.objects.count() == 1 and PaymentAttempt.objects.count() == 1
    assert_reconciled(clinic.tenant)


def test_a_declined_charge_is_a_409_with_the_failure_code(clinic, desk, physio):
    order = order_for(clinic, physio)
    method = desk.post(f"/patients/{clinic.asha.id}/payment-methods", {"provider": "test", "token": "tok_declined"})
    reply = desk.post(f"/orders/{order.id}/charges", {"payment_method_id": method.body["id"]})
    assert (reply.status, reply.body["code"]) == (409, "payment_failed")
    assert reply.body["context"]["failure_code"] == "card_declined"
    assert desk.get(f"/orders/{order.id}").body["status"] == "open"
    assert PaymentAttempt.objects.get().outcome == "failed"  # the attempt is kept: the desk can see it failed
