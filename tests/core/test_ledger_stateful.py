"""A simulator for the package ledger (TigerBeetle-style): random sequences of every session operation,
each reply checked against an independent model, and after every step the invariants:

- no line's available balance is negative, and every cached balance equals the model's;
- each package's status equals the model's (from its dates, closure and remaining sessions);
- reconcile finds nothing (cache == ledger), the journal balances per entry and in total;
- per line, deferred value == −(its postings on the deferred-revenue account), and per package
  net price == recognised + breakage + deferred.

Each example runs inside a savepoint that is rolled back, so examples never see each other's data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from punchcard import clock
from punchcard.domain.errors import Conflict, DomainError, InvalidInput
from punchcard.packages import selectors, services
from punchcard.packages.models import Hold, Package, PackageLine, Redemption

from ..clinic import KOLKATA, Clinic, local
from ..scenario import assert_reconciled
from .books import assert_values_conserved

VALID_DAYS = 5
GRACE_DAYS = 3
PICK = st.integers(min_value=0, max_value=15)
SERVICES = {"physio": 0, "yoga": 1, "pilates": 1}  # service → line index (line 1 is a pool)


@dataclass
class LineModel:
    granted: int
    redeemed: int = 0
    held: int = 0
    expired: int = 0  # forfeited by expiry (an extension gives these back)
    closed: int = 0  # forfeited by completion or cancellation

    @property
    def remaining(self) -> int:
        return self.granted - self.redeemed - self.expired - self.closed

    @property
    def available(self) -> int:
        return self.remaining - self.held


@dataclass
class PackageModel:
    id: int
    holder_id: int
    start: dt.date
    expires_on: dt.date | None
    soft: bool
    transferable: bool
    lines: list[LineModel]
    closure: str | None = None

    @property
    def remaining(self) -> int:
        return sum(line.remaining for line in self.lines)

    def validity(self, day: dt.date) -> str:
        if day < self.start:
            return "not_started"
        if self.expires_on is None or day <= self.expires_on:
            return "valid"
        if self.soft and day <= self.expires_on + dt.timedelta(days=GRACE_DAYS):
            return "in_grace"
        return "expired"

    def status(self, today: dt.date) -> tuple[str, bool]:
        if self.closure:
            return self.closure, False
        return {
            "not_started": ("scheduled", False),
            "valid": ("active" if self.remaining > 0 else "exhausted", False),
            "in_grace": ("expired", True),
            "expired": ("expired", False),
        }[self.validity(today)]


@dataclass
class HoldModel:
    package_id: int
    line: int
    sessions: int
    day: dt.date
    state: str = "pending"
    redemption_id: int | None = None


@dataclass
class RedemptionModel:
    package_id: int
    line: int
    sessions: int
    voided: bool = False


@dataclass
class World:
    packages: dict[int, PackageModel] = field(default_factory=dict)
    holds: dict[int, HoldModel] = field(default_factory=dict)
    redemptions: dict[int, RedemptionModel] = field(default_factory=dict)


class PackageLedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.clinic = Clinic.open(now=local(2026, 3, 1, 10))
        c = self.clinic
        lines = [c.line("physio", sessions=4), c.line("yoga", "pilates", sessions=3, bonus=1)]
        expiry = {"kind": "after_start", "count": VALID_DAYS, "unit": "days"}
        self.plans = {
            "hard": c.plan("hard", price=700001, lines=lines, expiry=expiry, transferable=True),
            "soft": c.plan("soft", price=99999, lines=lines, expiry=expiry, expiry_mode="soft", grace_days=GRACE_DAYS),
        }
        self.world = World()

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)
        clock.set_now(None)

    # ------------------------------------------------------------ helpers

    @property
    def today(self) -> dt.date:
        return clock.now().astimezone(KOLKATA).date()

    def expect_refusal(self, call, code: str, kind: type[DomainError] = DomainError):
        try:
            result = call()
        except DomainError as error:
            assert isinstance(error, kind), error
            assert error.code == code, f"expected {code}, got {error.code}: {error}"
            return
        raise AssertionError(f"expected refusal {code}, got {result!r}")

    def check_use(self, pkg: PackageModel, line: int, sessions: int, day: dt.date) -> str | None:
        """The refusal code the model predicts for using `sessions` on `day`, or None."""
        if pkg.closure:
            return "package_closed"
        validity = pkg.validity(day)
        if validity in ("not_started", "expired"):
            return validity
        if pkg.lines[line].available < sessions:
            return "insufficient_sessions"
        return None

    def release_pending(self, pkg: PackageModel) -> None:
        for hold in self.world.holds.values():
            if hold.package_id == pkg.id and hold.state == "pending":
                hold.state = "released"
                pkg.lines[hold.line].held -= hold.sessions

    def expire_if_due(self, pkg: PackageModel) -> bool:
        if pkg.closure or pkg.expires_on is None or pkg.validity(self.today) != "expired":
            return False
        if not any(line.remaining for line in pkg.lines):
            return False
        self.release_pending(pkg)
        for line in pkg.lines:
            line.expired += line.remaining
        return True

    # ------------------------------------------------------------ rules

    @staticmethod
    def pick(objects: dict, index: int) -> int:
        """The index-th id of the model's objects (wrapping), newest last: shrinks towards the first."""
        ids = list(objects)
        return ids[index % len(ids)]

    def open_packages(self) -> int:
        return sum(1 for pkg in self.world.packages.values() if not pkg.closure)

    def due(self) -> bool:
        return any(
            pkg.expires_on and not pkg.closure and pkg.validity(self.today) == "expired" and pkg.remaining
            for pkg in self.world.packages.values()
        )

    @initialize(
        kind=st.sampled_from(["hard", "soft"]),
        start_in=st.integers(0, 2),
        patient=st.sampled_from(["asha", "ravi", "kiran"]),
    )
    def first_sale(self, kind, start_in, patient):
        self.sell(kind, start_in, patient)

    @rule(
        kind=st.sampled_from(["hard", "soft"]),
        start_in=st.integers(0, 2),
        patient=st.sampled_from(["asha", "ravi", "kiran"]),
    )
    def sell(self, kind, start_in, patient):
        start = self.today + dt.timedelta(days=start_in)
        holder = self.clinic.patients[patient]
        package = self.clinic.sell(self.plans[kind], patient=holder, start_date=start)
        lines = PackageLine.objects.filter(package=package).order_by("id")
        assert [line.granted for line in lines] == [4, 4]
        self.world.packages[package.id] = PackageModel(
            id=package.id,
            holder_id=holder.id,
            start=start,
            expires_on=start + dt.timedelta(days=VALID_DAYS - 1),
            soft=kind == "soft",
            transferable=kind == "hard",
            lines=[LineModel(4), LineModel(4)],
        )

    @rule(pick=PICK, service=st.sampled_from(sorted(SERVICES)), sessions=st.integers(1, 3))
    def redeem(self, pick, service, sessions):
        package_id = self.pick(self.world.packages, pick)
        pkg = self.world.packages[package_id]
        line = SERVICES[service]
        call = lambda: services.redeem_session(
            tenant=self.clinic.tenant,
            actor=self.clinic.front_desk,
            package_id=package_id,
            service_id=self.clinic.services[service].id,
            centre_id=self.clinic.centre.id,
            sessions=sessions,
        )
        refusal = self.check_use(pkg, line, sessions, self.today)
        if refusal:
            self.expect_refusal(call, refusal)
            return
        redemption = call()
        assert redemption.sessions == sessions and redemption.value >= 0
        assert redemption.in_grace == (pkg.validity(self.today) == "in_grace")
        assert redemption.person_id == pkg.holder_id
        pkg.lines[line].redeemed += sessions
        self.world.redemptions[redemption.id] = RedemptionModel(package_id, line, sessions)

    @rule(
        pick=PICK, service=st.sampled_from(sorted(SERVICES)), days_ahead=st.integers(0, 6), sessions=st.integers(1, 2)
    )
    def hold(self, pick, service, days_ahead, sessions):
        package_id = self.pick(self.world.packages, pick)
        pkg = self.world.packages[package_id]
        line = SERVICES[service]
        day = self.today + dt.timedelta(days=days_ahead)
        call = lambda: services.place_hold(
            tenant=self.clinic.tenant,
            actor=self.clinic.front_desk,
            package_id=package_id,
            service_id=self.clinic.services[service].id,
            centre_id=self.clinic.centre.id,
            day=day,
            sessions=sessions,
        )
        refusal = self.check_use(pkg, line, sessions, day)
        if refusal:
            self.expect_refusal(call, refusal)
            return
        hold = call()
        assert (hold.day, hold.sessions, hold.state) == (day, sessions, "pending")
        pkg.lines[line].held += sessions
        self.world.holds[hold.id] = HoldModel(package_id, line, sessions, day)

    @precondition(lambda self: self.world.holds)
    @rule(pick=PICK)
    def post(self, pick):
        hold_id = self.pick(self.world.holds, pick)
        hold = self.world.holds[hold_id]
        call = lambda: services.post_hold(
            tenant=self.clinic.tenant,
            actor=self.clinic.front_desk,
            hold_id=hold_id,
        )
        if hold.state == "released":
            self.expect_refusal(call, "hold_resolved", Conflict)
            return
        redemption = call()
        if hold.state == "posted":
            assert redemption.id == hold.redemption_id  # a second arrival is the same arrival
            return
        line = self.world.packages[hold.package_id].lines[hold.line]
        line.held -= hold.sessions
        line.redeemed += hold.sessions
        hold.state, hold.redemption_id = "posted", redemption.id
        assert (redemption.sessions, redemption.day) == (hold.sessions, hold.day)
        assert redemption.in_grace == (self.world.packages[hold.package_id].validity(hold.day) == "in_grace")
        self.world.redemptions[redemption.id] = RedemptionModel(hold.package_id, hold.line, hold.sessions)

    @precondition(lambda self: self.world.holds)
    @rule(pick=PICK)
    def release(self, pick):
        hold_id = self.pick(self.world.holds, pick)
        hold = self.world.holds[hold_id]
        call = lambda: services.release_hold(
            tenant=self.clinic.tenant,
            actor=self.clinic.front_desk,
            hold_id=hold_id,
            reason="appointment cancelled",
        )
        if hold.state == "posted":
            self.expect_refusal(call, "hold_resolved", Conflict)
            return
        assert call().state == "released"
        if hold.state == "pending":
            self.world.packages[hold.package_id].lines[hold.line].held -= hold.sessions
            hold.state = "released"

    @precondition(lambda self: self.world.redemptions)
    @rule(pick=PICK)
    def void(self, pick):
        redemption_id = self.pick(self.world.redemptions, pick)
        redemption = self.world.redemptions[redemption_id]
        pkg = self.world.packages[redemption.package_id]
        call = lambda: services.void_redemption(
            tenant=self.clinic.tenant,
            actor=self.clinic.manager,
            redemption_id=redemption_id,
            reason="entered in error",
        )
        if redemption.voided:
            self.expect_refusal(call, "already_voided", Conflict)
            return
        if pkg.closure:
            self.expect_refusal(call, "not_voidable", Conflict)
            return
        call()
        redemption.voided = True
        pkg.lines[redemption.line].redeemed -= redemption.sessions
        self.expire_if_due(pkg)

    @rule(pick=PICK, line=st.integers(0, 1), delta=st.sampled_from([-2, -1, 1, 2]))
    def adjust(self, pick, line, delta):
        package_id = self.pick(self.world.packages, pick)
        pkg = self.world.packages[package_id]
        line_id = PackageLine.objects.filter(package_id=package_id).order_by("id").values_list("id", flat=True)[line]
        call = lambda: services.adjust_sessions(
            tenant=self.clinic.tenant,
            actor=self.clinic.manager,
            package_id=package_id,
            line_id=line_id,
            delta=delta,
            reason="goodwill" if delta > 0 else "correction",
        )
        if pkg.closure:
            self.expect_refusal(call, "transition_not_allowed", Conflict)
        elif delta < 0 and pkg.lines[line].available < -delta:
            self.expect_refusal(call, "adjustment_too_large", Conflict)
        else:
            call()
            pkg.lines[line].granted += delta

    @rule(pick=PICK, clear=st.booleans(), days_from_today=st.integers(-6, 8))
    def change_expiry(self, pick, clear, days_from_today):
        package_id = self.pick(self.world.packages, pick)
        pkg = self.world.packages[package_id]
        new = None if clear else self.today + dt.timedelta(days=days_from_today)
        call = lambda: services.change_expiry(
            tenant=self.clinic.tenant,
            actor=self.clinic.manager,
            package_id=package_id,
            expires_on=new,
            reason="manager's decision",
        )
        late_holds = new is not None and any(
            h.package_id == package_id and h.state == "pending" and h.day > new for h in self.world.holds.values()
        )
        if pkg.closure:
            self.expect_refusal(call, "transition_not_allowed", Conflict)
        elif new is not None and new < pkg.start:
            self.expect_refusal(call, "invalid", InvalidInput)
        elif late_holds:
            self.expect_refusal(call, "transition_not_allowed", Conflict)
        else:
            call()
            pkg.expires_on = new
            if pkg.validity(self.today) != "expired":
                for line in pkg.lines:
                    line.expired = 0  # an extension gives back what expiry took
            self.expire_if_due(pkg)

    @precondition(lambda self: self.due())  # a sweep with nothing due is tested by the lifecycle tests
    @rule()
    def expire_sweep(self):
        expected = sum(self.expire_if_due(pkg) for pkg in self.world.packages.values())
        assert services.expire_due_packages(tenant=self.clinic.tenant) == expected

    @rule(pick=PICK, to=st.sampled_from(["asha", "ravi", "lata"]))
    def transfer(self, pick, to):
        package_id = self.pick(self.world.packages, pick)
        pkg = self.world.packages[package_id]
        recipient = self.clinic.patients[to]
        call = lambda: services.transfer_package(
            tenant=self.clinic.tenant, actor=self.clinic.manager, package_id=package_id, to_patient_id=recipient.id
        )
        pending = any(h.package_id == package_id and h.state == "pending" for h in self.world.holds.values())
        if not pkg.transferable:
            self.expect_refusal(call, "not_transferable")
        elif pkg.status(self.today) not in (("scheduled", False), ("active", False)):
            self.expect_refusal(call, "transition_not_allowed", Conflict)
        elif recipient.id == pkg.holder_id:
            self.expect_refusal(call, "invalid", InvalidInput)
        elif pending:
            self.expect_refusal(call, "transition_not_allowed", Conflict)
        else:
            call()
            pkg.holder_id = recipient.id

    @precondition(lambda self: self.open_packages() >= 2)  # keep one package open to go on playing with
    @rule(pick=PICK, how=st.sampled_from(["completed", "cancelled"]))
    def close(self, pick, how):
        package_id = self.pick(self.world.packages, pick)
        pkg = self.world.packages[package_id]
        action = services.complete_package if how == "completed" else services.cancel_package
        call = lambda: action(
            tenant=self.clinic.tenant,
            actor=self.clinic.manager,
            package_id=package_id,
            reason="treatment plan changed",
        )
        if pkg.closure:
            self.expect_refusal(call, "transition_not_allowed", Conflict)
            return
        call()
        self.release_pending(pkg)
        for line in pkg.lines:
            line.closed += line.remaining
        pkg.closure = how

    @rule(days=st.integers(0, 4), hours=st.integers(0, 23))
    def advance_clock(self, days, hours):
        clock.set_now(clock.now() + dt.timedelta(days=days, hours=hours))

    # ------------------------------------------------------------ invariants

    @invariant()
    def balances_and_status_match_the_model(self):
        today = self.today
        packages = {p.id: p for p in Package.objects.filter(tenant=self.clinic.tenant).select_related("sold_at")}
        lines: dict[int, list[PackageLine]] = {pid: [] for pid in packages}
        for line in PackageLine.objects.filter(tenant=self.clinic.tenant).order_by("id"):
            lines[line.package_id].append(line)
        assert set(packages) == set(self.world.packages)
        for pkg in self.world.packages.values():
            package = packages[pkg.id]
            for line, model in zip(lines[pkg.id], pkg.lines, strict=True):
                assert line.available >= 0
                assert line.deferred_value >= 0
                assert (line.granted, line.redeemed, line.held, line.forfeited) == (
                    model.granted,
                    model.redeemed,
                    model.held,
                    model.expired + model.closed,
                ), pkg
            assert (package.holder_id, package.expires_on, package.closure) == (
                pkg.holder_id,
                pkg.expires_on,
                pkg.closure,
            )
            view = selectors.summarize(package, lines=lines[pkg.id]).status
            assert (view.status, view.in_grace) == pkg.status(today), (pkg, today)

    @invariant()
    def holds_and_redemptions_match_the_model(self):
        for hold_id, state in Hold.objects.filter(tenant=self.clinic.tenant).values_list("id", "state"):
            assert self.world.holds[hold_id].state == state
        live = set(
            Redemption.objects.filter(tenant=self.clinic.tenant, voided_at__isnull=True).values_list("id", flat=True)
        )
        assert live == {rid for rid, r in self.world.redemptions.items() if not r.voided}

    @invariant()
    def ledger_reconciles_and_journal_balances(self):
        assert_reconciled(self.clinic.tenant)  # includes reconcile: ledger_mismatches() == []
        assert_values_conserved(Package.objects.filter(tenant=self.clinic.tenant))


@pytest.mark.django_db
def test_package_ledger_state_machine():
    run_state_machine_as_test(
        PackageLedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
