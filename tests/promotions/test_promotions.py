"""Promotions at sale (SPEC §9): each kind, the sale window, plans, stacking, and the money."""

import datetime as dt

import pytest

from punchcard.billing import services as billing
from punchcard.billing.models import Order
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.packages.models import PackageLine
from punchcard.promotions import services as promotions

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import deferred

pytestmark = pytest.mark.django_db


def _promo(clinic, **kw):
    return promotions.create_promotion(tenant=clinic.tenant, actor=clinic.manager, **kw)


def _order(clinic, plan, *, patient=None, code=None, now=None, pay=True):
    order = billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=(patient or clinic.asha).id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
        promotion_code=code,
        now=now,
    )
    if pay and order.due:
        billing.record_payment(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="cash", amount=order.due, now=now
        )
    order.refresh_from_db()
    return order


@pytest.fixture
def clinic():
    return Clinic.open(now=local(2026, 1, 2, 10))


@pytest.fixture
def physio10(clinic):
    return clinic.plan("physio-10", name="Physio 10", price=800000, lines=[clinic.line("physio", sessions=10)])


def test_new_year_percentage_off_applies_in_its_window_to_its_plans_before_the_tax_split(clinic, physio10):
    taxed = clinic.plan(
        "physio-taxed", price=118000, tax_rate_bp=1800, tax_inclusive=True, lines=[clinic.line("physio", sessions=1)]
    )
    other = clinic.plan("facials", price=50000, lines=[clinic.line("facial", sessions=5)])
    _promo(
        clinic,
        name="New Year 10% off packages",
        kind="percent",
        percent_bp=1000,
        automatic=True,
        plan_ids=[physio10.plan_id, taxed.plan_id],
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 1, 15),
    )

    order = _order(clinic, physio10)
    line = order.lines.get()
    assert (line.discount, line.gross, order.discount, order.gross) == (80000, 720000, 80000, 720000)
    assert line.promotion["applied"][0]["name"] == "New Year 10% off packages"
    assert "10 % off" in line.promotion["applied"][0]["why"]
    package = line.packages.get()
    assert package.price_gross == 720000
    assert sum(PackageLine.objects.filter(package=package).values_list("deferred_value", flat=True)) == 720000
    first = clinic.redeem(package, "physio")
    assert first.value == 72000  # the allocation is of the price actually paid

    # Tax-inclusive: 10 % off 1,180.00 → 1,062.00, whose 18 % GST is split afterwards.
    line = _order(clinic, taxed).lines.get()
    assert (line.discount, line.gross, line.net, line.tax) == (11800, 106200, 90000, 16200)

    assert _order(clinic, other).lines.get().discount == 0  # not a chosen plan
    late = _order(clinic, physio10, now=local(2026, 1, 16, 10))  # after the window
    assert late.discount == 0 and late.lines.get().promotion == {}
    assert deferred(clinic.tenant) == 720000 - 72000 + 90000 + 50000 + 800000
    assert_reconciled(clinic.tenant)


def test_a_fixed_amount_off_by_code_and_codes_that_do_not_apply_are_refused(clinic, physio10):
    small = clinic.plan("one-facial", price=30000, lines=[clinic.line("facial", sessions=1)])
    _promo(clinic, name="Rs 500 off", kind="fixed", amount=50000, code="save500")
    order = _order(clinic, physio10, code="SAVE500")
    assert (order.discount, order.gross, order.lines.get().promotion["entered_code"]) == (50000, 750000, "SAVE500")
    assert _order(clinic, small, code="save500").gross == 0  # capped at the price: free, activated at once

    _promo(clinic, name="Old", kind="fixed", amount=100, code="OLD", valid_to=dt.date(2025, 12, 31))
    before = Order.objects.count()
    for code, why in [("NOPE", "no promotion"), ("OLD", "ended on 2025-12-31")]:
        with pytest.raises(Conflict) as refused:
            _order(clinic, physio10, code=code)
        assert refused.value.code == "promotion_not_applicable" and why in refused.value.message
    assert Order.objects.count() == before
    assert_reconciled(clinic.tenant)


def test_buy_3_free_1_as_bonus_sessions_spreads_the_price_over_four_sessions(clinic):
    three = clinic.plan("three-chiro", price=30000, lines=[clinic.line("chiro", sessions=3)])
    _promo(clinic, name="Buy 3 get 1 free", kind="bonus_sessions", buy=3, free=1, code="B3F1")
    order = _order(clinic, three, code="B3F1")
    line = order.lines.get()
    assert (line.discount, line.gross) == (0, 30000)
    assert line.promotion["bonus_sessions"] == {str(three.lines.get().id): 1}
    package = line.packages.get()
    (pline,) = PackageLine.objects.filter(package=package)
    assert (pline.granted, pline.deferred_value) == (4, 30000)
    values = [clinic.redeem(package, "chiro").value for _ in range(3)]
    assert values == [7500, 7500, 7500]  # SPEC §15 example 2: $300 / 4 sessions
    assert_reconciled(clinic.tenant)


def test_loyalty_tiers_by_packages_already_bought(clinic, physio10):
    _promo(
        clinic,
        name="Loyalty",
        kind="loyalty",
        automatic=True,
        tiers=[
            {"min": 1, "max": 2, "percent_bp": 500},
            {"min": 3, "max": 5, "percent_bp": 1000},
            {"min": 6, "max": None, "percent_bp": 1500},
        ],
    )
    discounts = [_order(clinic, physio10, patient=clinic.ravi).discount for _ in range(8)]
    # 0 bought: none; 1–2: 5 %; 3–5: 10 %; 6+: 15 %
    assert discounts == [0, 40000, 40000, 80000, 80000, 80000, 120000, 120000]
    assert _order(clinic, physio10, patient=clinic.kiran).discount == 0  # someone else's history is theirs
    last = Order.objects.filter(patient=clinic.ravi).order_by("-id").first().lines.get()
    assert "6+" in last.promotion["applied"][0]["why"] and "7 package(s)" in last.promotion["applied"][0]["why"]
    with pytest.raises(InvalidInput):
        _promo(
            clinic,
            name="Bad tiers",
            kind="loyalty",
            automatic=True,
            tiers=[{"min": 1, "max": 3, "percent_bp": 500}, {"min": 3, "max": None, "percent_bp": 900}],
        )
    assert_reconciled(clinic.tenant)


def test_one_promotion_per_line_unless_they_stack_and_the_order_says_why(clinic, physio10):
    ten = _promo(clinic, name="10% off", kind="percent", percent_bp=1000, automatic=True)
    fixed = _promo(clinic, name="Rs 1000 off", kind="fixed", amount=100000, automatic=True)
    line = _order(clinic, physio10).lines.get()
    assert [a["name"] for a in line.promotion["applied"]] == ["Rs 1000 off"]  # the better of the two
    assert line.discount == 100000
    (passed,) = line.promotion["not_applied"]
    assert passed["name"] == "10% off" and "does not stack" in passed["why"]

    promotions.retire_promotion(tenant=clinic.tenant, actor=clinic.manager, promotion_id=ten.id)
    promotions.retire_promotion(tenant=clinic.tenant, actor=clinic.manager, promotion_id=fixed.id)
    _promo(clinic, name="5% member", kind="percent", percent_bp=500, automatic=True, stackable=True, priority=1)
    _promo(clinic, name="Rs 200 off", kind="fixed", amount=20000, automatic=True, stackable=True, priority=2)
    _promo(clinic, name="Rs 500 off alone", kind="fixed", amount=50000, code="SOLO")
    line = _order(clinic, physio10).lines.get()
    # Stacked in priority order: 5 % of 8,000 = 400, then 200 more.
    assert [a["discount"] for a in line.promotion["applied"]] == [40000, 20000]
    assert line.discount == 60000
    # A typed code that is worth less than the stack loses to it, and the order says so.
    line = _order(clinic, physio10, code="SOLO").lines.get()
    assert line.discount == 60000 and line.promotion["entered_code"] == "SOLO"
    assert [p["why"] for p in line.promotion["not_applied"] if p["code"] == "SOLO"] == [
        "does not stack with other promotions; 5% member + Rs 200 off is worth more to the patient"
    ]
    assert_reconciled(clinic.tenant)


def test_quote_shows_the_price_without_writing(clinic, physio10):
    _promo(clinic, name="10% off", kind="percent", percent_bp=1000, code="TEN")
    (q,) = promotions.quote(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        plan_ids=[physio10.plan_id],
        promotion_code="ten",
    )
    assert (q.price, q.discount, q.gross) == (800000, 80000, 720000)
    assert Order.objects.count() == 0
