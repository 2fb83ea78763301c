"""A typed promotion code applies where the sale happens: `POST /orders` and `punchcard sell --promotion-code`."""

import pytest

from punchcard.billing.models import Order

from ..api.conftest import Api, api_key
from ..cli.conftest import run
from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    return Clinic.open(now=local(2026, 3, 1, 10))


@pytest.fixture
def spring(clinic):
    plan = clinic.plan("physio-10", name="Physiotherapy 10", price=1000000, lines=[clinic.line("physio", sessions=10)])
    manager = Api(api_key(clinic, "manager"))
    created = manager.post(
        "/promotions",
        {"name": "Spring 10%", "kind": "percent", "percent_bp": 1000, "code": "spring", "plan_ids": [plan.plan_id]},
    )
    assert created.status == 201, created.body
    return plan


def test_post_orders_applies_the_typed_code_as_quoted(clinic, spring):
    desk = Api(api_key(clinic, "front_desk"))
    quoted = desk.get(
        "/promotions/quote",
        patient_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        plan_id=spring.plan_id,
        promotion_code="spring",
    )
    assert quoted.status == 200 and quoted.body[0]["gross"]["amount"] == 900000
    order = desk.post(
        "/orders",
        {
            "patient_id": clinic.asha.id,
            "centre_id": clinic.centre.id,
            "items": [{"plan_id": spring.plan_id}],
            "promotion_code": "spring",
        },
    )
    assert order.status == 201, order.body
    assert order.body["gross"]["amount"] == quoted.body[0]["gross"]["amount"] == 900000
    paid = desk.post(f"/orders/{order.body['id']}/payments", {"method": "card", "amount": 900000})
    assert paid.status == 201, paid.body
    assert paid.body["order"]["status"] == "paid"

    unknown = desk.post(
        "/orders",
        {
            "patient_id": clinic.asha.id,
            "centre_id": clinic.centre.id,
            "items": [{"plan_id": spring.plan_id}],
            "promotion_code": "autumn",
        },
    )
    assert unknown.status == 409 and unknown.body["code"] == "promotion_not_applicable"
    assert unknown.body["field"] == "promotion_code"
    assert Order.objects.filter(tenant=clinic.tenant).count() == 1
    assert_reconciled(clinic.tenant)


def test_punchcard_sell_takes_a_promotion_code(clinic, spring):
    args = ("sell", clinic.asha.external_ref, "physio-10", "--tenant", clinic.tenant.slug)
    result = run(*args, "--promotion-code", "SPRING")
    assert result.code == 0, result.err
    assert "₹9,000.00 paid" in result.out
    order = Order.objects.get(tenant=clinic.tenant)
    assert order.gross == 900000 and order.status == "paid"

    refused = run(*args, "--promotion-code", "autumn")
    assert refused.code != 0 and "promotion_not_applicable" in refused.err
    assert Order.objects.filter(tenant=clinic.tenant).count() == 1
    assert_reconciled(clinic.tenant)
