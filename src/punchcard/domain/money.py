"""Money as integer minor units, exact splitting, tax, and locale display.

No float ever touches an amount: arithmetic is on int, parsing and display go through Decimal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

from .errors import InvalidInput

MAX_AMOUNT = 10**15  # a quadrillion minor units: far beyond any real package, well inside int64
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def currency_exponent(currency: str) -> int:
    """ISO 4217 minor-unit exponent (INR 2, JPY 0, KWD 3)."""
    return get_currency_precision(currency)


def check_currency(currency: str) -> str:
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidInput(f"{currency!r} is not an ISO 4217 currency code", field="currency")
    return currency


def check_amount(amount: int, *, field: str = "amount", allow_zero: bool = True) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("amounts are integers of minor units", field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput(f"{field} must be {'zero or ' if allow_zero else ''}positive", field=field)
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"{field} is absurdly large", field=field)
    return amount


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self):
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidInput("amounts are integers of minor units", field="amount")
        check_currency(self.currency)

    def display(self, locale: str = "en") -> str:
        return format_money(self.amount, self.currency, locale)


def format_money(amount: int, currency: str, locale: str = "en") -> str:
    """'₹8,000.00' / '₹1,00,000.00' for en-IN, '$450.00' for en-US."""
    major = Decimal(amount).scaleb(-currency_exponent(currency))
    return format_currency(major, currency, locale=locale)


def parse_major(text: str, currency: str) -> int:
    """'8000' or '8,000.00' → 800000 for INR. Refuses more decimals than the currency has."""
    cleaned = str(text).replace(",", "").replace("_", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(f"{text!r} is not an amount", field="amount") from None
    if not value.is_finite():
        raise InvalidInput(f"{text!r} is not an amount", field="amount")
    minor = value.scaleb(currency_exponent(currency))
    if minor != minor.to_integral_value():
        raise InvalidInput(f"{text!r} has more decimals than {currency} allows", field="amount")
    return check_amount(int(minor))


def div_round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    q, r = divmod(numerator, denominator)
    return q + (1 if 2 * r >= denominator else 0)


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to `weights` so the parts sum exactly to `total`.

    Each part gets floor(total × w / W); the units left over go one each to the largest
    remainders, earlier index first on ties. All-zero weights split evenly.
    """
    if total < 0 or any(w < 0 for w in weights) or not weights:
        raise ValueError("largest_remainder needs a non-negative total and weights")
    if sum(weights) == 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    parts, remainders = [], []
    for index, weight in enumerate(weights):
        q, r = divmod(total * weight, whole)
        parts.append(q)
        remainders.append((-r, index))
    for _, index in sorted(remainders)[: total - sum(parts)]:
        parts[index] += 1
    return parts


def split_evenly(total: int, count: int) -> list[int]:
    """`count` near-equal parts of `total`, the larger ones first (largest remainder, equal weights)."""
    q, r = divmod(total, count)
    return [q + 1] * r + [q] * (count - r)


def value_of_next(remaining_value: int, remaining_sessions: int, sessions: int) -> int:
    """Value carried by the next `sessions` of a line holding `remaining_value` over `remaining_sessions`.

    Equal to the sum of the first `sessions` parts of split_evenly(remaining_value, remaining_sessions),
    so consuming a line session by session recognises exactly its largest-remainder allocation,
    and a top-up or a void (which change the remaining value) simply re-spreads what is left.
    """
    if sessions > remaining_sessions:
        raise ValueError("more sessions than remain")
    if sessions == remaining_sessions:
        return remaining_value
    q, r = divmod(remaining_value, remaining_sessions)
    return sessions * q + min(sessions, r)


@dataclass(frozen=True)
class TaxSplit:
    net: int
    tax: int

    @property
    def gross(self) -> int:
        return self.net + self.tax


def split_tax(price: int, *, rate_bp: int, inclusive: bool) -> TaxSplit:
    """Net and tax of a price. `rate_bp` is the tax rate in basis points (1800 = 18 %).

    Inclusive prices contain the tax (net = price / (1 + rate)); exclusive prices have it added.
    """
    if rate_bp < 0 or rate_bp > 100_00:
        raise InvalidInput("tax rate must be between 0 and 100 %", field="tax_rate_bp")
    if rate_bp == 0:
        return TaxSplit(net=price, tax=0)
    if inclusive:
        net = div_round_half_up(price * 100_00, 100_00 + rate_bp)
        return TaxSplit(net=net, tax=price - net)
    return TaxSplit(net=price, tax=div_round_half_up(price * rate_bp, 100_00))
