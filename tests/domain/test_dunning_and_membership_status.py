"""Dunning schedules and the membership status table (SPEC §10.2)."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard.domain.dunning import DunningSchedule, FinalAction
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.membership_status import ALLOWED, FINAL, MembershipStatus, ensure_transition

D = dt.date
M = MembershipStatus


def test_the_default_is_one_retry_three_days_after_the_failure_then_cancel():
    schedule = DunningSchedule()
    assert schedule.next_retry(D(2027, 3, 1), 1) == D(2027, 3, 4)
    assert schedule.next_retry(D(2027, 3, 1), 2) is None  # the retry failed too: the final action
    assert schedule.final_action is FinalAction.CANCEL


def test_a_tenant_schedule_of_3_5_7_days_counts_from_the_failed_renewal():
    schedule = DunningSchedule(retry_days=(3, 5, 7), final_action="suspend")
    assert [schedule.next_retry(D(2027, 2, 27), n) for n in (1, 2, 3, 4)] == [
        D(2027, 3, 2),  # 27 Feb + 3 (2027: February has 28 days)
        D(2027, 3, 4),
        D(2027, 3, 6),
        None,
    ]
    assert schedule.final_action is FinalAction.SUSPEND


@pytest.mark.parametrize(
    ("retry_days", "final_action", "field"),
    [
        ((5, 3), "cancel", "retry_days"),  # not increasing
        ((3, 3), "cancel", "retry_days"),
        ((0,), "cancel", "retry_days"),
        ((61,), "cancel", "retry_days"),
        (tuple(range(1, 12)), "cancel", "retry_days"),  # eleven retries
        ((True,), "cancel", "retry_days"),
        ((3,), "refund", "final_action"),
    ],
)
def test_a_schedule_that_breaks_a_rule_is_refused_naming_it(retry_days, final_action, field):
    with pytest.raises(InvalidInput) as refused:
        DunningSchedule(retry_days=retry_days, final_action=final_action)
    assert refused.value.field == field


def test_every_status_is_in_the_table_and_final_ones_allow_nothing():
    assert set(ALLOWED) == set(MembershipStatus)
    assert all(not ALLOWED[status] for status in FINAL)
    # Every status can be left for cancellation or already is final: nobody is ever stuck paying.
    assert all(M.CANCELLED in ALLOWED[status] for status in set(MembershipStatus) - FINAL)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (M.SCHEDULED, M.ACTIVE),
        (M.TRIALING, M.ACTIVE),
        (M.ACTIVE, M.PAST_DUE),
        (M.PAST_DUE, M.ACTIVE),  # paid on a retry, a new method, or at the desk
        (M.PAST_DUE, M.SUSPENDED),
        (M.SUSPENDED, M.ACTIVE),
        (M.ACTIVE, M.PAUSED),
        (M.PAUSED, M.ACTIVE),
        (M.ACTIVE, M.CANCELLING),
        (M.CANCELLING, M.ACTIVE),
        (M.CANCELLING, M.ENDED),
    ],
)
def test_the_lifecycle_moves_the_table_lists(current, target):
    ensure_transition(current, target)


def test_a_refusal_says_why_in_the_clinics_words():
    with pytest.raises(Conflict) as refused:
        ensure_transition(M.PAST_DUE, M.PAUSED)
    assert refused.value.code == "membership_transition_not_allowed"
    assert str(refused.value) == "a membership with an unpaid invoice cannot be paused; pay the invoice first"
    with pytest.raises(Conflict, match="the membership is ended: nothing changes it any more"):
        ensure_transition(M.ENDED, M.ACTIVE)
    with pytest.raises(Conflict, match="a paused membership cannot become suspended"):
        ensure_transition(M.PAUSED, M.SUSPENDED)
