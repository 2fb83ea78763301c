"""SPEC §8.3: the price (net of tax) allocated to lines by relative list value, then to sessions."""

from __future__ import annotations

from dataclasses import dataclass

from .money import largest_remainder, split_evenly


@dataclass(frozen=True)
class LineForAllocation:
    list_price: int  # one session's list price (the highest of a pool's services)
    sessions: int  # paid sessions
    bonus: int = 0  # free sessions (Buy 3 Free 1 → 3 + 1)

    @property
    def granted(self) -> int:
        return self.sessions + self.bonus

    @property
    def list_value(self) -> int:
        # Bonus sessions are delivered too, so they carry standalone value (IFRS 15 ¶74).
        return self.list_price * self.granted


def allocate_to_lines(net_price: int, lines: list[LineForAllocation]) -> list[int]:
    """Each line's share of the price, by relative list value; parts sum exactly to net_price.

    With no list prices at all, lines share by session count instead.
    """
    weights = [line.list_value for line in lines]
    if sum(weights) == 0:
        weights = [line.granted for line in lines]
    return largest_remainder(net_price, weights)


def session_values(line_value: int, granted: int) -> list[int]:
    """Each session's value on a line: largest remainder, bonus sessions included."""
    return split_evenly(line_value, granted)
