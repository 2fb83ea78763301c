"""Proration by whole days (SPEC §10.2), under each day-count convention; figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from punchcard.domain.errors import InvalidInput
from punchcard.domain.periods import Frequency, period
from punchcard.domain.proration import DayCount, days, prorate_change, prorate_sessions, share

D = dt.date
END_EXCLUDED, BOTH_ENDS, THIRTY = DayCount.ACTUAL_END_EXCLUDED, DayCount.ACTUAL_BOTH_ENDS, DayCount.THIRTY_DAY_MONTHS
JANUARY = period(D(2027, 1, 1), Frequency.MONTHLY, 0)  # [1 Jan, 1 Feb)
FEBRUARY_FROM_31 = period(D(2027, 1, 31), Frequency.MONTHLY, 1)  # [28 Feb, 31 Mar): 31 days


def test_days_under_each_convention():
    # 1 Jan to 1 Feb: 31 actual days, end excluded; 32 counting both ends; 30 in a 30-day month.
    assert days(D(2027, 1, 1), D(2027, 2, 1), END_EXCLUDED) == 31
    assert days(D(2027, 1, 1), D(2027, 2, 1), BOTH_ENDS) == 32
    assert days(D(2027, 1, 1), D(2027, 2, 1), THIRTY) == 30
    # 30E/360: the 31st counts as the 30th, so 31 Jan to 28 Feb is 30 × 1 + (28 − 30) = 28 days.
    assert days(D(2027, 1, 31), D(2027, 2, 28), THIRTY) == 28
    with pytest.raises(InvalidInput):
        days(D(2027, 2, 1), D(2027, 1, 1))


def test_an_upgrade_mid_january_default_convention():
    # Gold ₹3,000 → Platinum ₹5,000 on 20 Jan. Unused: 20 Jan to 1 Feb = 12 of 31 days.
    # Credit 300000 × 12 / 31 = 116129.03… → 116129; charge 500000 × 12 / 31 = 193548.38… → 193548.
    change = prorate_change(old_price=300000, new_price=500000, period=JANUARY, day=D(2027, 1, 20))
    assert (change.unused_days, change.period_days) == (12, 31)
    assert (change.credit, change.charge, change.net) == (116129, 193548, 77419)


def test_the_same_upgrade_counting_both_ends():
    # 20 Jan to 1 Feb both ends = 13 days of 32. Credit 300000 × 13 / 32 = 121875 exactly;
    # charge 500000 × 13 / 32 = 203125 exactly.
    change = prorate_change(
        old_price=300000, new_price=500000, period=JANUARY, day=D(2027, 1, 20), convention=BOTH_ENDS
    )
    assert (change.unused_days, change.period_days, change.credit, change.charge) == (13, 32, 121875, 203125)


def test_the_same_upgrade_in_thirty_day_months():
    # 20 Jan to 1 Feb = 30 + (1 − 20) = 11 days of 30. Credit 300000 × 11 / 30 = 110000; charge
    # 500000 × 11 / 30 = 183333.33… → 183333.
    change = prorate_change(old_price=300000, new_price=500000, period=JANUARY, day=D(2027, 1, 20), convention=THIRTY)
    assert (change.unused_days, change.period_days, change.credit, change.charge) == (11, 30, 110000, 183333)


def test_a_change_on_the_first_day_of_a_period_swaps_the_whole_price():
    change = prorate_change(old_price=300000, new_price=500000, period=FEBRUARY_FROM_31, day=D(2027, 2, 28))
    assert (change.credit, change.charge) == (300000, 500000)


def test_a_change_on_the_last_day_of_a_period_is_one_day_of_it():
    # 30 Mar is the last day of [28 Feb, 31 Mar): 1 of 31 days. 300000 / 31 = 9677.41… → 9677;
    # 500000 / 31 = 16129.03… → 16129.
    change = prorate_change(old_price=300000, new_price=500000, period=FEBRUARY_FROM_31, day=D(2027, 3, 30))
    assert (change.unused_days, change.credit, change.charge) == (1, 9677, 16129)


def test_a_31_january_anchor_in_a_leap_year_bills_29_february():
    # Anchored 31 Jan 2028: the second period is [29 Feb 2028, 31 Mar 2028), 31 days. A downgrade on its first
    # day credits the whole ₹3,000 and charges the whole ₹2,000; on 1 Mar, 30 of 31 days are left:
    # 300000 × 30 / 31 = 290322.58… → 290323 and 200000 × 30 / 31 = 193548.38… → 193548.
    leap = period(D(2028, 1, 31), Frequency.MONTHLY, 1)
    assert (leap.start, leap.end) == (D(2028, 2, 29), D(2028, 3, 31))
    first = prorate_change(old_price=300000, new_price=200000, period=leap, day=D(2028, 2, 29))
    assert (first.credit, first.charge, first.net) == (300000, 200000, -100000)
    second = prorate_change(old_price=300000, new_price=200000, period=leap, day=D(2028, 3, 1))
    assert (second.unused_days, second.period_days, second.credit, second.charge) == (30, 31, 290323, 193548)
    # In 30-day months 29 Feb to 31 Mar counts 30 × 1 + (30 − 29) = 31, and 1 Mar to 31 Mar 30 − 1 = 29.
    thirty = prorate_change(old_price=300000, new_price=200000, period=leap, day=D(2028, 3, 1), convention=THIRTY)
    assert (thirty.unused_days, thirty.period_days, thirty.credit) == (29, 31, 280645)


def test_an_annual_period_over_a_leap_day_counts_366_days():
    # [1 Mar 2027, 1 Mar 2028) holds 29 Feb 2028: 366 days. A change on 1 Feb 2028 leaves 29 of them:
    # ₹60,000 × 29 / 366 = 475409.83… → 475410; on the last day (29 Feb) one: 6000000 / 366 = 16393.44… → 16393.
    year = period(D(2027, 3, 1), Frequency.ANNUAL, 0)
    change = prorate_change(old_price=6000000, new_price=3000000, period=year, day=D(2028, 2, 1))
    assert (change.unused_days, change.period_days, change.credit, change.charge) == (29, 366, 475410, 237705)
    last = prorate_change(old_price=6000000, new_price=3000000, period=year, day=D(2028, 2, 29))
    assert (last.unused_days, last.credit, last.charge) == (1, 16393, 8197)
    # Counting both ends: 367 days in all, and 1 Feb to 1 Mar is 30: 6000000 × 30 / 367 = 490463.21… → 490463.
    both = prorate_change(old_price=6000000, new_price=0, period=year, day=D(2028, 2, 1), convention=BOTH_ENDS)
    assert (both.unused_days, both.period_days, both.credit) == (30, 367, 490463)


def test_half_up_rounding_at_exactly_half_a_minor_unit():
    # 1 × 1 / 2 = 0.5 → 1 (half up); 3 × 1 / 2 = 1.5 → 2.
    assert share(1, 1, 2) == 1
    assert share(3, 1, 2) == 2


def test_benefits_are_prorated_down_so_a_last_day_upgrade_grants_nothing_whole():
    # 4 sessions a month, an upgrade with 12 of 31 days left: 4 × 12 // 31 = 1 session.
    assert prorate_sessions(4, period=JANUARY, day=D(2027, 1, 20), convention=END_EXCLUDED) == 1
    assert prorate_sessions(4, period=FEBRUARY_FROM_31, day=D(2027, 3, 30), convention=END_EXCLUDED) == 0


def test_a_day_outside_the_period_is_refused():
    with pytest.raises(InvalidInput, match="outside the period"):
        prorate_change(old_price=1, new_price=1, period=JANUARY, day=D(2027, 2, 2))


periods = st.builds(
    period,
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)),
    st.sampled_from(list(Frequency)),
    st.integers(min_value=0, max_value=30),
)
prices = st.integers(min_value=0, max_value=10**10)


@given(
    p=periods,
    old=prices,
    new=prices,
    offset=st.integers(min_value=0, max_value=400),
    convention=st.sampled_from(list(DayCount)),
)
def test_the_credit_and_charge_of_a_change_never_exceed_the_periods_price(p, old, new, offset, convention):
    day = p.start + dt.timedelta(days=offset % p.days)
    change = prorate_change(old_price=old, new_price=new, period=p, day=day, convention=convention)
    assert 0 <= change.credit <= old
    assert 0 <= change.charge <= new


@given(
    p=periods, price=prices, offset=st.integers(min_value=0, max_value=400), convention=st.sampled_from(list(DayCount))
)
def test_a_period_split_at_any_day_sums_to_its_price_within_one_minor_unit(p, price, offset, convention):
    day = p.start + dt.timedelta(days=offset % p.days)
    unused = prorate_change(old_price=price, new_price=price, period=p, day=day, convention=convention)
    used_days = unused.period_days - unused.unused_days
    used = share(price, used_days, unused.period_days)
    assert abs(used + unused.credit - price) <= 1
