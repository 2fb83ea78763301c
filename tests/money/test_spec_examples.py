"""SPEC §15 worked examples 1–3, exactly, in minor units (paise for INR, cents for USD)."""

import datetime as dt

import pytest

from punchcard.billing import selectors as money
from punchcard.billing import services as billing
from punchcard.billing.models import OrderStatus, Refund
from punchcard.domain.allocation import LineForAllocation, allocate_to_lines, session_values
from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages import selectors
from punchcard.packages import services as packages
from punchcard.packages.models import EntryKind, PackageLine, SessionEntry

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import by_role, refused, trial_balance, writes_nothing

pytestmark = pytest.mark.django_db

NINETY_DAYS = {"kind": "after_start", "count": 90, "unit": "days"}
THIRTY_DAYS = {"kind": "after_start", "count": 30, "unit": "days"}


def _recovery_pack(clinic):
    return clinic.plan(
        "physio-recovery",
        name="Physiotherapy Recovery Pack",
        price=800000,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
        expiry=NINETY_DAYS,
    )


def test_spec_example_1_allocation_by_list_value_to_the_paisa():
    clinic = Clinic.open()
    assert (clinic.services["physio"].list_price, clinic.services["doctor"].list_price) == (100000, 150000)
    plan = _recovery_pack(clinic)
    assert plan.total_sessions == 12

    # The pure rule: 10,000/13,000 × 8,000 and 3,000/13,000 × 8,000, largest remainder.
    terms = [LineForAllocation(100000, 10), LineForAllocation(150000, 2)]
    assert allocate_to_lines(800000, terms) == [615385, 184615]
    assert session_values(615385, 10) == [61539] * 5 + [61538] * 5
    assert session_values(184615, 2) == [92308, 92307]

    package = clinic.sell(plan)
    physio, doctor = PackageLine.objects.filter(package=package).order_by("id")
    assert (physio.granted, physio.deferred_value) == (10, 615385)
    assert (doctor.granted, doctor.deferred_value) == (2, 184615)
    grants = SessionEntry.objects.filter(package=package, kind=EntryKind.GRANT).order_by("line_id")
    assert [(g.granted, g.value) for g in grants] == [(10, 615385), (2, 184615)]
    assert trial_balance(clinic.tenant) == {Role.CASH: 800000, Role.DEFERRED_REVENUE: -800000}

    physio_values = [clinic.redeem(package, "physio").value for _ in range(10)]
    doctor_values = [clinic.redeem(package, "doctor").value for _ in range(2)]
    assert sorted(physio_values, reverse=True) == [61539] * 5 + [61538] * 5
    assert sorted(doctor_values, reverse=True) == [92308, 92307]
    assert sum(physio_values) == 615385 and sum(doctor_values) == 184615
    assert sum(physio_values) + sum(doctor_values) == 800000

    # Every session's value left deferred revenue for package revenue; nothing is deferred any more.
    recognised = Posting.objects.filter(entry__kind="redemption", account__role=Role.PACKAGE_REVENUE)
    assert sorted(-p.amount for p in recognised) == sorted(physio_values + doctor_values)
    assert trial_balance(clinic.tenant) == {Role.CASH: 800000, Role.PACKAGE_REVENUE: -800000}
    assert selectors.summarize(package).status.status == "exhausted"
    assert money.package_money(package) == money.PackageMoney(sold=800000, recognised=800000)
    assert_reconciled()


def test_spec_example_2_buy_3_free_1_breakage():
    clinic = Clinic.open(currency="USD")
    plan = clinic.plan(
        "b3f1", name="Buy 3 Free 1", price=30000, lines=[clinic.line("chiro", sessions=3, bonus=1)], expiry=THIRTY_DAYS
    )
    package = clinic.sell(plan)
    (line,) = PackageLine.objects.filter(package=package)
    assert (line.granted, line.deferred_value) == (4, 30000)

    assert [clinic.redeem(package, "chiro").value for _ in range(3)] == [7500, 7500, 7500]
    package.refresh_from_db()
    last_day = package.expires_on
    assert last_day == package.start_date + dt.timedelta(days=29)

    # The nightly sweep on the last valid day changes nothing; the day after, $75.00 is breakage.
    assert packages.expire_due_packages(as_of=last_day, now=local(2026, 3, 30, 23, 30)) == 0
    after = last_day + dt.timedelta(days=1)
    assert packages.expire_due_packages(as_of=after, now=local(after.year, after.month, after.day, 0, 5)) == 1

    (entry,) = JournalEntry.objects.filter(tenant=clinic.tenant, kind="breakage")
    assert entry.date == after and entry.currency == "USD"
    rows = by_role(entry)
    assert rows == {Role.DEFERRED_REVENUE: 7500, Role.BREAKAGE_REVENUE: -7500}
    line.refresh_from_db()
    assert (line.remaining, line.forfeited, line.deferred_value) == (0, 1, 0)
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 30000,
        Role.PACKAGE_REVENUE: -22500,
        Role.BREAKAGE_REVENUE: -7500,
    }
    assert money.package_money(package) == money.PackageMoney(sold=30000, recognised=22500, breakage=7500)

    # Idempotent: a second sweep finds nothing left to forfeit.
    assert packages.expire_due_packages(as_of=after + dt.timedelta(days=1)) == 0
    assert JournalEntry.objects.filter(tenant=clinic.tenant, kind="breakage").count() == 1
    assert_reconciled()


def _six_session_package(clinic, code="six-pack"):
    plan = clinic.plan(code, price=60000, lines=[clinic.line("chiro", sessions=6)], expiry=NINETY_DAYS)
    package = clinic.sell(plan)
    clinic.redeem(package, "chiro")
    clinic.redeem(package, "chiro")
    return package


def test_spec_example_3_refund_suggested_override_refused_then_zero_accepted():
    clinic = Clinic.open(currency="USD")
    package = _six_session_package(clinic)
    assert money.collected_for(package) == 60000
    assert money.suggested_refund(package) == 40000

    error = refused(
        "refund_out_of_range",
        billing.refund_package,
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        reason="moving away",
        amount=65000,
    )
    assert error.context["collected"] == 60000
    assert Refund.objects.count() == 0

    refund = billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="patient agreed to forfeit", amount=0
    )
    assert (refund.amount, refund.suggested, refund.deferred_cleared) == (0, 40000, 40000)
    package.refresh_from_db()
    assert selectors.summarize(package).status.status == "cancelled"
    assert money.credit_balance(clinic.tenant, clinic.asha.id) == 0
    entry = JournalEntry.objects.get(tenant=clinic.tenant, kind="refund")
    assert by_role(entry) == {Role.DEFERRED_REVENUE: 40000, Role.REFUND_ADJUSTMENTS: -40000}

    # Afterwards the package cannot be used: neither redeemed nor held.
    refused("package_closed", clinic.redeem, package, "chiro")
    refused("package_closed", clinic.hold, package, "chiro", dt.date(2026, 3, 5))
    # Nor refunded again.
    refused(
        "not_refundable",
        billing.refund_package,
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        reason="again",
        amount=0,
    )
    assert money.package_money(package) == money.PackageMoney(sold=60000, recognised=20000, refunded=40000)
    assert_reconciled()


def test_spec_example_3_refund_is_credit_paid_out_or_spent_as_a_second_step():
    clinic = Clinic.open(currency="USD")
    package = _six_session_package(clinic)
    refund = billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="moving away"
    )  # the suggestion
    assert refund.amount == 40000
    assert money.credit_balance(clinic.tenant, clinic.asha.id) == 40000
    assert money.credit_balance(clinic.tenant, clinic.ravi.id) == 0
    refused("package_closed", clinic.redeem, package, "chiro")

    # Step two, part one: $100 back to the card.
    billing.pay_out_credit(
        tenant=clinic.tenant,
        actor=clinic.manager,
        patient_id=clinic.asha.id,
        method="card",
        amount=10000,
        reference="reversal 991",
    )
    assert money.credit_balance(clinic.tenant, clinic.asha.id) == 30000
    refused(
        "insufficient_credit",
        billing.pay_out_credit,
        tenant=clinic.tenant,
        actor=clinic.manager,
        patient_id=clinic.asha.id,
        method="cash",
        amount=30001,
    )

    # Part two: the rest pays towards a new purchase, topped up in cash.
    plan = clinic.plan("five-pack", price=50000, lines=[clinic.line("chiro", sessions=5)], expiry=NINETY_DAYS)
    order = billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
    )
    refused(
        "insufficient_credit",
        billing.record_payment,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="credit",
        amount=30001,
    )
    billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="credit", amount=30000
    )
    billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="cash", amount=20000
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.due == 0
    new = order.lines.get().packages.get()
    assert selectors.summarize(new).status.status == "active"
    assert money.credit_balance(clinic.tenant, clinic.asha.id) == 0
    refused(
        "insufficient_credit",
        billing.pay_out_credit,
        tenant=clinic.tenant,
        actor=clinic.manager,
        patient_id=clinic.asha.id,
        method="cash",
        amount=1,
    )

    assert trial_balance(clinic.tenant) == {
        Role.CASH: 60000 + 20000,
        Role.CARD_CLEARING: -10000,
        Role.PACKAGE_REVENUE: -20000,
        Role.DEFERRED_REVENUE: -50000,
    }
    assert_reconciled()


def test_refund_overrides_outside_zero_to_collected_write_nothing():
    clinic = Clinic.open(currency="USD")
    package = _six_session_package(clinic)
    for amount in (-1, 60001, 10**9, "400.00", 1.5, True):
        refused(
            "refund_out_of_range",
            billing.refund_package,
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=package.id,
            reason="x",
            amount=amount,
        )
    with writes_nothing():
        assert money.suggested_refund(package) == 40000
    # The whole amount collected is the upper bound, and is accepted.
    refund = billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="clinic closed", amount=60000
    )
    assert refund.amount == 60000
    assert money.credit_balance(clinic.tenant, clinic.asha.id) == 60000
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 60000,
        Role.PACKAGE_REVENUE: -20000,
        Role.PATIENT_CREDIT: -60000,
        Role.REFUND_ADJUSTMENTS: 20000,
    }
    assert_reconciled()
