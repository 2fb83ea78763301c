"""SPEC §8.3 and §15 examples 1 and 2, on the pure allocation rules."""

from hypothesis import given
from hypothesis import strategies as st

from punchcard.domain.allocation import LineForAllocation, allocate_to_lines, session_values
from punchcard.domain.money import value_of_next


def test_spec_example_1_allocates_the_price_by_list_value_then_evenly_per_session():
    # Rs 8,000 over 10 × physio (list Rs 1,000) + 2 × doctor (list Rs 1,500), in paise.
    lines = [LineForAllocation(list_price=100000, sessions=10), LineForAllocation(list_price=150000, sessions=2)]
    physio, doctor = allocate_to_lines(800000, lines)
    assert (physio, doctor) == (615385, 184615)  # 6,153.85 and 1,846.15

    physio_sessions = session_values(physio, 10)
    doctor_sessions = session_values(doctor, 2)
    assert physio_sessions == [61539] * 5 + [61538] * 5  # 615.39 / 615.38
    assert doctor_sessions == [92308, 92307]  # 923.08 / 923.07
    assert sum(physio_sessions + doctor_sessions) == 800000
    assert len(physio_sessions + doctor_sessions) == 12


def test_spec_example_2_buy_3_free_1_spreads_the_price_over_bonus_sessions_too():
    line = LineForAllocation(list_price=10000, sessions=3, bonus=1)
    assert line.granted == 4
    [value] = allocate_to_lines(30000, [line])
    assert session_values(value, line.granted) == [7500] * 4

    # Three used, then expiry: what is left ($75.00) is breakage.
    remaining_value = value
    for remaining in (4, 3, 2):
        remaining_value -= value_of_next(remaining_value, remaining, 1)
    assert remaining_value == 7500


def test_bonus_sessions_carry_list_value_in_the_split_between_lines():
    # Line A: 3 + 1 bonus at 100 → list value 400; line B: 4 at 100 → 400: an even split.
    lines = [LineForAllocation(100, 3, 1), LineForAllocation(100, 4)]
    assert allocate_to_lines(1001, lines) == [501, 500]


def test_lines_without_list_prices_share_by_session_count():
    lines = [LineForAllocation(0, 3), LineForAllocation(0, 1)]
    assert allocate_to_lines(1000, lines) == [750, 250]


@given(
    price=st.integers(min_value=0, max_value=10**10),
    lines=st.lists(
        st.builds(LineForAllocation, st.integers(0, 10**6), st.integers(1, 100), st.integers(0, 10)),
        min_size=1,
        max_size=8,
    ),
)
def test_every_session_value_of_every_line_sums_exactly_to_the_price(price, lines):
    values = allocate_to_lines(price, lines)
    sessions = [v for value, line in zip(values, lines) for v in session_values(value, line.granted)]
    assert sum(values) == price
    assert sum(sessions) == price
    assert len(sessions) == sum(line.granted for line in lines)
