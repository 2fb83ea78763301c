"""Property test of the money (SPEC §8.3): whatever the plan and whatever happens to the package, every
invariant holds after every step.

Random prices (zero included), one to three lines with random list prices (zero included), bonus sessions
and top-up prices, tax inclusive or exclusive, then a random sequence of redeem / void / hold / top-up /
refund / payout / expire / extend / adjust. After each step: money_problems() and ledger_mismatches() are
empty, the journal balances in total and entry by entry, each package's money balances, and a refused step
wrote nothing. Each example builds its own clinic inside a savepoint that is rolled back.
"""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from punchcard import clock
from punchcard.billing import selectors as money
from punchcard.billing import services as billing
from punchcard.billing.models import Order, OrderStatus
from punchcard.domain.allocation import LineForAllocation, allocate_to_lines, session_values
from punchcard.domain.errors import DomainError
from punchcard.domain.money import split_tax
from punchcard.packages import services as packages
from punchcard.packages.models import EntryKind, Hold, HoldState, PackageLine, Redemption, SessionEntry
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import row_counts

LIST_PRICES = st.sampled_from([0, 0, 1, 999, 2500, 100000, 150000, 333333])


@st.composite
def plan_specs(draw):
    lines = [
        {
            "list_price": draw(LIST_PRICES),
            "sessions": draw(st.integers(1, 6)),
            "bonus": draw(st.integers(0, 2)),
            "top_up_price": draw(st.one_of(st.none(), st.just(0), st.integers(1, 200000))),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    return {
        "lines": lines,
        "price": draw(st.one_of(st.just(0), st.integers(1, 100), st.integers(1, 10**7))),
        "tax_rate_bp": draw(st.sampled_from([0, 500, 1800, 2800])),
        "tax_inclusive": draw(st.booleans()),
    }


LINE = st.integers(0, 2)
PICK = st.integers(0, 30)
REDEEM = st.tuples(st.just("redeem"), LINE, st.integers(1, 3))
VOID = st.tuples(st.just("void"), PICK)
TOP_UP = st.tuples(st.just("top_up"), LINE, st.integers(1, 4), st.sampled_from(["now", "split", "later"]))
STEPS = st.lists(
    st.one_of(
        # Listed more than once: drawn more often, so most examples redeem, void and top up between the rarer
        # steps that close or expire the package.
        REDEEM,
        REDEEM,
        REDEEM,
        REDEEM,
        VOID,
        VOID,
        TOP_UP,
        TOP_UP,
        st.tuples(st.just("hold"), LINE),
        st.tuples(st.just("resolve_hold"), PICK, st.booleans()),
        st.tuples(st.just("pay_open_orders"), st.sampled_from(["card", "credit"])),
        st.tuples(st.just("upgrade"), st.sampled_from([0, 1])),
        st.tuples(st.just("refund"), st.sampled_from(["suggested", "zero", "collected", "half", "over", "negative"])),
        st.tuples(st.just("payout"), st.sampled_from(["some", "all", "too_much"])),
        st.tuples(st.just("expire")),
        st.tuples(st.just("extend")),
        st.tuples(st.just("adjust"), LINE, st.integers(-3, 3).filter(bool)),
    ),
    min_size=3,
    max_size=16,
)

# What a refusal may legitimately say, per step.
EXPECTED_REFUSALS = {
    "redeem": {"package_closed", "expired", "insufficient_sessions"},
    "void": {"already_voided", "not_voidable"},
    "hold": {"package_closed", "expired", "insufficient_sessions"},
    "resolve_hold": {"hold_resolved"},
    "top_up": {"topup_not_allowed"},
    "pay_open_orders": {"topup_not_allowed"},  # the package was closed or expired after the top-up was ordered
    "upgrade": {"upgrade_not_larger", "transition_not_allowed"},
    "refund": {"not_refundable", "refund_out_of_range"},
    "payout": {"insufficient_credit"},
    "expire": {"transition_not_allowed"},
    "extend": {"transition_not_allowed"},
    "adjust": {"transition_not_allowed", "adjustment_too_large"},
}


class Story:
    """One example: a clinic, a plan built from the spec, one package, and the clock moving forward.

    An upgrade replaces `package` with the new one; the old one stays in the books and in every check.
    """

    def __init__(self, spec):
        self.clinic = clinic = Clinic.open(now=local(2026, 3, 1, 10))
        codes = []
        for i, line in enumerate(spec["lines"]):
            code = f"svc{i}"
            clinic.services[code] = tenancy.create_service(
                tenant=clinic.tenant,
                actor=clinic.manager,
                name=f"Service {i}",
                code=code,
                list_price=line["list_price"],
                delivery_cost=0,
            )
            codes.append(code)
        self.codes = codes
        self.plan = clinic.plan(
            "random",
            price=spec["price"],
            tax_rate_bp=spec["tax_rate_bp"],
            tax_inclusive=spec["tax_inclusive"],
            expiry={"kind": "after_start", "count": 90, "unit": "days"},
            lines=[
                clinic.line(code, sessions=line["sessions"], bonus=line["bonus"], top_up_price=line["top_up_price"])
                for code, line in zip(codes, spec["lines"])
            ],
        )
        # Two larger plans to upgrade to: barely larger, and much larger (same services, more sessions).
        self.upgrades = [
            clinic.plan(
                f"upgrade-{n}",
                price=max(1, spec["price"]) * factor + extra,
                tax_rate_bp=spec["tax_rate_bp"],
                tax_inclusive=spec["tax_inclusive"],
                expiry={"kind": "after_start", "count": 90, "unit": "days"},
                lines=[
                    clinic.line(
                        code, sessions=line["sessions"] + more, bonus=line["bonus"], top_up_price=line["top_up_price"]
                    )
                    for code, line in zip(codes, spec["lines"])
                ],
            )
            for n, (factor, extra, more) in enumerate([(1, 1, 1), (3, 500000, 20)])
        ]
        self.package = clinic.sell(self.plan)
        self.lines = list(PackageLine.objects.filter(package=self.package).order_by("id"))
        self.now = local(2026, 3, 11, 10)  # ten days after the sale: the expiry can be moved before today
        clock.set_now(self.now)

    def advance(self, to: dt.datetime) -> None:
        self.now = max(self.now, to)
        clock.set_now(self.now)

    @property
    def today(self) -> dt.date:
        return self.now.date()  # Asia/Kolkata datetimes throughout

    def code(self, index):
        return self.codes[index % len(self.codes)]

    def line(self, index):
        return self.lines[index % len(self.lines)]

    def pay(self, order, how="now", method="card"):
        """Pay what is due: at once, in two payments (cash then `method`), or not now ('later').
        Paying by credit spends what credit there is, and the rest by card."""
        tenant, desk = self.clinic.tenant, self.clinic.front_desk
        order.refresh_from_db()
        if order.due and how == "split" and order.due > 1:
            billing.record_payment(tenant=tenant, actor=desk, order_id=order.id, method="cash", amount=order.due // 2)
            order.refresh_from_db()
        if order.due and method == "credit":
            credit = min(order.due, money.credit_balance(tenant, order.patient_id))
            if credit:
                billing.record_payment(tenant=tenant, actor=desk, order_id=order.id, method="credit", amount=credit)
                order.refresh_from_db()
        if order.due and how != "later":
            billing.record_payment(tenant=tenant, actor=desk, order_id=order.id, method="card", amount=order.due)

    def step(self, action, *args):
        clinic, tenant, package = self.clinic, self.clinic.tenant, self.package
        if action == "redeem":
            clinic.redeem(package, self.code(args[0]), sessions=args[1])
        elif action == "void":
            redemptions = list(Redemption.objects.filter(package=package).order_by("id"))
            if redemptions:
                packages.void_redemption(
                    tenant=tenant,
                    actor=clinic.manager,
                    redemption_id=redemptions[args[0] % len(redemptions)].id,
                    reason="error",
                )
        elif action == "hold":
            clinic.hold(package, self.code(args[0]), self.today)
        elif action == "resolve_hold":
            holds = list(Hold.objects.filter(package=package).order_by("id"))
            if holds:
                hold = holds[args[0] % len(holds)]
                if args[1]:
                    packages.post_hold(tenant=tenant, actor=clinic.front_desk, hold_id=hold.id)
                    if hold.state == HoldState.RELEASED:
                        raise AssertionError("a released hold was posted")
                else:
                    packages.release_hold(tenant=tenant, actor=clinic.front_desk, hold_id=hold.id)
        elif action == "top_up":
            line = self.line(args[0])
            order = billing.top_up_package(
                tenant=tenant, actor=clinic.front_desk, package_id=package.id, line_id=line.id, sessions=args[1]
            )
            line_value = PackageLine.objects.get(pk=line.id).deferred_value
            self.pay(order, args[2])
            order.refresh_from_db()
            if order.status == OrderStatus.PAID:  # the new money joined the line, net of tax
                assert PackageLine.objects.get(pk=line.id).deferred_value == line_value + order.net
        elif action == "pay_open_orders":
            for order in Order.objects.filter(tenant=tenant, status=OrderStatus.OPEN).order_by("id"):
                self.pay(order, method=args[0])
        elif action == "upgrade":
            lines = list(PackageLine.objects.filter(package=package))
            credit = sum(line.deferred_value for line in lines)
            # Credited gross: the deferred value, the tax on it (reversed) and advances on open top-up orders.
            gross_credit = credit + money.sold_tax(package).tax_on(credit) + money.collected_money(package).advances
            order = billing.upgrade_package(
                tenant=tenant, actor=clinic.front_desk, package_id=package.id, plan_id=self.upgrades[args[0]].plan_id
            )
            assert order.credit_applied == gross_credit and order.due >= 0
            self.pay(order, method="credit")
            package.refresh_from_db()
            new = package.upgraded_to
            assert new is not None and new.order_line.order_id == order.id
            assert package.closure == "upgraded"
            assert money.package_money(package).upgraded == credit
            assert sum(line.deferred_value for line in PackageLine.objects.filter(package=new)) == order.net
            self.package = new
            self.lines = list(PackageLine.objects.filter(package=new).order_by("id"))
        elif action == "refund":
            collected = money.collected_for(package)
            amount = {
                "suggested": None,
                "zero": 0,
                "collected": collected,
                "half": collected // 2,
                "over": collected + 1,
                "negative": -1,
            }[args[0]]
            refund = billing.refund_package(
                tenant=tenant, actor=clinic.manager, package_id=package.id, reason="test", amount=amount
            )
            assert 0 <= refund.amount <= collected
        elif action == "payout":
            balance = money.credit_balance(tenant, package.holder_id)
            amount = {"some": max(1, balance // 3), "all": max(1, balance), "too_much": balance + 1}[args[0]]
            billing.pay_out_credit(
                tenant=tenant, actor=clinic.manager, patient_id=package.holder_id, method="cash", amount=amount
            )
        elif action == "expire":
            # Time passes beyond the last valid day and the nightly sweep runs.
            package.refresh_from_db()
            if package.expires_on is not None and package.expires_on >= self.today:
                after = package.expires_on + dt.timedelta(days=1)
                self.advance(local(after.year, after.month, after.day, 0, 30))
            packages.expire_due_packages(as_of=self.today, now=self.now)
        elif action == "extend":
            packages.change_expiry(
                tenant=tenant,
                actor=clinic.manager,
                package_id=package.id,
                expires_on=self.today + dt.timedelta(days=60),
                reason="goodwill",
            )
        elif action == "adjust":
            packages.adjust_sessions(
                tenant=tenant,
                actor=clinic.manager,
                package_id=package.id,
                line_id=self.line(args[0]).id,
                delta=args[1],
                reason="correction",
            )
        else:  # pragma: no cover
            raise AssertionError(action)


def assert_allocation_sums(story, spec):
    split = split_tax(spec["price"], rate_bp=spec["tax_rate_bp"], inclusive=spec["tax_inclusive"])
    terms = [LineForAllocation(line["list_price"], line["sessions"], line["bonus"]) for line in spec["lines"]]
    values = allocate_to_lines(split.net, terms)
    assert sum(values) == split.net == story.package.price_net
    assert all(v >= 0 for v in values)
    for value, term in zip(values, terms):
        sessions = session_values(value, term.granted)
        assert sum(sessions) == value and len(sessions) == term.granted
        assert max(sessions) - min(sessions) <= 1
    grants = SessionEntry.objects.filter(package=story.package, kind=EntryKind.GRANT).order_by("line_id")
    assert [g.value for g in grants] == values
    assert [g.granted for g in grants] == [t.granted for t in terms]


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(spec=plan_specs(), steps=STEPS)
def test_every_money_invariant_holds_after_every_step(spec, steps):
    with transaction.atomic():
        try:
            story = Story(spec)
            assert_allocation_sums(story, spec)
            assert_reconciled()
            for action, *args in steps:
                before = row_counts()
                try:
                    with transaction.atomic():
                        story.step(action, *args)
                    event(f"{action}: done")
                except DomainError as refusal:
                    event(f"{action}: refused {refusal.code}")
                    assert refusal.code in EXPECTED_REFUSALS[action], (action, args, refusal.code, str(refusal))
                    assert row_counts() == before, f"refused {action} wrote something"
                assert_reconciled()
                assert money.package_money(story.package).balanced
            # Finally, a sweep far in the future: whatever is left becomes breakage, and still all balances.
            story.advance(local(2027, 12, 31, 12))
            packages.expire_due_packages(as_of=story.today, now=story.now)
            assert_reconciled()
            for line in PackageLine.objects.filter(tenant=story.clinic.tenant):
                assert (line.held, line.deferred_value) == (0, 0)
        finally:
            transaction.set_rollback(True)
            clock.set_now(None)
