"""Races between separate connections: every hold resolves exactly once, no session is used twice."""

import datetime as dt

import pytest

from punchcard.domain.errors import Conflict, RuleViolation
from punchcard.packages import selectors, services
from punchcard.packages.models import EntryKind, Hold, HoldState, Redemption, SessionEntry

from ..clinic import Clinic
from ..scenario import assert_reconciled
from .books import assert_value_conserved

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def _package(clinic, sessions=5):
    plan = clinic.plan(f"pack-{sessions}", price=100000 * sessions, lines=[clinic.line("physio", sessions=sessions)])
    return clinic.sell(plan)


def _post(clinic, hold):
    return lambda: services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)


def _release(clinic, hold):
    return lambda: services.release_hold(
        tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id, reason="appointment cancelled"
    )


def test_ten_threads_posting_and_releasing_one_hold_resolve_it_exactly_once(run_concurrently):
    clinic = Clinic.open()
    package = _package(clinic)
    for _ in range(4):
        hold = clinic.hold(package, "physio", D(2026, 3, 2))
        calls = [(_post if i % 2 == 0 else _release)(clinic, hold) for i in range(10)]
        outcomes = run_concurrently(*calls)

        hold.refresh_from_db()
        assert hold.state in (HoldState.POSTED, HoldState.RELEASED)
        posts, releases = outcomes[0::2], outcomes[1::2]
        if hold.state == HoldState.POSTED:
            redemption = Redemption.objects.get(hold=hold)
            assert all(isinstance(o, Redemption) and o.id == redemption.id for o in posts), posts
            assert all(isinstance(o, Conflict) and o.code == "hold_resolved" for o in releases), releases
        else:
            assert not Redemption.objects.filter(hold=hold).exists()
            assert all(isinstance(o, Hold) and o.id == hold.id for o in releases), releases
            assert all(isinstance(o, Conflict) and o.code == "hold_resolved" for o in posts), posts
        # One placing entry and one resolving entry for the hold, whoever won.
        kinds = sorted(SessionEntry.objects.filter(hold=hold).values_list("kind", flat=True))
        assert kinds == sorted(
            [EntryKind.HOLD, EntryKind.REDEEM if hold.state == HoldState.POSTED else EntryKind.RELEASE]
        )
    summary = selectors.summarize(package)
    assert summary.held == 0
    assert summary.redeemed == Redemption.objects.filter(package=package).count()
    assert_value_conserved(package)
    assert_reconciled(clinic.tenant)


def test_ten_threads_posting_one_hold_make_one_redemption(run_concurrently):
    clinic = Clinic.open()
    package = _package(clinic)
    hold = clinic.hold(package, "physio", D(2026, 3, 2))

    outcomes = run_concurrently(*[_post(clinic, hold) for _ in range(10)])

    assert all(isinstance(o, Redemption) for o in outcomes), outcomes
    assert len({o.id for o in outcomes}) == 1
    assert Redemption.objects.filter(package=package).count() == 1
    assert selectors.summarize(package).redeemed == 1
    assert_reconciled(clinic.tenant)


def test_two_holds_racing_for_the_last_session_one_wins_one_is_refused(run_concurrently):
    clinic = Clinic.open()
    package = _package(clinic, sessions=2)
    clinic.redeem(package, "physio")

    outcomes = run_concurrently(
        lambda: clinic.hold(package, "physio", D(2026, 3, 3)), lambda: clinic.hold(package, "physio", D(2026, 3, 4))
    )

    holds = [o for o in outcomes if isinstance(o, Hold)]
    refusals = [o for o in outcomes if isinstance(o, RuleViolation)]
    assert len(holds) == 1 and len(refusals) == 1, outcomes
    assert refusals[0].code == "insufficient_sessions"
    summary = selectors.summarize(package)
    assert (summary.held, summary.available) == (1, 0)
    assert_reconciled(clinic.tenant)


def test_a_hold_and_a_walk_in_racing_for_the_last_session_one_wins(run_concurrently):
    clinic = Clinic.open()
    package = _package(clinic, sessions=1)

    outcomes = run_concurrently(
        lambda: clinic.hold(package, "physio", D(2026, 3, 3)), lambda: clinic.redeem(package, "physio")
    )

    winners = [o for o in outcomes if isinstance(o, (Hold, Redemption))]
    refusals = [o for o in outcomes if isinstance(o, RuleViolation)]
    assert len(winners) == 1 and len(refusals) == 1, outcomes
    assert refusals[0].code == "insufficient_sessions"
    assert selectors.summarize(package).available == 0
    assert_reconciled(clinic.tenant)


def test_five_managers_voiding_one_redemption_restore_its_session_once(run_concurrently):
    clinic = Clinic.open()
    package = _package(clinic, sessions=3)
    redemption = clinic.redeem(package, "physio")

    outcomes = run_concurrently(
        *[
            lambda: services.void_redemption(
                tenant=clinic.tenant, actor=clinic.manager, redemption_id=redemption.id, reason="wrong patient"
            )
            for _ in range(5)
        ]
    )

    voided = [o for o in outcomes if isinstance(o, Redemption)]
    refusals = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(voided) == 1 and len(refusals) == 4, outcomes
    assert {r.code for r in refusals} == {"already_voided"}
    assert SessionEntry.objects.filter(redemption=redemption, kind=EntryKind.VOID).count() == 1
    summary = selectors.summarize(package)
    assert (summary.redeemed, summary.available, summary.deferred_value) == (0, 3, 300000)
    assert_value_conserved(package)
    assert_reconciled(clinic.tenant)


def test_redemptions_racing_an_expiry_sweep_leave_nothing_both_used_and_forfeited(run_concurrently):
    from punchcard import clock

    from ..clinic import local

    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "ten-days",
        price=500000,
        lines=[clinic.line("physio", sessions=5)],
        expiry={"kind": "after_start", "count": 10, "unit": "days"},
    )
    package = clinic.sell(plan)
    clock.set_now(local(2026, 3, 11, 0, 5))  # the day after the last valid day

    outcomes = run_concurrently(
        lambda: services.expire_due_packages(tenant=clinic.tenant),
        *[lambda: clinic.redeem(package, "physio") for _ in range(4)],
    )

    assert outcomes[0] == 1
    assert all(isinstance(o, RuleViolation) and o.code == "expired" for o in outcomes[1:]), outcomes
    summary = selectors.summarize(package)
    assert (summary.redeemed, summary.remaining, summary.deferred_value) == (0, 0, 0)
    assert_value_conserved(package)
    assert_reconciled(clinic.tenant)


def test_ten_retries_of_one_redemption_with_the_same_idempotency_key_redeem_once(run_concurrently):
    clinic = Clinic.open()
    package = _package(clinic, sessions=5)

    outcomes = run_concurrently(
        *[lambda: clinic.redeem(package, "physio", idempotency_key="appt-5-arrived") for _ in range(10)]
    )

    assert all(isinstance(o, Redemption) for o in outcomes), outcomes
    assert len({o.id for o in outcomes}) == 1
    assert selectors.summarize(package).redeemed == 1
    assert_reconciled(clinic.tenant)
