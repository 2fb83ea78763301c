"""Billing periods and anchors (SPEC §10.2), each expected date worked out by hand on a calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from punchcard.domain.errors import InvalidInput
from punchcard.domain.periods import (
    Frequency,
    LengthUnit,
    billing_date,
    length_end,
    period,
    period_on,
    shifted,
)

D = dt.date
MONTHLY, QUARTERLY, ANNUAL = Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.ANNUAL


def test_an_anchor_on_the_31st_falls_on_each_months_last_day_and_comes_back():
    # SPEC: anchored 31 Jan → 28/29 Feb → 31 Mar → 30 Apr. 2027 is not a leap year, 2028 is.
    assert [billing_date(D(2027, 1, 31), MONTHLY, i) for i in range(5)] == [
        D(2027, 1, 31),
        D(2027, 2, 28),
        D(2027, 3, 31),
        D(2027, 4, 30),
        D(2027, 5, 31),
    ]
    assert billing_date(D(2028, 1, 31), MONTHLY, 1) == D(2028, 2, 29)


def test_a_period_runs_from_its_billing_date_up_to_the_next():
    first = period(D(2027, 1, 31), MONTHLY, 0)
    # 31 Jan to 28 Feb: 28 days (31 Jan + 27 days of February before the 28th).
    assert (first.start, first.end, first.last_day, first.days) == (D(2027, 1, 31), D(2027, 2, 28), D(2027, 2, 27), 28)
    second = period(D(2027, 1, 31), MONTHLY, 1)
    # 28 Feb to 31 Mar: 1 day of February + 30 days of March = 31.
    assert (second.start, second.end, second.days) == (D(2027, 2, 28), D(2027, 3, 31), 31)


def test_quarter_and_year_periods_from_an_end_of_month_anchor():
    # Quarterly from 30 Nov 2026: 28 Feb 2027 (no 30 Feb), 30 May, 30 Aug, 30 Nov.
    assert [billing_date(D(2026, 11, 30), QUARTERLY, i) for i in range(5)] == [
        D(2026, 11, 30),
        D(2027, 2, 28),
        D(2027, 5, 30),
        D(2027, 8, 30),
        D(2027, 11, 30),
    ]
    # Yearly from 29 Feb 2028: 28 Feb 2029, 2030, 2031, and 29 Feb again in 2032.
    assert [billing_date(D(2028, 2, 29), ANNUAL, i) for i in (1, 2, 3, 4)] == [
        D(2029, 2, 28),
        D(2030, 2, 28),
        D(2031, 2, 28),
        D(2032, 2, 29),
    ]
    assert period(D(2028, 2, 29), ANNUAL, 0).days == 365  # 29 Feb 2028 to 28 Feb 2029


def test_the_period_on_a_day_is_found_on_its_first_and_last_day():
    anchor = D(2027, 1, 31)
    assert period_on(anchor, MONTHLY, D(2027, 2, 27)).index == 0  # the last day of the first period
    assert period_on(anchor, MONTHLY, D(2027, 2, 28)).index == 1  # its next billing date starts period 1
    assert period_on(anchor, MONTHLY, D(2027, 3, 30)).index == 1
    assert period_on(anchor, MONTHLY, D(2027, 3, 31)).index == 2
    assert period_on(anchor, QUARTERLY, D(2027, 4, 30)).start == D(2027, 4, 30)


def test_no_period_before_the_anchor():
    with pytest.raises(InvalidInput, match="before the billing anchor"):
        period_on(D(2027, 1, 31), MONTHLY, D(2027, 1, 30))


@given(
    anchor=st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31)),
    offset=st.integers(min_value=0, max_value=3000),
    frequency=st.sampled_from(list(Frequency)),
)
def test_every_day_after_the_anchor_is_in_exactly_one_period(anchor, offset, frequency):
    day = anchor + dt.timedelta(days=offset)
    found = period_on(anchor, frequency, day)
    assert day in found
    assert found == period(anchor, frequency, found.index)
    if found.index:
        assert day not in period(anchor, frequency, found.index - 1)
    assert day not in period(anchor, frequency, found.index + 1)


def test_pauses_move_by_calendar_months_and_trials_by_days_or_months():
    # A 2-month pause from a billing date of 31 Mar lands on 31 May; from 31 Dec on 28 Feb.
    assert shifted(D(2027, 3, 31), months=2) == D(2027, 5, 31)
    assert shifted(D(2026, 12, 31), months=2) == D(2027, 2, 28)
    # A 14-day trial from 20 Jan ends before 3 Feb (3 Feb is its first paid day); a 1-month trial
    # from 31 Jan ends on 28 Feb.
    assert length_end(D(2027, 1, 20), 14, LengthUnit.DAYS) == D(2027, 2, 3)
    assert length_end(D(2027, 1, 31), 1, LengthUnit.MONTHS) == D(2027, 2, 28)
    with pytest.raises(InvalidInput):
        length_end(D(2027, 1, 31), -1, LengthUnit.DAYS)
