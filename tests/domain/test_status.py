"""SPEC §4.2: status is a pure function of closure, dates, balance and the day; one table says what each allows."""

import datetime as dt

import pytest

from punchcard.domain.errors import Conflict
from punchcard.domain.expiry import ExpiryMode
from punchcard.domain.status import (
    ALLOWED,
    CLOSED,
    OPEN,
    Action,
    Closure,
    PackageStatus,
    StatusView,
    derive_status,
    ensure_allowed,
)

D = dt.date
S = PackageStatus
START, LAST = D(2026, 3, 1), D(2026, 5, 29)


def status(today, *, closure=None, remaining=5, mode=ExpiryMode.HARD, grace=0, last=LAST, start=START):
    return derive_status(
        closure=closure, today=today, start=start, last_day=last, mode=mode, grace_days=grace, remaining=remaining
    )


def test_scheduled_before_the_start_date():
    assert status(D(2026, 2, 28)) == StatusView(S.SCHEDULED)


def test_active_from_the_start_date_with_sessions_remaining():
    assert status(START) == StatusView(S.ACTIVE)
    assert status(LAST, remaining=1) == StatusView(S.ACTIVE)


def test_exhausted_with_nothing_remaining_while_validity_still_runs():
    assert status(D(2026, 4, 1), remaining=0) == StatusView(S.EXHAUSTED)
    assert status(D(2030, 1, 1), remaining=0, last=None) == StatusView(S.EXHAUSTED)


def test_expired_after_the_last_day_whatever_remains():
    assert status(D(2026, 5, 30), remaining=5) == StatusView(S.EXPIRED)
    assert status(D(2026, 5, 30), remaining=0) == StatusView(S.EXPIRED)


def test_soft_expiry_reports_expired_in_grace_then_plain_expired():
    assert status(D(2026, 5, 30), mode=ExpiryMode.SOFT, grace=7) == StatusView(S.EXPIRED, in_grace=True)
    assert status(D(2026, 6, 5), mode=ExpiryMode.SOFT, grace=7) == StatusView(S.EXPIRED, in_grace=True)
    assert status(D(2026, 6, 6), mode=ExpiryMode.SOFT, grace=7) == StatusView(S.EXPIRED, in_grace=False)


def test_no_expiry_stays_active():
    assert status(D(2040, 1, 1), last=None) == StatusView(S.ACTIVE)


@pytest.mark.parametrize(
    "closure, expected",
    [(Closure.COMPLETED, S.COMPLETED), (Closure.CANCELLED, S.CANCELLED), (Closure.UPGRADED, S.UPGRADED)],
)
def test_a_closure_wins_over_dates_and_balance(closure, expected):
    for today in (D(2026, 2, 1), D(2026, 4, 1), D(2027, 1, 1)):
        for remaining in (0, 3):
            assert status(today, closure=closure, remaining=remaining) == StatusView(expected)


def test_open_and_closed_partition_the_statuses():
    assert set(PackageStatus) == OPEN | CLOSED
    assert not OPEN & CLOSED


# The table as the product describes it (SPEC §4–§8), written out independently of ALLOWED.
EXPECTED = {
    Action.COMPLETE: {S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED},
    Action.CANCEL: {S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED},
    Action.REFUND: {S.SCHEDULED, S.ACTIVE, S.EXHAUSTED},
    Action.UPGRADE: {S.SCHEDULED, S.ACTIVE},
    Action.TOP_UP: {S.SCHEDULED, S.ACTIVE, S.EXHAUSTED},
    Action.TRANSFER: {S.SCHEDULED, S.ACTIVE},
    Action.ADJUST: {S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED},
    Action.CHANGE_EXPIRY: {S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED},
    Action.ADD_BENEFICIARY: {S.SCHEDULED, S.ACTIVE, S.EXHAUSTED},
}
REFUSAL_CODE = {Action.REFUND: "not_refundable", Action.TOP_UP: "topup_not_allowed"}


def test_every_action_is_in_the_table():
    assert set(ALLOWED) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", list(PackageStatus))
def test_ensure_allowed_follows_the_table(action, state):
    view = StatusView(state)
    if state in EXPECTED[action]:
        ensure_allowed(action, view)
    else:
        with pytest.raises(Conflict) as refused:
            ensure_allowed(action, view)
        assert refused.value.code == REFUSAL_CODE.get(action, "transition_not_allowed")
        assert refused.value.context["status"] == str(state)


def test_a_closed_package_allows_nothing():
    for state in CLOSED:
        assert all(state not in allowed for allowed in ALLOWED.values())
