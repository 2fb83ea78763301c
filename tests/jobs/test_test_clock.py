"""A sandbox's test clock (SPEC §10.4): advancing it runs every job that falls due on the way, for that
sandbox only, as of each slot's own instant; real-time ticks leave such a sandbox alone.

The story: Sunrise Sandbox (Mumbai) sells a 3-session pack on Sunday 1 March 2026 at 10:00 whose last
usable day is Wednesday 11 March, ten days later. The expiry sweep runs daily at 00:05 in the centre's
zone, so the package expires at 00:05 IST on 12 March (18:35 UTC on 11 March), not a minute before.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.management import call_command

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.claims import services as claims
from punchcard.claims.models import ClaimCode, ClaimStatus
from punchcard.domain.errors import Conflict, Forbidden, InvalidInput
from punchcard.domain.roles import Actor, Role
from punchcard.jobs import registry
from punchcard.jobs.schedules import DailyAt
from punchcard.jobs.tick import tick
from punchcard.notifications.models import Delivery, OutboxEvent
from punchcard.notifications.services.endpoints import create_endpoint
from punchcard.packages.models import EntryKind, Package, SessionEntry
from punchcard.tenancy import selectors
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.models import TestClock
from punchcard.tenancy.testclock import advance_test_clock, start_clock

from ..clinic import Clinic, local
from ..notifications.receiver import Receiver
from ..scenario import assert_reconciled

UTC = dt.UTC
START = local(2026, 3, 1, 10)  # Sunday 1 March 2026, 10:00 in Mumbai
ADMIN = Actor(label="test-admin", role=Role.ADMIN, source="tests")


@pytest.fixture(autouse=True)
def _unfreeze():
    yield
    clock.set_now(None)


def sandbox_with_pack(*, sandbox: bool = True):
    clinic = Clinic.open(now=START, sandbox=sandbox)
    plan = clinic.plan(
        "ten-days",
        price=300000,
        lines=[clinic.line("physio", sessions=3)],
        expiry={"kind": "fixed_date", "fixed_date": "2026-03-11"},
    )
    return clinic, clinic.sell(plan)


def advance(clinic, to, **kw):
    clock.set_now(None)  # from here on the sandbox's own clock (an explicit freeze would override it)
    return advance_test_clock(tenant=clinic.tenant, to=to, actor=clinic.manager, **kw)


def forfeited(package) -> int:
    return Package.objects.get(id=package.id).lines.get().forfeited


# ---------------------------------------------------------------- the clock itself


def test_a_freeze_beats_the_tenants_clock_which_beats_punchcard_now_which_beats_real_time(monkeypatch):
    frozen, sandbox, env = (dt.datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3))
    monkeypatch.setenv("PUNCHCARD_NOW", env.isoformat())
    assert clock.now() == env
    with clock.tenant_time(sandbox):
        assert clock.now() == sandbox
        with clock.tenant_time(None):  # a live tenant's work inside: no clock of its own
            assert clock.now() == env
        with clock.frozen_at(frozen):
            assert clock.now() == frozen
        assert clock.now() == sandbox
    assert clock.now() == env and clock.tenant_instant() is None
    monkeypatch.delenv("PUNCHCARD_NOW")
    assert abs(clock.now() - clock.wall()) < dt.timedelta(seconds=5)


def test_a_tenants_clock_belongs_to_its_own_thread():
    seen = []
    with clock.tenant_time(dt.datetime(2030, 1, 1, tzinfo=UTC)):
        worker = threading.Thread(target=lambda: seen.append(clock.tenant_instant()))
        worker.start()
        worker.join()
    assert seen == [None]


@pytest.mark.django_db
def test_only_a_sandbox_has_a_clock_and_jobs_on_real_time_skip_it():
    clinic, _ = sandbox_with_pack()
    live = Clinic.open(now=START)
    unstarted = tenancy.create_tenant(name="Old sandbox", slug="old-sandbox", sandbox=True, now=START)
    assert selectors.own_clock(clinic.tenant) == START and selectors.own_clock(live.tenant) is None
    assert selectors.own_clock(unstarted) is None  # not advanced yet: real time
    on_real_time = set(selectors.tenants_on_real_time())
    assert live.tenant in on_real_time and unstarted in on_real_time and clinic.tenant not in on_real_time
    assert list(selectors.tenants_for_job(clinic.tenant.id)) == [clinic.tenant]
    with pytest.raises(Conflict) as refused:
        start_clock(tenant=live.tenant)
    assert refused.value.code == "test_clock_live_tenant"
    assert not TestClock.objects.filter(tenant=live.tenant).exists()


# ---------------------------------------------------------------- advancing runs what falls due


@pytest.mark.django_db
def test_the_expiry_sweep_runs_on_the_right_local_day():
    clinic, package = sandbox_with_pack()

    nine_days = advance(clinic, local(2026, 3, 10, 10))
    assert forfeited(package) == 0
    sweeps = [r for r in nine_days.ran if r.job == "expiry-sweep"]
    assert [r.slot for r in sweeps] == [f"Asia/Kolkata/2026-03-{d:02d}" for d in range(2, 11)]  # 2 … 10 March
    assert sweeps[0].at == dt.datetime(2026, 3, 1, 18, 35, tzinfo=UTC)  # 00:05 IST on 2 March
    assert selectors.own_clock(clinic.tenant) == local(2026, 3, 10, 10)

    advance(clinic, local(2026, 3, 12, 0, 4))  # a minute before the sweep of 12 March
    assert forfeited(package) == 0

    eleven_days = advance(clinic, local(2026, 3, 12, 10))
    assert forfeited(package) == 3
    (sweep,) = [r for r in eleven_days.ran if r.job == "expiry-sweep"]
    assert (sweep.slot, sweep.at, sweep.count) == ("Asia/Kolkata/2026-03-12", local(2026, 3, 12, 0, 5), 1)
    expire = SessionEntry.objects.get(line__package=package, kind=EntryKind.EXPIRE)
    assert expire.at == local(2026, 3, 12, 0, 5)  # as of the slot, on the sandbox's clock
    assert OutboxEvent.objects.get(tenant_id=clinic.tenant.id, type="package.expired").occurred_at == expire.at
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_reminders_are_told_on_their_local_days():
    clinic, _ = sandbox_with_pack()

    def reminders():
        rows = OutboxEvent.objects.filter(tenant_id=clinic.tenant.id, type="package.expiring_soon")
        return [(r.occurred_at, r.payload["days_left"], r.payload["reminder_days"]) for r in rows.order_by("id")]

    advance(clinic, local(2026, 3, 2, 0, 4))
    assert reminders() == []
    advance(clinic, local(2026, 3, 9, 12))
    # Defaults 14 and 3 days: on 2 March 9 days are left (within 14); on 8 March, 3 (within 3).
    assert reminders() == [(local(2026, 3, 2, 0, 5), 9, 14), (local(2026, 3, 8, 0, 5), 3, 3)]
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_unclaimed_codes_expire_at_0005_utc_of_the_day_after_their_last():
    clinic = Clinic.open(now=START, sandbox=True)
    plan = clinic.plan("physio-10", price=800000, lines=[clinic.line("physio", sessions=10)])
    buyer = tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="ACME", name="Acme")
    made = claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=buyer.id,
        centre_id=clinic.centre.id,
        plan_id=plan.plan_id,
        quantity=2,
        expires_on=dt.date(2026, 3, 31),
    )
    billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=made.order.id, method="bank_transfer", amount=1600000
    )
    codes = ClaimCode.objects.filter(id__in=[c.code.id for c in made.codes])

    advance(clinic, dt.datetime(2026, 4, 1, 0, 4, tzinfo=UTC))
    assert {c.status for c in codes} == {ClaimStatus.OPEN}
    done = advance(clinic, dt.datetime(2026, 4, 1, 0, 6, tzinfo=UTC))
    assert [(r.slot, r.count) for r in done.ran if r.job == "claim-code-expiry"] == [("UTC/2026-04-01", 2)]
    assert {c.status for c in codes.all()} == {ClaimStatus.EXPIRED}
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_webhooks_go_out_during_the_advance_dated_by_the_sandbox_signed_in_real_time(settings):
    settings.WEBHOOK_TIMEOUT = 2.0
    clinic, package = sandbox_with_pack()
    hook = Receiver([]).start()
    try:
        endpoint = create_endpoint(tenant=clinic.tenant, actor=ADMIN, url=hook.url, event_types=["package.expired"])
        done = advance(clinic, local(2026, 3, 12, 10))
        (received,) = hook.requests  # delivered in the advance itself, no worker needed
    finally:
        hook.stop()
    body = received.verify(endpoint.secret)
    assert body["type"] == "package.expired" and body["data"]["package_id"] == package.id
    assert body["timestamp"].startswith("2026-03-11T18:35")  # 00:05 IST on 12 March, the sandbox's time
    signed = dt.datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)
    assert abs(signed - clock.wall()) < dt.timedelta(minutes=1)  # the receiver checks it against its own clock
    (delivery,) = Delivery.objects.filter(endpoint=endpoint)
    assert delivery.state == "delivered" and delivery.delivered_at == local(2026, 3, 12, 0, 5)
    assert ("outbox-delivery", 1) in [(r.job, r.count) for r in done.ran]


# ---------------------------------------------------------------- refusals, repeats, crashes


@pytest.mark.django_db
def test_a_second_advance_to_the_same_instant_runs_nothing():
    clinic, package = sandbox_with_pack()
    first = advance(clinic, local(2026, 3, 12, 10))
    assert first.ran and first.done and first.steps > 0
    again = advance(clinic, local(2026, 3, 12, 10))
    assert (again.ran, again.steps, again.now) == ([], 0, local(2026, 3, 12, 10))
    assert SessionEntry.objects.filter(line__package=package, kind=EntryKind.EXPIRE).count() == 1


@pytest.mark.django_db
def test_refused_for_a_live_tenant_backwards_too_far_or_without_the_permission():
    live, _ = sandbox_with_pack(sandbox=False)
    with pytest.raises(Conflict) as refused:
        advance(live, local(2026, 3, 12))
    assert refused.value.code == "test_clock_live_tenant"
    assert not TestClock.objects.filter(tenant=live.tenant).exists()

    clinic, _ = sandbox_with_pack()
    for to, code in (
        (local(2026, 2, 28), "test_clock_backwards"),
        (local(2031, 3, 2), "test_clock_span_too_long"),  # 5 years and a day
    ):
        with pytest.raises(InvalidInput) as refused:
            advance(clinic, to)
        assert refused.value.code == code
    with pytest.raises(Forbidden):
        advance_test_clock(tenant=clinic.tenant, to=local(2026, 3, 2), actor=clinic.front_desk)
    assert selectors.own_clock(clinic.tenant) == START
    allowed = advance(clinic, local(2031, 3, 1), budget=0)  # exactly five years: allowed (one step of it run)
    assert allowed.steps == 1 and not allowed.done


@pytest.mark.django_db
def test_a_date_means_noon_that_day_in_the_tenants_zone():
    clinic, _ = sandbox_with_pack()
    assert advance(clinic, "2026-03-05").now == local(2026, 3, 5, 12)


class Flaky:
    """A job's task that fails the first time it runs for a given day, as a crash halfway would."""

    def __init__(self, day: str):
        self.day, self.failed, self.calls = day, False, []

    def call(self, **kwargs):
        self.calls.append(kwargs["day"])
        if kwargs["day"] == self.day and not self.failed:
            self.failed = True
            raise RuntimeError("the machine went down")
        return 0


@pytest.mark.django_db
def test_a_crash_halfway_leaves_the_clock_at_the_last_step_and_advancing_again_carries_on():
    clinic, package = sandbox_with_pack()
    flaky = Flaky("2026-03-05")
    registry.register("zz-flaky", flaky, DailyAt(dt.time(1, 0)))  # 01:00 UTC, after the 00:05 IST jobs
    try:
        with pytest.raises(RuntimeError):
            advance(clinic, local(2026, 3, 12, 10))
        # The steps of 5 March: 00:05 IST (18:35 UTC on the 4th: sweep, reminders), 00:05 UTC (claim codes),
        # 01:00 UTC (the flaky job), which failed: the clock stays at 00:05 UTC.
        stopped = selectors.own_clock(clinic.tenant)
        assert stopped == dt.datetime(2026, 3, 5, 0, 5, tzinfo=UTC)
        assert forfeited(package) == 0
        row = TestClock.objects.get(tenant=clinic.tenant)
        assert row.lease_token == "" and row.lease_until is None  # freed at once, not left to lapse

        resumed = advance(clinic, local(2026, 3, 12, 10))
        assert resumed.start == stopped and resumed.ran[0].slot == "UTC/2026-03-05"  # the unfinished step again
    finally:
        registry._jobs.pop("zz-flaky")
    assert flaky.calls == [f"2026-03-{d:02d}" for d in (2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12)]
    assert forfeited(package) == 3
    assert SessionEntry.objects.filter(line__package=package, kind=EntryKind.EXPIRE).count() == 1
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_an_advance_that_runs_out_of_time_stops_at_a_step_and_the_next_carries_on():
    clinic, package = sandbox_with_pack()
    first = advance(clinic, local(2026, 3, 12, 10), budget=0)
    assert first.steps == 1 and not first.done
    rest = advance(clinic, local(2026, 3, 12, 10))
    assert rest.start == first.now and rest.done and forfeited(package) == 3


# ---------------------------------------------------------------- against real time, and each other


@pytest.mark.django_db(transaction=True)
def test_the_real_time_tick_leaves_a_sandbox_with_its_own_clock_alone():
    sandbox, boxed = sandbox_with_pack()
    live, sold = sandbox_with_pack(sandbox=False)
    at = local(2026, 3, 12, 0, 10)
    clock.set_now(at)
    assert ("expiry-sweep", "Asia/Kolkata/2026-03-12") in tick(now=at)
    call_command("worker", batch=True, interval="0", verbosity=0)
    assert forfeited(sold) == 3  # the live clinic's package expired in real time
    assert forfeited(boxed) == 0  # the sandbox's clock still says 1 March
    assert selectors.own_clock(sandbox.tenant) == START
    advance(sandbox, local(2026, 3, 12, 10))
    assert forfeited(boxed) == 3
    assert_reconciled(sandbox.tenant)
    assert_reconciled(live.tenant)


@pytest.mark.django_db(transaction=True)
def test_two_advances_at_once_run_each_slot_once(run_concurrently):
    clinic, package = sandbox_with_pack()
    clock.set_now(None)
    to = local(2026, 3, 12, 10)
    outcomes = run_concurrently(
        lambda: advance_test_clock(tenant=clinic.tenant, to=to, actor=clinic.manager),
        lambda: advance_test_clock(tenant=clinic.tenant, to=to, actor=clinic.manager),
    )
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    daily = [(r.job, r.slot) for o in outcomes for r in o.ran if r.job != "outbox-delivery"]
    assert len(daily) == len(set(daily))  # no slot ran twice
    assert ("expiry-sweep", "Asia/Kolkata/2026-03-12") in daily
    assert sorted(o.steps for o in outcomes)[0] == 0  # the second found the clock already there
    assert forfeited(package) == 3
    assert SessionEntry.objects.filter(line__package=package, kind=EntryKind.EXPIRE).count() == 1
    assert selectors.own_clock(clinic.tenant) == to
    assert_reconciled(clinic.tenant)
