"""Pure rules of pausing and cancelling a membership, and recognition with a pause (SPEC §10.2, §10.3)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from punchcard.domain.errors import DomainError
from punchcard.domain.membership_lifecycle import (
    earliest_end,
    ensure_pause_allowed_this_year,
    first_billing_date_on_or_after,
    resume_day,
)
from punchcard.domain.membership_terms import PauseRules
from punchcard.domain.periods import Frequency
from punchcard.domain.recognition import earned_through, service_days, service_days_passed

D = dt.date
RULES = PauseRules(allowed=True, min_months=1, max_months=6, per_year=2)


def _code(call):
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def test_a_pause_in_months_ends_on_the_same_day_months_later_or_the_month_end():
    assert resume_day(RULES, D(2026, 3, 16), months=2) == D(2026, 5, 16)
    assert resume_day(RULES, D(2026, 8, 31), months=6) == D(2027, 2, 28)  # no 31 February
    assert resume_day(RULES, D(2026, 3, 16), until=D(2026, 4, 16)) == D(2026, 4, 16)


def test_each_pause_refusal_has_its_code():
    assert _code(lambda: resume_day(PauseRules(), D(2026, 3, 1), months=1)) == "pause_not_allowed"
    assert _code(lambda: resume_day(RULES, D(2026, 3, 16), until=D(2026, 4, 15))) == "pause_too_short"
    assert _code(lambda: resume_day(RULES, D(2026, 3, 16), months=7)) == "pause_too_long"
    assert _code(lambda: resume_day(RULES, D(2026, 3, 16), until=D(2026, 9, 17))) == "pause_too_long"
    assert _code(lambda: resume_day(RULES, D(2026, 3, 16), until=D(2026, 3, 16))) == "invalid"
    assert _code(lambda: resume_day(RULES, D(2026, 3, 16), months=0)) == "invalid"
    assert _code(lambda: resume_day(RULES, D(2026, 3, 16), months=True)) == "invalid"
    assert _code(lambda: resume_day(RULES, D(2026, 3, 16))) == "invalid"


def test_pauses_a_year_count_the_twelve_months_up_to_today():
    ensure_pause_allowed_this_year(RULES, D(2026, 3, 16), [D(2025, 3, 16), D(2025, 12, 1)])  # 16 Mar 2025 is out
    refused = _code(lambda: ensure_pause_allowed_this_year(RULES, D(2026, 3, 16), [D(2025, 3, 17), D(2025, 12, 1)]))
    assert refused == "pause_limit_reached"


def test_the_first_period_end_on_or_after_a_day_keeps_the_anchor():
    anchor = D(2026, 1, 31)
    assert first_billing_date_on_or_after(anchor, Frequency.MONTHLY, D(2026, 1, 1)) == anchor
    assert first_billing_date_on_or_after(anchor, Frequency.MONTHLY, D(2026, 2, 28)) == D(2026, 2, 28)
    assert first_billing_date_on_or_after(anchor, Frequency.MONTHLY, D(2026, 3, 1)) == D(2026, 3, 31)
    assert first_billing_date_on_or_after(anchor, Frequency.QUARTERLY, D(2026, 5, 1)) == D(2026, 7, 31)


def test_the_earliest_end_is_the_later_of_the_notice_and_the_commitment():
    assert earliest_end(D(2026, 3, 20), notice_days=30, commitment_end=None) == D(2026, 4, 19)
    assert earliest_end(D(2026, 3, 20), notice_days=0, commitment_end=D(2026, 6, 1)) == D(2026, 6, 1)
    assert earliest_end(D(2026, 3, 20), notice_days=90, commitment_end=D(2026, 6, 1)) == D(2026, 6, 18)


def test_a_pause_stops_the_clock_of_a_stretched_period():
    # March [1 Mar, 1 Apr) paused from 16 March to 16 May (61 days): the period now ends on 1 June and has
    # 31 service days: 1–15 March and 16–31 May. ₹3,000 / 31 a day; through 15 March 15 days = ₹1,451.61.
    start, end, gaps = D(2026, 3, 1), D(2026, 6, 1), [(D(2026, 3, 16), D(2026, 5, 16))]
    assert service_days(start, end, gaps) == 31
    assert earned_through(300000, start, end, D(2026, 3, 15), gaps) == 145161
    assert earned_through(300000, start, end, D(2026, 5, 15), gaps) == 145161  # nothing in the pause
    assert earned_through(300000, start, end, D(2026, 5, 16), gaps) == 154839  # 16 days: 4800000/31 = 154838.7
    assert earned_through(300000, start, end, D(2026, 5, 31), gaps) == 300000


def test_a_period_with_no_service_day_has_earned_its_fee_from_its_start():
    assert earned_through(5000, D(2026, 3, 1), D(2026, 3, 1), D(2026, 2, 28)) == 0
    assert earned_through(5000, D(2026, 3, 1), D(2026, 3, 1), D(2026, 3, 1)) == 5000


@given(
    net=st.integers(0, 10**9),
    length=st.integers(1, 400),
    gap_start=st.integers(0, 400),
    gap_days=st.integers(0, 200),
)
def test_recognition_with_a_pause_is_monotone_and_sums_to_the_fee(net, length, gap_start, gap_days):
    start = D(2026, 1, 1)
    end = start + dt.timedelta(days=length + gap_days)
    gap = (
        start + dt.timedelta(days=min(gap_start, length)),
        start + dt.timedelta(days=min(gap_start, length) + gap_days),
    )
    earned = [
        earned_through(net, start, end, start + dt.timedelta(days=i), [gap]) for i in range(-1, length + gap_days)
    ]
    assert earned[0] == 0 and earned[-1] == net
    assert all(a <= b for a, b in itertools.pairwise(earned))
    # A pause day earns nothing.
    for i in range(gap_days):
        day = gap[0] + dt.timedelta(days=i)
        assert service_days_passed(start, end, day, [gap]) == service_days_passed(
            start, end, gap[0] - dt.timedelta(days=1), [gap]
        )
