"""Money as integer minor units: exact splitting, tax, parsing and locale display (SPEC §8.1, §8.3)."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from punchcard.domain.errors import InvalidInput
from punchcard.domain.money import (
    MAX_AMOUNT,
    Money,
    check_amount,
    div_round_half_up,
    format_money,
    largest_remainder,
    parse_major,
    split_evenly,
    split_tax,
    value_of_next,
)

totals = st.integers(min_value=0, max_value=10**12)
weight_lists = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=20)


# ---------------------------------------------------------------- largest_remainder


def test_largest_remainder_gives_leftover_units_to_the_largest_remainders():
    # 100 over weights 1:1:1 → 33.33 each; the one leftover unit goes to the first (tie → earlier index).
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    # 10 over 1:2:3 → 1.67, 3.33, 5 → floors 1, 3, 5; the leftover goes to the largest remainder (index 0).
    assert largest_remainder(10, [1, 2, 3]) == [2, 3, 5]


def test_largest_remainder_with_all_zero_weights_splits_evenly():
    assert largest_remainder(7, [0, 0, 0]) == [3, 2, 2]


def test_largest_remainder_zero_weight_gets_nothing_when_others_weigh():
    assert largest_remainder(1000, [0, 5, 5]) == [0, 500, 500]


@pytest.mark.parametrize("total, weights", [(-1, [1]), (10, []), (10, [1, -1])])
def test_largest_remainder_refuses_negative_totals_weights_and_empty_lists(total, weights):
    with pytest.raises(ValueError):
        largest_remainder(total, weights)


@given(total=totals, weights=weight_lists)
def test_largest_remainder_parts_sum_exactly_to_the_total(total, weights):
    parts = largest_remainder(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    assert all(part >= 0 for part in parts)


@given(total=totals, weights=weight_lists)
def test_largest_remainder_each_part_within_one_unit_of_its_ideal_share(total, weights):
    parts = largest_remainder(total, weights)
    effective = weights if sum(weights) else [1] * len(weights)
    whole = sum(effective)
    for part, weight in zip(parts, effective):
        ideal = Fraction(total * weight, whole)
        assert abs(part - ideal) < 1
        assert part in (ideal.__floor__(), ideal.__floor__() + 1)


# ---------------------------------------------------------------- split_evenly and value_of_next


def test_split_evenly_puts_the_larger_parts_first():
    assert split_evenly(10, 3) == [4, 3, 3]
    assert split_evenly(615385, 10) == [61539] * 5 + [61538] * 5
    assert split_evenly(0, 4) == [0, 0, 0, 0]


@given(total=totals, count=st.integers(min_value=1, max_value=500))
def test_split_evenly_sums_exactly_and_parts_differ_by_at_most_one(total, count):
    parts = split_evenly(total, count)
    assert len(parts) == count
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)
    assert parts == largest_remainder(total, [1] * count)


@given(total=totals, count=st.integers(min_value=1, max_value=200))
def test_consuming_a_line_session_by_session_reproduces_split_evenly(total, count):
    remaining_value, consumed = total, []
    for remaining_sessions in range(count, 0, -1):
        value = value_of_next(remaining_value, remaining_sessions, 1)
        consumed.append(value)
        remaining_value -= value
    assert consumed == split_evenly(total, count)
    assert remaining_value == 0


@given(total=totals, data=st.data())
def test_consuming_a_line_in_any_chunks_recognises_the_same_slices_of_split_evenly(total, data):
    count = data.draw(st.integers(min_value=1, max_value=60))
    expected = split_evenly(total, count)
    remaining_value, remaining_sessions, position = total, count, 0
    while remaining_sessions:
        n = data.draw(st.integers(min_value=1, max_value=remaining_sessions))
        value = value_of_next(remaining_value, remaining_sessions, n)
        assert value == sum(expected[position : position + n])
        remaining_value, remaining_sessions, position = remaining_value - value, remaining_sessions - n, position + n
    assert remaining_value == 0


def test_value_of_next_takes_everything_left_for_the_last_sessions_and_refuses_more():
    assert value_of_next(92307, 1, 1) == 92307
    assert value_of_next(10, 3, 3) == 10
    with pytest.raises(ValueError):
        value_of_next(10, 2, 3)


# ---------------------------------------------------------------- tax


def test_split_tax_inclusive_takes_the_tax_out_of_the_price():
    split = split_tax(118000, rate_bp=1800, inclusive=True)
    assert (split.net, split.tax, split.gross) == (100000, 18000, 118000)


def test_split_tax_inclusive_rounds_the_net_half_up_and_keeps_the_gross():
    # 100 / 1.18 = 84.745… → net 85, tax 15: the gross is the price, to the unit.
    split = split_tax(100, rate_bp=1800, inclusive=True)
    assert (split.net, split.tax, split.gross) == (85, 15, 100)


def test_split_tax_exclusive_adds_the_tax_on_top():
    split = split_tax(100000, rate_bp=1800, inclusive=False)
    assert (split.net, split.tax, split.gross) == (100000, 18000, 118000)
    # 999 × 5 % = 49.95 → 50 (half up)
    assert split_tax(999, rate_bp=500, inclusive=False).tax == 50


def test_split_tax_at_zero_rate_is_all_net():
    assert split_tax(800000, rate_bp=0, inclusive=True).tax == 0
    assert split_tax(800000, rate_bp=0, inclusive=False).gross == 800000


@pytest.mark.parametrize("rate", [-1, 10_001])
def test_split_tax_refuses_rates_outside_zero_to_one_hundred_percent(rate):
    with pytest.raises(InvalidInput) as refused:
        split_tax(100, rate_bp=rate, inclusive=True)
    assert refused.value.field == "tax_rate_bp"


@given(price=st.integers(min_value=0, max_value=10**12), rate=st.integers(min_value=0, max_value=10_000))
def test_split_tax_inclusive_net_plus_tax_is_the_price(price, rate):
    split = split_tax(price, rate_bp=rate, inclusive=True)
    assert split.gross == price
    assert 0 <= split.tax <= price


def test_div_round_half_up():
    assert div_round_half_up(5, 2) == 3
    assert div_round_half_up(4, 3) == 1
    with pytest.raises(ValueError):
        div_round_half_up(1, 0)


# ---------------------------------------------------------------- display and parsing


def test_format_money_uses_indian_lakh_grouping_for_en_in():
    assert format_money(10_000_000, "INR", "en_IN") == "₹1,00,000.00"
    assert format_money(800_000, "INR", "en_IN") == "₹8,000.00"
    assert format_money(1_234_567_89, "INR", "en_IN") == "₹12,34,567.89"


def test_format_money_en_us_dollars():
    assert format_money(45_000, "USD", "en_US") == "$450.00"
    assert Money(45_000, "USD").display("en_US") == "$450.00"


def test_format_money_respects_currencies_without_or_with_three_decimals():
    assert format_money(1500, "JPY", "en_US") == "¥1,500"
    assert format_money(1234, "KWD", "en_US").endswith("1.234")


@pytest.mark.parametrize(
    "text, currency, minor",
    [
        ("8000", "INR", 800000),
        ("8,000.00", "INR", 800000),
        ("1,00,000", "INR", 10000000),
        ("450.5", "USD", 45050),
        ("0", "USD", 0),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
    ],
)
def test_parse_major_turns_major_units_into_minor_units(text, currency, minor):
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize("text", ["abc", "", "1.234", "-5", "NaN", "Infinity", "1e30", "12.5.1"])
def test_parse_major_refuses_what_is_not_a_plain_amount(text):
    with pytest.raises(InvalidInput) as refused:
        parse_major(text, "INR")
    assert refused.value.field == "amount"
    assert refused.value.code == "invalid"


def test_parse_major_refuses_fractions_of_a_yen():
    with pytest.raises(InvalidInput):
        parse_major("10.5", "JPY")


@pytest.mark.parametrize("amount", [True, 1.5, "10", -1, MAX_AMOUNT + 1])
def test_check_amount_refuses_non_integers_negatives_and_absurd_amounts(amount):
    with pytest.raises(InvalidInput):
        check_amount(amount)


def test_money_refuses_floats_and_bad_currencies():
    with pytest.raises(InvalidInput):
        Money(1.0, "INR")
    with pytest.raises(InvalidInput) as refused:
        Money(1, "rupees")
    assert refused.value.field == "currency"
