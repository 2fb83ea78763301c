"""Three accounting decisions (issue 11, defect 8; README "Money: the accountant's decisions"), each told as a
story whose trial balance is worked out by hand in the comments:

a. a refund of a taxed package is a credit note: the tax on the refunded part is no longer owed;
b. an upgrade credits the old package gross (its deferred value plus the tax on it, reversed) against the new
   gross price, so the patient pays exactly for what was delivered and the tax is charged once;
c. money paid on a package's still-open top-up order is collected for the package (an advance): a refund
   or an upgrade of the package cancels the order and carries the advance along.
"""

import io

import pytest
from beancount import loader
from django.db import connection
from pypdf import PdfReader

from punchcard.billing import receipts
from punchcard.billing import selectors as money
from punchcard.billing import services as billing
from punchcard.billing.models import Order, OrderStatus
from punchcard.domain.posting import Role
from punchcard.ledger.exports import export_beancount
from punchcard.ledger.models import JournalEntry
from punchcard.packages.models import Package, PackageLine
from punchcard.reports.definitions.profit import package_profit

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import by_role, refused, trial_balance

pytestmark = pytest.mark.django_db

NINETY_DAYS = {"kind": "after_start", "count": 90, "unit": "days"}


def _pdf_text(receipt) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(receipts.render_pdf(receipt))).pages)


def _pay(clinic, order, method, amount):
    billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method=method, amount=amount
    )
    order.refresh_from_db()
    return order


def _bean_check(clinic):
    out = io.StringIO()
    export_beancount(clinic.tenant, clinic.now.date(), clinic.now.date().replace(year=2027), out)
    _, errors, _ = loader.load_string(out.getvalue())
    assert errors == [], "\n".join(str(e) for e in errors)


def test_a_refund_of_a_taxed_package_is_a_credit_note_and_tax_payable_follows_what_was_finally_sold():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "physio-10",
        name="Physiotherapy 10",
        price=1180000,
        tax_rate_bp=1800,
        tax_inclusive=True,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=10)],
    )
    # ₹11,800.00 with 18 % GST included: net 10,000.00, tax 1,800.00; each session is worth 1,000.00 net.
    package = clinic.sell(plan)
    for _ in range(4):
        clinic.redeem(package, "physio")
    # Suggested refund: 11,800.00 × 6 remaining / 10 = 7,080.00 gross. Its tax: 7,080 × 1,800 / 11,800 =
    # 1,080.00; net 6,000.00, exactly the deferred value of the 6 sessions left, so no refund adjustment.
    assert money.suggested_refund(package) == 708000
    refund = billing.refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="moved")
    assert (refund.amount, refund.tax_credited, refund.deferred_cleared, refund.advances_returned) == (
        708000,
        108000,
        600000,
        0,
    )
    # Dr deferred 6,000.00 / Dr tax payable 1,080.00 / Cr patient credit 7,080.00.
    entry = JournalEntry.objects.get(tenant=clinic.tenant, kind="refund")
    assert by_role(entry) == {Role.DEFERRED_REVENUE: 600000, Role.TAX_PAYABLE: 108000, Role.PATIENT_CREDIT: -708000}
    # What was finally sold is 4 sessions, 4,000.00 net: tax payable is 18 % of it, 720.00 (was 1,800.00).
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 1180000,
        Role.TAX_PAYABLE: -72000,
        Role.PACKAGE_REVENUE: -400000,
        Role.PATIENT_CREDIT: -708000,
    }
    # The profit report's revenue is the 4,000.00 earned, not less the refunded tax.
    (row,) = [r for r in package_profit(clinic.tenant, date_from=clinic.now.date(), date_to=clinic.now.date()).rows]
    assert row["package"] == package.id and row["revenue"] == 400000

    # The refund receipt is the credit note: the tax reversed is on it.
    receipt = receipts.issue_receipt(tenant=clinic.tenant, actor=clinic.manager, kind="refund", subject_id=refund.id)
    assert receipt.facts["totals"] | {} == {
        "discount": 0,
        "net": 600000,
        "tax": 108000,
        "gross": 708000,
        "credit_applied": 0,
        "paid": 0,
        "due": 0,
    }
    text = _pdf_text(receipt)
    assert "Refund receipt and credit note No. 000001" in text
    assert "Tax 18% included credited: ₹1,080.00" in text and "₹7,080.00" in text
    assert f"Credit note for order {package.order_line.order.number}: tax of ₹1,080.00" in text
    _bean_check(clinic)
    assert_reconciled()


def test_a_refund_below_or_above_the_suggestion_credits_the_tax_of_what_is_refunded():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "physio-10",
        price=1180000,
        tax_rate_bp=1800,
        tax_inclusive=True,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=10)],
    )
    kept, goodwill = clinic.sell(plan, patient=clinic.asha), clinic.sell(plan, patient=clinic.ravi)
    for package in (kept, goodwill):
        for _ in range(4):
            clinic.redeem(package, "physio", person=package.holder)
    # Asha gets 3,540.00 back (three sessions' worth): tax 3,540 × 1,800 / 11,800 = 540.00, net 3,000.00;
    # 6,000.00 deferred is cleared, so the clinic keeps 3,000.00 net as a refund adjustment (income), and
    # owes tax on 7,000.00: 1,800.00 − 540.00 = 1,260.00.
    small = billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=kept.id, reason="agreed", amount=354000
    )
    assert by_role(JournalEntry.objects.get(kind="refund", event_id=small.id)) == {
        Role.DEFERRED_REVENUE: 600000,
        Role.TAX_PAYABLE: 54000,
        Role.PATIENT_CREDIT: -354000,
        Role.REFUND_ADJUSTMENTS: -300000,
    }
    # Ravi gets everything back as goodwill: all 1,800.00 of tax reversed; 10,000.00 net refunded against
    # 6,000.00 deferred: a 4,000.00 refund adjustment (debit) cancels the 4,000.00 his sessions earned.
    full = billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=goodwill.id, reason="goodwill", amount=1180000
    )
    assert by_role(JournalEntry.objects.get(kind="refund", event_id=full.id)) == {
        Role.DEFERRED_REVENUE: 600000,
        Role.TAX_PAYABLE: 180000,
        Role.PATIENT_CREDIT: -1180000,
        Role.REFUND_ADJUSTMENTS: 400000,
    }
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 2 * 1180000,
        Role.TAX_PAYABLE: -(180000 - 54000),  # 18 % of Asha's 7,000.00; nothing on Ravi's
        Role.PACKAGE_REVENUE: -800000,
        Role.REFUND_ADJUSTMENTS: 400000 - 300000,
        Role.PATIENT_CREDIT: -(354000 + 1180000),
    }
    _bean_check(clinic)
    assert_reconciled()


def test_an_upgrade_credits_the_old_package_gross_against_the_new_gross_price():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    taxed = dict(tax_rate_bp=1800, tax_inclusive=True, expiry=NINETY_DAYS)
    small = clinic.plan("small", price=59000, lines=[clinic.line("physio", sessions=5)], **taxed)
    large = clinic.plan("large", price=106200, lines=[clinic.line("physio", sessions=10)], **taxed)
    # Small: ₹590.00 = 500.00 net + 90.00 tax; 100.00 net a session. Two used: 300.00 deferred.
    old = clinic.sell(small)
    clinic.redeem(old, "physio")
    clinic.redeem(old, "physio")
    # The credit is gross: 300.00 + its tax 300 × 90 / 500 = 54.00, reversed: 354.00 against the new
    # ₹1,062.00 (900.00 net + 162.00 tax), leaving 708.00 to pay (it was 762.00: the patient paid 54.00 twice).
    order = billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, plan_id=large.plan_id
    )
    assert (order.gross, order.credit_applied, order.due) == (106200, 35400, 70800)
    credit = JournalEntry.objects.get(kind="upgrade_credit")
    # Dr deferred 300.00 / Dr tax payable 54.00 / Cr receivable 354.00.
    assert by_role(credit) == {Role.DEFERRED_REVENUE: 30000, Role.TAX_PAYABLE: 5400, Role.RECEIVABLE: -35400}
    _pay(clinic, order, "card", 70800)
    new = Package.objects.get(order_line__order=order)
    assert money.collected_for(new) == 106200
    # The patient paid 590.00 + 708.00 = 1,298.00 = the two sessions used (236.00) + the new plan (1,062.00);
    # tax is 18 % of what was delivered or sold: 200.00 + 900.00 → 198.00 = 90.00 − 54.00 + 162.00.
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 59000,
        Role.CARD_CLEARING: 70800,
        Role.TAX_PAYABLE: -19800,
        Role.PACKAGE_REVENUE: -20000,
        Role.DEFERRED_REVENUE: -90000,
    }
    assert money.package_money(old) == money.PackageMoney(sold=50000, recognised=20000, upgraded=30000)
    invoice = receipts.issue_receipt(tenant=clinic.tenant, actor=clinic.front_desk, kind="sale", subject_id=order.id)
    text = _pdf_text(invoice)
    assert "Credit applied: ₹354.00" in text and "Amount due: ₹0.00" in text
    assert f"Credit for the unused part of package {old.id}: ₹300.00 + tax ₹54.00 reversed by a credit note" in text
    _bean_check(clinic)
    assert_reconciled()


def test_money_paid_on_an_open_top_up_order_is_collected_for_the_package_and_comes_back_with_its_refund():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "physio-5",
        price=118000,
        tax_rate_bp=1800,
        tax_inclusive=True,
        expiry=NINETY_DAYS,
        lines=[clinic.line("physio", sessions=5, top_up_price=23600)],
    )
    # ₹1,180.00 = 1,000.00 net + 180.00 tax, 200.00 net a session; one used.
    package = clinic.sell(plan)
    clinic.redeem(package, "physio")
    (line,) = PackageLine.objects.filter(package=package)
    top_up = billing.top_up_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, line_id=line.id, sessions=2
    )
    _pay(clinic, top_up, "cash", 20000)  # 200.00 of the 472.00: the order stays open, nothing is granted
    assert top_up.status == OrderStatus.OPEN
    # Collected for the package: 1,180.00 + the 200.00 advance (before: 1,180.00, and the advance was lost to
    # the package: its refund could not return it and the order could never be cancelled).
    assert money.collected_for(package) == 138000
    assert money.collected_money(package) == money.Collected(activated=118000, tax=18000, advances=20000)
    # Suggested: 1,180.00 × 4 / 5 = 944.00, plus the advance in full (it bought no session): 1,144.00.
    assert money.suggested_refund(package) == 114400
    # The advance is the refund's floor; what was collected is its ceiling.
    for amount in (19999, 138001):
        refused(
            "refund_out_of_range",
            billing.refund_package,
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=package.id,
            reason="moved",
            amount=amount,
        )
    refund = billing.refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="moved")
    # 1,144.00 = the 200.00 advance + a 944.00 credit note: tax 944 × 180 / 1,180 = 144.00, net 800.00 =
    # the 4 sessions' deferred value. Dr deferred 800.00 / Dr tax 144.00 / Dr receivable 200.00 / Cr credit.
    assert (refund.amount, refund.tax_credited, refund.advances_returned) == (114400, 14400, 20000)
    assert by_role(JournalEntry.objects.get(kind="refund")) == {
        Role.DEFERRED_REVENUE: 80000,
        Role.TAX_PAYABLE: 14400,
        Role.RECEIVABLE: 20000,
        Role.PATIENT_CREDIT: -114400,
    }
    top_up.refresh_from_db()
    assert top_up.status == OrderStatus.CANCELLED
    refused(
        "order_not_open",
        billing.record_payment,
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=top_up.id,
        method="cash",
        amount=27200,
    )
    # Receivable back to zero; tax on the one session delivered: 18 % of 200.00 = 36.00.
    assert trial_balance(clinic.tenant) == {
        Role.CASH: 138000,
        Role.TAX_PAYABLE: -3600,
        Role.PACKAGE_REVENUE: -20000,
        Role.PATIENT_CREDIT: -114400,
    }
    assert money.collected_for(package) == 138000  # still what was paid for it, after the refund
    receipt = receipts.issue_receipt(tenant=clinic.tenant, actor=clinic.manager, kind="refund", subject_id=refund.id)
    text = _pdf_text(receipt)
    assert "Paid on top-up orders cancelled with the package, returned" in text and "₹1,144.00" in text
    _bean_check(clinic)
    assert_reconciled()


def test_an_upgrade_carries_the_advance_paid_on_an_open_top_up_order():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    small = clinic.plan(
        "small", price=50000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=5, top_up_price=10000)]
    )
    large = clinic.plan("large", price=90000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=10)])
    old = clinic.sell(small)
    (line,) = PackageLine.objects.filter(package=old)
    top_up = billing.top_up_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, line_id=line.id, sessions=2
    )
    _pay(clinic, top_up, "cash", 5000)
    # Credit: 500.00 deferred + 50.00 advance = 550.00 against 900.00: 350.00 due (it was 400.00, and the
    # 50.00 stayed on an order that could never be paid nor cancelled).
    order = billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=old.id, plan_id=large.plan_id
    )
    assert (order.credit_applied, order.due) == (55000, 35000)
    assert Order.objects.get(pk=top_up.pk).status == OrderStatus.CANCELLED
    _pay(clinic, order, "card", 35000)
    # The patient paid 500.00 + 50.00 + 350.00 = 900.00, the new plan's price; receivable is settled.
    assert trial_balance(clinic.tenant) == {Role.CASH: 55000, Role.CARD_CLEARING: 35000, Role.DEFERRED_REVENUE: -90000}
    invoice = receipts.issue_receipt(tenant=clinic.tenant, actor=clinic.front_desk, kind="sale", subject_id=order.id)
    assert f"package {old.id}: ₹500.00 + ₹50.00 paid on its cancelled top-up orders" in _pdf_text(invoice)
    _bean_check(clinic)
    assert_reconciled()


@pytest.mark.django_db(transaction=True)
def test_a_refund_racing_the_payment_that_completes_a_top_up_ends_one_way_or_the_other(run_concurrently):
    """Lock order: both take the top-up order before the package. Either the payment lands first (the top-up
    is granted and the refund covers it) or the refund does (the order is cancelled, the payment refused)."""
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "physio-5", price=50000, expiry=NINETY_DAYS, lines=[clinic.line("physio", sessions=5, top_up_price=10000)]
    )
    package = clinic.sell(plan)
    (line,) = PackageLine.objects.filter(package=package)
    top_up = billing.top_up_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, line_id=line.id, sessions=2
    )
    _pay(clinic, top_up, "cash", 5000)
    outcomes = run_concurrently(
        lambda: billing.record_payment(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=top_up.id, method="cash", amount=15000
        ),
        lambda: billing.refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="x"),
    )
    paid, refund = outcomes
    assert not isinstance(refund, Exception), refund
    top_up.refresh_from_db()
    if isinstance(paid, Exception):  # the refund went first: 500.00 sale + the 50.00 advance come back
        assert getattr(paid, "code", None) == "order_not_open", paid
        assert top_up.status == OrderStatus.CANCELLED
        assert (refund.amount, refund.advances_returned) == (55000, 5000)
    else:  # the payment went first: 7 sessions for 700.00, all unused
        assert top_up.status == OrderStatus.PAID
        assert (refund.amount, refund.advances_returned) == (70000, 0)
    assert money.credit_balance(clinic.tenant, clinic.asha.id) == refund.amount
    assert trial_balance(clinic.tenant).get(Role.RECEIVABLE, 0) == 0
    assert_reconciled()
    connection.close()
