"""SPEC §8.3: which accounts move for each event; every entry balances."""

import pytest

from punchcard.domain import posting
from punchcard.domain.posting import Posting, Role


def amounts(postings):
    out = {}
    for p in postings:
        out[p.role] = out.get(p.role, 0) + p.amount
    return out


def test_sale_defers_the_net_price_per_line_and_owes_the_tax():
    postings = posting.sale(gross=118000, tax=18000, deferred_by_line={"physio": 70000, "doctor": 30000})
    assert sum(p.amount for p in postings) == 0
    assert amounts(postings) == {Role.RECEIVABLE: 118000, Role.TAX_PAYABLE: -18000, Role.DEFERRED_REVENUE: -100000}
    assert {p.line_key: p.amount for p in postings if p.role is Role.DEFERRED_REVENUE} == {
        "physio": -70000,
        "doctor": -30000,
    }


def test_recognition_moves_a_session_value_from_deferred_to_package_revenue():
    postings = posting.recognition(value=61539, line_key="physio")
    assert amounts(postings) == {Role.DEFERRED_REVENUE: 61539, Role.PACKAGE_REVENUE: -61539}


def test_breakage_clears_each_line_and_earns_breakage_revenue():
    postings = posting.breakage(value_by_line={"a": 7500, "b": 100})
    assert amounts(postings) == {Role.DEFERRED_REVENUE: 7600, Role.BREAKAGE_REVENUE: -7600}


def test_refund_to_credit_books_the_gap_as_a_refund_adjustment():
    postings = posting.refund_to_credit(amount=40000, value_by_line={"a": 30000})
    assert amounts(postings) == {
        Role.DEFERRED_REVENUE: 30000,
        Role.PATIENT_CREDIT: -40000,
        Role.REFUND_ADJUSTMENTS: 10000,
    }


def test_zero_postings_are_dropped_and_a_zero_recognition_is_empty():
    assert posting.recognition(value=0, line_key="x") == []


def test_reverse_negates_every_posting():
    original = posting.payment(method="card", amount=500)
    assert sum(p.amount for p in original + posting.reverse(original)) == 0
    assert amounts(posting.reverse(original)) == {Role.CARD_CLEARING: -500, Role.RECEIVABLE: 500}


def test_an_unbalanced_entry_is_refused():
    with pytest.raises(AssertionError):
        posting.balanced([Posting(Role.CASH, 100), Posting(Role.RECEIVABLE, -99)])


def test_every_payment_method_has_an_account():
    for method in ("cash", "card", "bank_transfer", "external", "credit"):
        assert sum(p.amount for p in posting.payment(method=method, amount=1)) == 0


def test_a_change_credits_the_unused_part_of_a_membership_period():
    # ₹1,161.29 back to credit: ₹984.14 net out of deferred membership revenue and ₹177.15 of tax no longer
    # owed; where the day count credits more than was still deferred, the rest comes out of revenue.
    postings = posting.membership_unused_to_credit(deferred=98414, revenue=0, tax=17715)
    assert {role: amount for role, amount in amounts(postings).items() if amount} == {
        Role.MEMBERSHIP_DEFERRED: 98414,
        Role.TAX_PAYABLE: 17715,
        Role.PATIENT_CREDIT: -116129,
    }
    late = posting.membership_unused_to_credit(deferred=42857, revenue=37143, tax=0)
    assert sum(p.amount for p in late) == 0 and amounts(late)[Role.PATIENT_CREDIT] == -80000
