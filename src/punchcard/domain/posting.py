"""Which accounts move for each business event (SPEC §8). Pure: amounts in, postings out.

A posting is (account role, amount) with debits positive and credits negative; every entry's
postings sum to zero. Account roles are stable names; each tenant's chart maps them to codes
and names (ledger.models.Account).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CASH = "cash"
    CARD_CLEARING = "card_clearing"
    BANK = "bank"
    RECEIVABLE = "receivable"
    DEFERRED_REVENUE = "deferred_revenue"
    PATIENT_CREDIT = "patient_credit"
    REFUNDS_PAYABLE = "refunds_payable"
    TAX_PAYABLE = "tax_payable"
    COMMISSION_PAYABLE = "commission_payable"
    PACKAGE_REVENUE = "package_revenue"
    BREAKAGE_REVENUE = "breakage_revenue"
    FEE_REVENUE = "fee_revenue"  # co-pays and no-show fees
    REFUND_ADJUSTMENTS = "refund_adjustments"
    COMMISSION_EXPENSE = "commission_expense"
    CENTRE_SETTLEMENT = "centre_settlement"
    OPENING_BALANCE = "opening_balance"  # what a clinic brought from its previous system (imports)
    MEMBERSHIP_DEFERRED = "membership_deferred"  # membership fees invoiced, not yet earned (SPEC §10.3)
    MEMBERSHIP_REVENUE = "membership_revenue"  # earned by day over each paid period
    BAD_DEBT = "bad_debt"  # invoices written off as uncollectible


# Default chart: role → (code, name, beancount type). Tenants may rename; roles never change.
DEFAULT_CHART: dict[Role, tuple[str, str, str]] = {
    Role.CASH: ("1000", "Cash", "Assets"),
    Role.CARD_CLEARING: ("1010", "Card clearing", "Assets"),
    Role.BANK: ("1020", "Bank", "Assets"),
    Role.RECEIVABLE: ("1100", "Accounts receivable", "Assets"),
    Role.DEFERRED_REVENUE: ("2100", "Deferred revenue (contract liability)", "Liabilities"),
    Role.PATIENT_CREDIT: ("2200", "Patient credit", "Liabilities"),
    Role.REFUNDS_PAYABLE: ("2300", "Refunds payable", "Liabilities"),
    Role.TAX_PAYABLE: ("2400", "Tax payable", "Liabilities"),
    Role.COMMISSION_PAYABLE: ("2500", "Commission payable", "Liabilities"),
    Role.CENTRE_SETTLEMENT: ("2600", "Inter-centre settlement", "Liabilities"),
    Role.PACKAGE_REVENUE: ("4000", "Package revenue", "Income"),
    Role.BREAKAGE_REVENUE: ("4100", "Breakage revenue", "Income"),
    Role.FEE_REVENUE: ("4200", "Co-pay and fee revenue", "Income"),
    Role.REFUND_ADJUSTMENTS: ("4900", "Refund adjustments", "Income"),
    Role.COMMISSION_EXPENSE: ("5000", "Commission expense", "Expenses"),
    Role.OPENING_BALANCE: ("3900", "Opening balances (brought from the previous system)", "Equity"),
    Role.MEMBERSHIP_DEFERRED: ("2110", "Deferred membership revenue (contract liability)", "Liabilities"),
    Role.MEMBERSHIP_REVENUE: ("4300", "Membership revenue", "Income"),
    Role.BAD_DEBT: ("5100", "Bad debt written off", "Expenses"),
}

PAYMENT_METHOD_ROLE = {
    "cash": Role.CASH,
    "card": Role.CARD_CLEARING,
    "bank_transfer": Role.BANK,
    "external": Role.CARD_CLEARING,
    "credit": Role.PATIENT_CREDIT,
}


@dataclass(frozen=True)
class Posting:
    role: Role
    amount: int  # + debit, − credit
    line_key: object = None  # which package line it concerns, when it concerns one


def balanced(postings: list[Posting]) -> list[Posting]:
    postings = [p for p in postings if p.amount != 0]
    if sum(p.amount for p in postings) != 0:
        raise AssertionError(f"unbalanced entry: {postings}")
    return postings


def sale(*, gross: int, tax: int, deferred_by_line: dict[object, int]) -> list[Posting]:
    """An order confirmed: the patient owes the gross; the net is a contract liability."""
    assert sum(deferred_by_line.values()) + tax == gross
    return balanced(
        [Posting(Role.RECEIVABLE, gross), Posting(Role.TAX_PAYABLE, -tax)]
        + [Posting(Role.DEFERRED_REVENUE, -value, line) for line, value in deferred_by_line.items()]
    )


def payment(*, method: str, amount: int) -> list[Posting]:
    return balanced([Posting(PAYMENT_METHOD_ROLE[method], amount), Posting(Role.RECEIVABLE, -amount)])


def recognition(*, value: int, line_key: object) -> list[Posting]:
    """A redeemed session earns its allocated value."""
    return balanced([Posting(Role.DEFERRED_REVENUE, value, line_key), Posting(Role.PACKAGE_REVENUE, -value)])


def breakage(*, value_by_line: dict[object, int]) -> list[Posting]:
    """Sessions that will never be used (expired, cancelled, completed): their value is breakage."""
    postings = [Posting(Role.DEFERRED_REVENUE, v, line) for line, v in value_by_line.items()]
    return balanced(postings + [Posting(Role.BREAKAGE_REVENUE, -sum(value_by_line.values()))])


def refund_to_credit(
    *, amount: int, value_by_line: dict[object, int], tax: int = 0, advances: int = 0
) -> list[Posting]:
    """A refund to the patient's credit: the remaining deferred value is cleared; `tax` is the credit note's
    tax (the refunded part's tax, no longer owed); `advances` were paid on orders never activated (they sit
    in receivable as a credit); the refund becomes credit; any gap is a refund adjustment."""
    cleared = sum(value_by_line.values())
    postings = [Posting(Role.DEFERRED_REVENUE, v, line) for line, v in value_by_line.items()]
    postings += [
        Posting(Role.TAX_PAYABLE, tax),
        Posting(Role.RECEIVABLE, advances),
        Posting(Role.PATIENT_CREDIT, -amount),
        Posting(Role.REFUND_ADJUSTMENTS, amount - cleared - tax - advances),
    ]
    return balanced(postings)


def credit_paid_out(*, method: str, amount: int) -> list[Posting]:
    return balanced([Posting(Role.PATIENT_CREDIT, amount), Posting(PAYMENT_METHOD_ROLE[method], -amount)])


def upgrade_credit(*, value_by_line: dict[object, int], tax: int = 0) -> list[Posting]:
    """The old package's remaining value pays part of the new order, gross: its deferred value plus the tax
    on it, which a credit note reverses (the new order's sale charges tax on the whole new price)."""
    cleared = sum(value_by_line.values())
    postings = [Posting(Role.DEFERRED_REVENUE, v, line) for line, v in value_by_line.items()]
    return balanced(postings + [Posting(Role.TAX_PAYABLE, tax), Posting(Role.RECEIVABLE, -(cleared + tax))])


def fee_charge(*, amount: int) -> list[Posting]:
    """A co-pay or no-show fee: ordinary revenue when charged."""
    return balanced([Posting(Role.RECEIVABLE, amount), Posting(Role.FEE_REVENUE, -amount)])


def commission(*, amount: int) -> list[Posting]:
    return balanced([Posting(Role.COMMISSION_EXPENSE, amount), Posting(Role.COMMISSION_PAYABLE, -amount)])


def opening_balance(*, value_by_line: dict[object, int]) -> list[Posting]:
    """An imported package's unused value: owed to the patient from the first day (a contract liability),
    brought in against the opening balance. Its used share was earned in the previous system's books."""
    postings = [Posting(Role.DEFERRED_REVENUE, -v, line) for line, v in value_by_line.items()]
    return balanced([Posting(Role.OPENING_BALANCE, sum(value_by_line.values()))] + postings)


def membership_invoice(*, gross: int, tax: int) -> list[Posting]:
    """A membership invoice issued (SPEC §10.3): the member owes the gross; the net is a contract liability
    until the period's days pass."""
    return balanced(
        [
            Posting(Role.RECEIVABLE, gross),
            Posting(Role.TAX_PAYABLE, -tax),
            Posting(Role.MEMBERSHIP_DEFERRED, -(gross - tax)),
        ]
    )


def membership_recognition(*, value: int) -> list[Posting]:
    """Days of a paid period have passed: their share of the fee is earned."""
    return balanced([Posting(Role.MEMBERSHIP_DEFERRED, value), Posting(Role.MEMBERSHIP_REVENUE, -value)])


def membership_unused_to_credit(*, deferred: int, revenue: int, tax: int) -> list[Posting]:
    """The unused part of a paid membership period given back as the patient's credit (SPEC §8, credit
    first), by a plan change or an immediate cancellation: its net out of deferred membership revenue (and
    out of revenue for what recognition had already earned of the unused days, when a change's day-count
    convention credits more than the actual days left), its tax no longer owed."""
    return balanced(
        [
            Posting(Role.MEMBERSHIP_DEFERRED, deferred),
            Posting(Role.MEMBERSHIP_REVENUE, revenue),
            Posting(Role.TAX_PAYABLE, tax),
            Posting(Role.PATIENT_CREDIT, -(deferred + revenue + tax)),
        ]
    )


def membership_fee(*, gross: int, tax: int) -> list[Posting]:
    """A membership fee that is no period's (a pause fee): earned when invoiced, like a no-show fee."""
    return balanced(
        [Posting(Role.RECEIVABLE, gross), Posting(Role.TAX_PAYABLE, -tax), Posting(Role.FEE_REVENUE, -(gross - tax))]
    )


def to_credit(*, method: str, amount: int) -> list[Posting]:
    """Money taken with nothing left to settle (a charge landing on an invoice paid meanwhile): the patient's credit."""
    return balanced([Posting(PAYMENT_METHOD_ROLE[method], amount), Posting(Role.PATIENT_CREDIT, -amount)])


def void_payment(*, amount: int) -> list[Posting]:
    """A payment on an invoice that is voided: what was paid is owed back, as the patient's credit."""
    return balanced([Posting(Role.RECEIVABLE, amount), Posting(Role.PATIENT_CREDIT, -amount)])


def write_off(*, amount: int) -> list[Posting]:
    """An invoice given up as uncollectible: what is still owed becomes bad debt."""
    return balanced([Posting(Role.BAD_DEBT, amount), Posting(Role.RECEIVABLE, -amount)])


def reverse(postings: list[Posting]) -> list[Posting]:
    return [Posting(p.role, -p.amount, p.line_key) for p in postings]
