"""Defect 1: a plan whose fixed expiry has passed is neither put on sale nor sold, and a sale window that
runs past the fixed expiry is shown as a warning with the plan."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard import clock
from punchcard.billing.models import Order
from punchcard.domain.errors import Conflict
from punchcard.packages.models import Package

from ..clinic import local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db

FIXED = {"kind": "fixed_date", "fixed_date": "2026-04-30"}


@pytest.fixture
def festival(clinic):
    """A festival pack valid until 30 April 2026, on sale until 30 June (two months too long)."""
    return clinic.plan(
        "festival", price=50000, lines=[clinic.line("yoga", sessions=5)], expiry=FIXED, sale_to=dt.date(2026, 6, 30)
    )


def _order(clinic, plan):
    return {"patient_id": clinic.lata.id, "centre_id": clinic.centre.id, "items": [{"plan_id": plan.plan_id}]}


def test_the_plan_warns_when_its_last_sale_date_is_after_the_fixed_expiry(clinic, festival, manager):
    warnings = manager.get(f"/plans/{festival.plan_id}").body["current"]["warnings"]
    assert warnings == [
        "the last sale date 2026-06-30 is after the fixed expiry 2026-04-30: sales after the expiry are refused"
    ]
    sound = clinic.plan("sound", price=100, lines=[clinic.line("yoga", sessions=1)], expiry={"kind": "none"})
    assert manager.get(f"/plans/{sound.plan_id}").body["current"]["warnings"] == []


def test_an_expired_plan_is_refused_at_the_sale_through_the_api(clinic, festival, desk, manager):
    assert desk.post("/orders", _order(clinic, festival)).status == 201  # before the expiry: fine
    clock.set_now(local(2026, 5, 5, 10))
    orders = Order.objects.count()
    refused = desk.post("/orders", _order(clinic, festival))
    assert (refused.status, refused.body["code"], refused.body["field"]) == (409, "plan_expired", "items[0].plan_id")
    assert "expired on 2026-04-30" in refused.body["detail"]
    assert Order.objects.count() == orders
    shown = manager.get(f"/plans/{festival.plan_id}").body["current"]["warnings"]
    assert shown == ["the fixed expiry 2026-04-30 has passed: the plan cannot be sold"]
    assert_reconciled(clinic.tenant)


def test_an_expired_plan_is_refused_by_the_service_and_cannot_go_back_on_sale(clinic, festival, manager):
    clock.set_now(local(2026, 5, 1, 9))
    packages = Package.objects.count()
    with pytest.raises(Conflict) as refused:
        clinic.sell(festival, patient=clinic.lata)
    assert refused.value.code == "plan_expired"
    assert Package.objects.count() == packages
    assert manager.post(f"/plans/{festival.plan_id}/status", {"status": "retired"}).status == 200
    again = manager.post(f"/plans/{festival.plan_id}/status", {"status": "on_sale"})
    assert (again.status, again.body["code"]) == (409, "plan_expired")
    assert manager.get(f"/plans/{festival.plan_id}").body["status"] == "retired"
    assert_reconciled(clinic.tenant)
