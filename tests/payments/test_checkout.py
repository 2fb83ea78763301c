"""The hosted checkout (for the portal's online purchase): start one for an order, the test provider's page
pays it with the chosen token and sends the patient back; the card is kept for next time."""

from __future__ import annotations

import pytest

from punchcard.billing.models import Checkout, Payment, PaymentMethod

from ..api.conftest import Api, api_key
from ..scenario import assert_reconciled
from .conftest import order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(clinic):
    return Api(api_key(clinic, "front_desk"))


def start(desk, order, **body):
    return desk.post(f"/orders/{order.id}/checkout", {"provider": "test", "return_url": "/portal/orders", **body})


def test_a_checkout_paid_on_the_test_page_pays_the_order(clinic, desk, physio):
    order = order_for(clinic, physio)
    started = start(desk, order)
    assert started.status == 201, started.body
    assert started.body["status"] == "open" and started.body["amount"]["amount"] == 500000
    assert started.body["redirect_url"] == f"/api/v1/providers/test/checkout/{started.body['session']}"

    page = Api(None).client.get(started.body["redirect_url"], {"token": "tok_ok"})  # the patient, no API key

    assert page.status_code == 303
    assert page["Location"] == f"/portal/orders?checkout={started.body['session']}&status=paid"
    order.refresh_from_db()
    assert (order.status, order.paid) == ("paid", 500000)
    assert PaymentMethod.objects.get().patient == clinic.asha  # kept for the next purchase
    assert Payment.objects.get().attempt.idempotency_key == f"checkout:{started.body['session']}"
    again = Api(None).client.get(started.body["redirect_url"], {"token": "tok_ok"})
    assert again.status_code == 303 and Payment.objects.count() == 1  # opening it again changes nothing
    assert_reconciled(clinic.tenant)


def test_a_declined_checkout_fails_and_pays_nothing(clinic, desk, physio):
    order = order_for(clinic, physio)
    session = start(desk, order).body["session"]
    page = Api(None).client.get(f"/api/v1/providers/test/checkout/{session}", {"token": "tok_declined"})
    assert page["Location"].endswith("status=failed")
    assert Checkout.objects.get().status == "failed" and not Payment.objects.exists()
    assert desk.get(f"/orders/{order.id}").body["status"] == "open"


def test_checkout_refusals(clinic, desk, physio):
    order = order_for(clinic, physio)
    assert start(desk, order, return_url="//evil.example").status == 422
    assert start(desk, order, provider="manual").body["code"] == "provider_unsupported"
    bad = Api(None).client.get("/api/v1/providers/test/checkout/cs_test_nope")
    assert bad.status_code == 404
    session = start(desk, order).body["session"]
    unknown_token = Api(None).client.get(f"/api/v1/providers/test/checkout/{session}", {"token": "tok_what"})
    assert unknown_token.status_code == 409  # the checkout stays open for a real token
    assert Checkout.objects.get(session=session).status == "open"
