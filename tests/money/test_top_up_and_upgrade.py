"""SPEC §8.4: top-ups re-spread the remaining sessions' value; upgrades carry the deferred value across."""

import datetime as dt

import pytest

from punchcard.billing import selectors as money
from punchcard.billing import services as billing
from punchcard.billing.models import OrderLineKind, OrderStatus
from punchcard.domain.money import split_evenly
from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry
from punchcard.packages import selectors
from punchcard.packages.models import EntryKind, Package, PackageLine, SessionEntry

from ..clinic import Clinic
from ..scenario import assert_reconciled
from .support import by_role, refused, trial_balance

pytestmark = pytest.mark.django_db

NINETY_DAYS = {"kind": "after_start", "count": 90, "unit": "days"}


def _pay(clinic, order, *parts):
    for method, amount in parts:
        billing.record_payment(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method=method, amount=amount
        )
    order.refresh_from_db()
    return order


def test_top_up_grants_when_paid_and_re_spreads_the_remaining_value():
    clinic = Clinic.open()
    plan = clinic.plan(
        "physio-recovery",
        price=800000,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=10, top_up_price=90000), clinic.line("doctor", sessions=2)],
    )
    package = clinic.sell(plan)
    physio, doctor = PackageLine.objects.filter(package=package).order_by("id")
    used = [clinic.redeem(package, "physio").value for _ in range(3)]
    assert used == [61539] * 3
    physio.refresh_from_db()
    assert (physio.remaining, physio.deferred_value) == (7, 615385 - 3 * 61539)

    order = billing.top_up_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, line_id=physio.id, sessions=5
    )
    line = order.lines.get()
    assert (line.kind, line.sessions, line.target_line_id, order.gross, order.status) == (
        OrderLineKind.TOP_UP,
        5,
        physio.id,
        450000,
        OrderStatus.OPEN,
    )
    # Nothing is granted, nor any money deferred, before the order is paid.
    _pay(clinic, order, ("cash", 200000))
    physio.refresh_from_db()
    assert (physio.granted, physio.deferred_value) == (10, 430768)
    assert not SessionEntry.objects.filter(package=package, kind=EntryKind.TOP_UP).exists()
    assert_reconciled()

    order = _pay(clinic, order, ("card", 250000))
    assert (order.due, order.status) == (0, OrderStatus.PAID)
    physio.refresh_from_db()
    assert (physio.granted, physio.remaining, physio.deferred_value) == (15, 12, 430768 + 450000)
    top_up = SessionEntry.objects.get(package=package, kind=EntryKind.TOP_UP)
    assert (top_up.line_id, top_up.granted, top_up.value) == (physio.id, 5, 450000)
    assert money.collected_for(package) == 1250000
    assert money.package_money(package) == money.PackageMoney(
        sold=1250000, recognised=3 * 61539, deferred=1250000 - 3 * 61539
    )
    assert_reconciled()

    # The twelve physio sessions left now carry the re-spread value, largest remainder first.
    rest = [clinic.redeem(package, "physio").value for _ in range(12)]
    assert rest == split_evenly(880768, 12) == [73398] * 4 + [73397] * 8
    assert sum(used) + sum(rest) == 615385 + 450000
    doctor.refresh_from_db()
    assert doctor.deferred_value == 184615  # the other line is untouched
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 800000 + 200000,
        Role.CARD_CLEARING: 250000,
        Role.PACKAGE_REVENUE: -(615385 + 450000),
        Role.DEFERRED_REVENUE: -184615,
    }
    assert_reconciled()


def test_top_up_with_tax_grows_the_deferred_value_by_the_net():
    clinic = Clinic.open()
    plan = clinic.plan(
        "taxed",
        price=118000,
        tax_rate_bp=1800,
        tax_inclusive=True,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=5, top_up_price=23600)],
    )
    package = clinic.sell(plan)
    (line,) = PackageLine.objects.filter(package=package)
    assert line.deferred_value == 100000
    clinic.redeem(package, "physio")  # 20000
    order = billing.top_up_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, line_id=line.id, sessions=2
    )
    assert (order.gross, order.net, order.tax) == (47200, 40000, 7200)
    _pay(clinic, order, ("bank_transfer", 47200))
    line.refresh_from_db()
    assert (line.granted, line.remaining, line.deferred_value) == (7, 6, 80000 + 40000)
    sale = JournalEntry.objects.get(kind="sale", event_type="order_line", event_id=order.lines.get().id)
    assert by_role(sale) == {Role.RECEIVABLE: 47200, Role.TAX_PAYABLE: -7200, Role.DEFERRED_REVENUE: -40000}
    assert [clinic.redeem(package, "physio").value for _ in range(6)] == [20000] * 6
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 118000,
        Role.BANK: 47200,
        Role.TAX_PAYABLE: -25200,
        Role.PACKAGE_REVENUE: -140000,
    }
    assert_reconciled()


def _small_and_large(clinic):
    small = clinic.plan(
        "small", price=50000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=5, top_up_price=10000)]
    )
    large = clinic.plan("large", price=90000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=10)])
    return small, large


def test_upgrade_credits_the_remaining_value_and_activates_the_new_package_when_paid():
    clinic = Clinic.open()
    small, large = _small_and_large(clinic)
    old = clinic.sell(small)
    clinic.redeem(old, "physio")
    clinic.redeem(old, "physio")

    order = billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, plan_id=large.plan_id
    )
    assert (order.gross, order.credit_applied, order.due, order.status) == (90000, 30000, 60000, OrderStatus.OPEN)
    old.refresh_from_db()
    assert old.closure == "upgraded" and old.upgraded_to is None
    assert selectors.summarize(old).status.status == "upgraded"
    assert not Package.objects.filter(order_line__order=order).exists()
    refused("package_closed", clinic.redeem, old, "physio")
    assert_reconciled()

    _pay(clinic, order, ("card", 60000))
    new = Package.objects.get(order_line__order=order)
    old.refresh_from_db()
    assert old.upgraded_to_id == new.id
    summary = selectors.summarize(new)
    assert (summary.status.status, summary.granted, summary.deferred_value) == ("active", 10, 90000)
    assert money.package_money(old) == money.PackageMoney(sold=50000, recognised=20000, upgraded=30000)
    assert money.package_money(new) == money.PackageMoney(sold=90000, deferred=90000)
    assert money.collected_for(new) == 90000
    credit = JournalEntry.objects.get(kind="upgrade_credit")
    assert by_role(credit) == {Role.DEFERRED_REVENUE: 30000, Role.RECEIVABLE: -30000}
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 50000,
        Role.CARD_CLEARING: 60000,
        Role.PACKAGE_REVENUE: -20000,
        Role.DEFERRED_REVENUE: -90000,
    }
    assert clinic.redeem(new, "physio").value == 9000
    assert_reconciled()


def test_upgrade_fully_covered_by_the_credit_activates_at_once():
    """Only a top-up can make the credit reach the new price: the upgrade order then owes nothing."""
    clinic = Clinic.open()
    small, _ = _small_and_large(clinic)
    exact = clinic.plan("exact", price=100000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=11)])
    old = clinic.sell(small)
    (line,) = PackageLine.objects.filter(package=old)
    _pay(
        clinic,
        billing.top_up_package(
            tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, line_id=line.id, sessions=5
        ),
        ("cash", 50000),
    )
    order = billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, plan_id=exact.plan_id
    )
    assert (order.gross, order.credit_applied, order.due, order.status) == (100000, 100000, 0, OrderStatus.PAID)
    new = Package.objects.get(order_line__order=order)
    old.refresh_from_db()
    assert old.upgraded_to_id == new.id
    assert trial_balance(clinic.tenant) == {Role.CASH: 100000, Role.DEFERRED_REVENUE: -100000}
    assert_reconciled()


def test_upgrade_owing_one_paisa_waits_for_it():
    clinic = Clinic.open()
    small = clinic.plan("small", price=50000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=5)])
    larger = clinic.plan("larger", price=50001, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=6)])
    old = clinic.sell(small)
    order = billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, plan_id=larger.plan_id
    )
    assert (order.credit_applied, order.due, order.status) == (50000, 1, OrderStatus.OPEN)
    old.refresh_from_db()
    assert old.upgraded_to is None
    refused(
        "overpayment",
        billing.record_payment,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="cash",
        amount=2,
    )
    _pay(clinic, order, ("cash", 1))
    old.refresh_from_db()
    assert old.upgraded_to is not None
    assert old.upgraded_to.lines.get().deferred_value == 50001
    assert_reconciled()


def test_upgrade_after_a_top_up_credits_more_than_the_original_price():
    """The top-up's money is deferred too, so the credit may exceed the old sale price; the new order can
    never be owed less than nothing."""
    clinic = Clinic.open()
    small, _ = _small_and_large(clinic)
    eleven = clinic.plan("eleven", price=90000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=11)])
    old = clinic.sell(small)
    (line,) = PackageLine.objects.filter(package=old)
    top_up = billing.top_up_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, line_id=line.id, sessions=5
    )
    _pay(clinic, top_up, ("cash", 50000))
    line.refresh_from_db()
    assert (line.granted, line.deferred_value) == (10, 100000)
    # 11 sessions for 90,000 is not larger than the 10 sessions already paid 100,000 for.
    refused(
        "upgrade_not_larger",
        billing.upgrade_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=old.id,
        plan_id=eleven.plan_id,
    )
    bigger = clinic.plan("bigger", price=120000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=12)])
    order = billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, plan_id=bigger.plan_id
    )
    assert (order.credit_applied, order.due) == (100000, 20000)
    _pay(clinic, order, ("card", 20000))
    assert_reconciled()


# ---------------------------------------------------------------- refusals that write nothing


def test_upgrade_to_a_smaller_plan_is_refused_and_writes_nothing():
    clinic = Clinic.open()
    small, _ = _small_and_large(clinic)
    fewer = clinic.plan("fewer", price=95000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=4)])
    same = clinic.plan("same", price=95000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=5)])
    cheaper = clinic.plan("cheaper", price=40000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=12)])
    equal_price = clinic.plan("equal", price=50000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=12)])
    package = clinic.sell(small)
    for plan in (fewer, same, cheaper, equal_price, small):
        refused(
            "upgrade_not_larger",
            billing.upgrade_package,
            tenant=clinic.tenant,
            actor=clinic.front_desk,
            package_id=package.id,
            plan_id=plan.plan_id,
        )
    package.refresh_from_db()
    assert package.closure is None
    assert_reconciled()


def test_top_up_of_an_expired_package_is_refused_and_writes_nothing():
    clinic = Clinic.open()
    small, _ = _small_and_large(clinic)
    package = clinic.sell(small)
    (line,) = PackageLine.objects.filter(package=package)
    later = clinic.now + dt.timedelta(days=120)
    assert selectors.summarize(package, now=later).status.status == "expired"
    refused(
        "topup_not_allowed",
        billing.top_up_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        line_id=line.id,
        sessions=1,
        now=later,
    )
    # Swept, too.
    from punchcard.packages import services as packages

    packages.expire_due_packages(as_of=later.date(), now=later)
    refused(
        "topup_not_allowed",
        billing.top_up_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        line_id=line.id,
        sessions=1,
        now=later,
    )
    assert_reconciled()


def test_top_up_of_a_line_without_a_top_up_price_is_refused_and_writes_nothing():
    clinic = Clinic.open()
    plan = clinic.plan(
        "mixed",
        price=800000,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=10, top_up_price=90000), clinic.line("doctor", sessions=2)],
    )
    package = clinic.sell(plan)
    physio, doctor = PackageLine.objects.filter(package=package).order_by("id")
    refused(
        "topup_not_allowed",
        billing.top_up_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        line_id=doctor.id,
        sessions=1,
    )
    refused(
        "not_found",
        billing.top_up_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        line_id=doctor.id + 1000,
        sessions=1,
    )
    refused(
        "invalid",
        billing.top_up_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        line_id=physio.id,
        sessions=0,
    )
    assert_reconciled()


def test_top_up_and_refund_of_a_refunded_package_are_refused_and_write_nothing():
    clinic = Clinic.open()
    small, large = _small_and_large(clinic)
    package = clinic.sell(small)
    (line,) = PackageLine.objects.filter(package=package)
    billing.refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="moved")
    refused(
        "not_refundable",
        billing.refund_package,
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        reason="twice",
    )
    refused(
        "not_refundable",
        billing.refund_package,
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        reason="twice",
        amount=0,
    )
    refused(
        "topup_not_allowed",
        billing.top_up_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        line_id=line.id,
        sessions=1,
    )
    refused(
        "transition_not_allowed",
        billing.upgrade_package,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        plan_id=large.plan_id,
    )
    assert_reconciled()


def test_refund_of_an_expired_or_upgraded_package_is_refused_and_writes_nothing():
    clinic = Clinic.open()
    small, large = _small_and_large(clinic)
    expiring = clinic.sell(small)
    later = clinic.now + dt.timedelta(days=120)
    refused(
        "not_refundable",
        billing.refund_package,
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=expiring.id,
        reason="late",
        now=later,
    )
    upgraded = clinic.sell(small, patient=clinic.ravi)
    billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=upgraded.id, plan_id=large.plan_id
    )
    refused(
        "not_refundable",
        billing.refund_package,
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=upgraded.id,
        reason="changed mind",
    )
    assert_reconciled()
