"""SPEC §4.3: the last valid day for every kind of expiry rule, and validity on a day (hard / soft)."""

import datetime as dt

import pytest

from punchcard.domain.errors import InvalidInput
from punchcard.domain.expiry import (
    ExpiryKind,
    ExpiryMode,
    ExpiryRule,
    Validity,
    last_valid_day,
    usable_until,
    validity_on,
)

D = dt.date


def last(rule: ExpiryRule, *, start=D(2026, 3, 1), purchased_on=None, first_used_on=None):
    return last_valid_day(rule, start=start, purchased_on=purchased_on or start, first_used_on=first_used_on)


def test_no_expiry_has_no_last_day():
    assert last(ExpiryRule(ExpiryKind.NONE)) is None


def test_ninety_days_from_1_march_ends_on_29_may_the_start_plus_89_days():
    rule = ExpiryRule(ExpiryKind.AFTER_START, count=90, unit="days")
    assert last(rule) == D(2026, 5, 29)
    assert last(rule) == D(2026, 3, 1) + dt.timedelta(days=89)


def test_one_day_package_is_valid_on_its_start_day_only():
    assert last(ExpiryRule(ExpiryKind.AFTER_START, count=1, unit="days"), start=D(2026, 3, 1)) == D(2026, 3, 1)


@pytest.mark.parametrize(
    "start, months, expected",
    [
        (D(2026, 1, 15), 1, D(2026, 2, 14)),
        (D(2026, 3, 1), 3, D(2026, 5, 31)),  # calendar months, not 90 days
        (D(2026, 1, 1), 12, D(2026, 12, 31)),
        # 31 Jan + 1 month has no anniversary (no 31 Feb): the month's last day is the last valid day.
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2025, 1, 28), 1, D(2025, 2, 27)),  # 28 Feb exists: valid through the day before it
        (D(2026, 12, 15), 2, D(2027, 2, 14)),  # across a year end
    ],
)
def test_n_calendar_months_after_the_start(start, months, expected):
    rule = ExpiryRule(ExpiryKind.AFTER_START, count=months, unit="months")
    assert last(rule, start=start) == expected


def test_months_are_calendar_months_not_thirty_days():
    rule = ExpiryRule(ExpiryKind.AFTER_START, count=1, unit="months")
    assert last(rule, start=D(2026, 3, 1)) == D(2026, 3, 31)  # 31 days
    assert last(rule, start=D(2026, 2, 1)) == D(2026, 2, 28)  # 28 days


def test_after_first_use_is_open_until_the_first_use_then_counts_from_it():
    rule = ExpiryRule(ExpiryKind.AFTER_FIRST_USE, count=30, unit="days")
    assert last(rule, first_used_on=None) is None
    assert last(rule, first_used_on=D(2026, 4, 10)) == D(2026, 5, 9)
    monthly = ExpiryRule(ExpiryKind.AFTER_FIRST_USE, count=2, unit="months")
    assert last(monthly, first_used_on=D(2026, 4, 10)) == D(2026, 6, 9)


def test_fixed_date_is_the_last_day_whatever_the_start():
    rule = ExpiryRule(ExpiryKind.FIXED_DATE, fixed_date=D(2026, 12, 31))
    assert last(rule, start=D(2026, 3, 1)) == D(2026, 12, 31)
    assert last(rule, start=D(2026, 11, 1)) == D(2026, 12, 31)


@pytest.mark.parametrize(
    "period, count, purchased, expected",
    [
        ("month", 0, D(2026, 2, 10), D(2026, 2, 28)),
        ("month", 0, D(2024, 2, 10), D(2024, 2, 29)),
        ("month", 1, D(2026, 2, 10), D(2026, 3, 31)),
        ("month", 0, D(2026, 12, 31), D(2026, 12, 31)),
        ("quarter", 0, D(2026, 5, 10), D(2026, 6, 30)),
        ("quarter", 0, D(2026, 11, 30), D(2026, 12, 31)),
        ("quarter", 1, D(2026, 11, 30), D(2027, 3, 31)),
        ("year", 0, D(2026, 5, 10), D(2026, 12, 31)),
        ("year", 1, D(2026, 1, 1), D(2027, 12, 31)),
    ],
)
def test_end_of_the_month_quarter_or_year_of_purchase(period, count, purchased, expected):
    rule = ExpiryRule(ExpiryKind.END_OF_PERIOD, count=count, period=period)
    # Counted from the purchase, not from a (future) start date.
    assert last(rule, start=purchased + dt.timedelta(days=5), purchased_on=purchased) == expected


def test_rule_round_trips_through_its_dict_form():
    rule = ExpiryRule(ExpiryKind.FIXED_DATE, fixed_date=D(2026, 12, 31))
    assert rule.to_dict()["fixed_date"] == "2026-12-31"
    assert ExpiryRule.from_dict(rule.to_dict()) == rule
    assert ExpiryRule.from_dict({}) == ExpiryRule()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"kind": "after_start", "count": 0}, "expiry.count"),
        ({"kind": "after_start", "count": -3}, "expiry.count"),
        ({"kind": "after_start", "count": True}, "expiry.count"),
        ({"kind": "after_start", "count": 3651}, "expiry.count"),
        ({"kind": "after_start", "count": "90"}, "expiry.count"),
        ({"kind": "fixed_date"}, "expiry.fixed_date"),
        ({"kind": "fixed_date", "fixed_date": "2026-02-30"}, "expiry.fixed_date"),
        ({"kind": "sometime"}, "expiry.kind"),
        ({"kind": "after_start", "count": 3, "unit": "fortnights"}, "expiry.unit"),
        ({"kind": "end_of_period", "period": "decade"}, "expiry.period"),
        ({"kind": "none", "colour": "blue"}, "expiry"),
    ],
)
def test_malformed_rules_are_refused_with_the_field_named(data, field):
    with pytest.raises(InvalidInput) as refused:
        ExpiryRule.from_dict(data)
    assert refused.value.field == field


# ---------------------------------------------------------------- validity on a day


def test_validity_hard():
    kw = dict(start=D(2026, 3, 1), last_day=D(2026, 5, 29), mode=ExpiryMode.HARD, grace_days=0)
    assert validity_on(D(2026, 2, 28), **kw) is Validity.NOT_STARTED
    assert validity_on(D(2026, 3, 1), **kw) is Validity.VALID
    assert validity_on(D(2026, 5, 29), **kw) is Validity.VALID
    assert validity_on(D(2026, 5, 30), **kw) is Validity.EXPIRED


def test_validity_soft_has_grace_days_then_expires():
    kw = dict(start=D(2026, 3, 1), last_day=D(2026, 5, 29), mode=ExpiryMode.SOFT, grace_days=7)
    assert validity_on(D(2026, 5, 29), **kw) is Validity.VALID
    for day in range(30, 32):
        assert validity_on(D(2026, 5, day), **kw) is Validity.IN_GRACE
    for day in range(1, 6):
        assert validity_on(D(2026, 6, day), **kw) is Validity.IN_GRACE
    assert validity_on(D(2026, 6, 6), **kw) is Validity.EXPIRED


def test_soft_expiry_without_grace_days_expires_like_hard():
    assert (
        validity_on(D(2026, 5, 30), start=D(2026, 3, 1), last_day=D(2026, 5, 29), mode="soft", grace_days=0)
        is Validity.EXPIRED
    )


def test_hard_expiry_ignores_grace_days():
    assert (
        validity_on(D(2026, 5, 30), start=D(2026, 3, 1), last_day=D(2026, 5, 29), mode="hard", grace_days=7)
        is Validity.EXPIRED
    )


def test_no_last_day_is_valid_forever_once_started():
    kw = dict(start=D(2026, 3, 1), last_day=None, mode=ExpiryMode.HARD, grace_days=0)
    assert validity_on(D(2099, 1, 1), **kw) is Validity.VALID
    assert validity_on(D(2026, 2, 1), **kw) is Validity.NOT_STARTED


def test_usable_until_includes_grace_for_soft_expiry_only():
    assert usable_until(last_day=D(2026, 5, 29), mode="soft", grace_days=7) == D(2026, 6, 5)
    assert usable_until(last_day=D(2026, 5, 29), mode="hard", grace_days=0) == D(2026, 5, 29)
    assert usable_until(last_day=None, mode="soft", grace_days=7) is None


def test_rules_describe_themselves():
    assert ExpiryRule(ExpiryKind.AFTER_START, count=90).describe() == "90 days after the start date"
    assert ExpiryRule().describe() == "no expiry"
    assert "quarter" in ExpiryRule(ExpiryKind.END_OF_PERIOD, period="quarter").describe()


def test_grace_at_the_end_of_the_calendar_does_not_overflow():
    last_day = dt.date.max - dt.timedelta(days=2)
    assert usable_until(last_day=last_day, mode="soft", grace_days=7) == dt.date.max
    assert (
        validity_on(dt.date.max, start=D(2026, 3, 1), last_day=last_day, mode="soft", grace_days=7) is Validity.IN_GRACE
    )
