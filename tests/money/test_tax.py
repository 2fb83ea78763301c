"""Tax on package sales (SPEC §2, §8.3): the patient owes the gross, tax is payable, only the net is deferred."""

import pytest

from punchcard.billing import services as billing
from punchcard.billing.models import OrderStatus
from punchcard.domain.money import split_tax
from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry
from punchcard.packages.models import PackageLine

from ..clinic import Clinic
from ..scenario import assert_reconciled
from .support import by_role, refused, trial_balance

pytestmark = pytest.mark.django_db

NINETY_DAYS = {"kind": "after_start", "count": 90, "unit": "days"}


def _sale_postings(package):
    entry = JournalEntry.objects.get(kind="sale", event_type="order_line", event_id=package.order_line_id)
    return by_role(entry)


def _order(clinic, plan):
    return billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
    )


def test_inclusive_18_percent_sale_posts_receivable_gross_tax_payable_and_deferred_net():
    clinic = Clinic.open()
    plan = clinic.plan(
        "gst-incl",
        price=944000,
        tax_rate_bp=1800,
        tax_inclusive=True,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
    )
    order = _order(clinic, plan)
    assert (order.gross, order.tax, order.net, order.due) == (944000, 144000, 800000, 944000)
    assert not JournalEntry.objects.filter(tenant=clinic.tenant).exists()  # nothing posted before activation
    billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="card", amount=944000
    )
    package = order.lines.get().packages.get()
    assert (package.price_gross, package.price_net) == (944000, 800000)
    assert _sale_postings(package) == {
        Role.RECEIVABLE: 944000,
        Role.TAX_PAYABLE: -144000,
        Role.DEFERRED_REVENUE: -800000,
    }
    # The net is what is allocated to the sessions: SPEC §15 example 1 again.
    assert [line.deferred_value for line in PackageLine.objects.filter(package=package)] == [615385, 184615]
    assert trial_balance(clinic.tenant) == {
        Role.CARD_CLEARING: 944000,
        Role.TAX_PAYABLE: -144000,
        Role.DEFERRED_REVENUE: -800000,
    }
    assert_reconciled()


def test_exclusive_18_percent_sale_adds_the_tax_on_top():
    clinic = Clinic.open()
    plan = clinic.plan(
        "gst-excl",
        price=800000,
        tax_rate_bp=1800,
        tax_inclusive=False,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
    )
    order = _order(clinic, plan)
    assert (order.gross, order.tax, order.net) == (944000, 144000, 800000)
    refused(
        "overpayment",
        billing.record_payment,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="cash",
        amount=944001,
    )
    billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="cash", amount=800000
    )
    order.refresh_from_db()
    assert (order.status, order.due) == (OrderStatus.OPEN, 144000)  # the list price alone does not settle it
    billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="card", amount=144000
    )
    package = order.lines.get().packages.get()
    assert _sale_postings(package) == {
        Role.RECEIVABLE: 944000,
        Role.TAX_PAYABLE: -144000,
        Role.DEFERRED_REVENUE: -800000,
    }
    values = [clinic.redeem(package, "physio").value for _ in range(10)]
    values += [clinic.redeem(package, "doctor").value for _ in range(2)]
    assert sum(values) == 800000  # tax is never revenue
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 800000,
        Role.CARD_CLEARING: 144000,
        Role.TAX_PAYABLE: -144000,
        Role.PACKAGE_REVENUE: -800000,
    }
    assert_reconciled()


@pytest.mark.parametrize(
    "price, rate_bp, inclusive",
    [
        (99999, 1800, True),
        (99999, 1800, False),
        (1, 1800, True),
        (1, 500, False),
        (333333, 2800, True),
        (0, 1800, True),
        (1000, 0, False),
    ],
)
def test_awkward_tax_amounts_still_balance_to_the_minor_unit(price, rate_bp, inclusive):
    clinic = Clinic.open()
    plan = clinic.plan(
        "odd",
        price=price,
        tax_rate_bp=rate_bp,
        tax_inclusive=inclusive,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=3), clinic.line("yoga", sessions=2, bonus=1)],
    )
    split = split_tax(price, rate_bp=rate_bp, inclusive=inclusive)
    package = clinic.sell(plan)
    lines = list(PackageLine.objects.filter(package=package))
    assert sum(line.deferred_value for line in lines) == split.net == package.price_net
    assert package.price_gross == split.gross == (price if inclusive else price + split.tax)
    if split.gross:
        assert _sale_postings(package) == {
            role: amount
            for role, amount in {
                Role.RECEIVABLE: split.gross,
                Role.TAX_PAYABLE: -split.tax,
                Role.DEFERRED_REVENUE: -split.net,
            }.items()
            if amount
        }
    for _ in range(3):
        clinic.redeem(package, "physio")
        clinic.redeem(package, "yoga")
    assert trial_balance(clinic.tenant).get(Role.PACKAGE_REVENUE, 0) == -split.net
    assert_reconciled()
