"""SPEC §10.1: what a membership plan version promises, checked before anything is stored. Pure.

A version has a price per billing frequency it offers (at least one), an optional trial, and its
policies: cancellation, notice, minimum commitment, what happens to benefits on cancellation, pause
rules, the dunning schedule and when prorations are billed. Each refusal names its field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from . import validation
from .dunning import DunningSchedule
from .errors import InvalidInput
from .money import check_amount
from .periods import Frequency, LengthUnit, length_end

MAX_PERKS = 20
MAX_PRODUCTS = 20
MAX_NOTICE_DAYS = 365
MAX_COMMITMENT_PERIODS = 120
MAX_TRIAL_DAYS = 365
MAX_TRIAL_MONTHS = 12


class TrialPrice(StrEnum):
    FREE = "free"
    DISCOUNTED = "discounted"
    FULL = "full"


class Cancellation(StrEnum):
    IMMEDIATE = "immediate"
    PERIOD_END = "period_end"


class BenefitsOnCancel(StrEnum):
    VOID_NOW = "void_now"
    UNTIL_PERIOD_END = "until_period_end"


class ProrationBilling(StrEnum):
    NOW = "now"  # an invoice at once
    NEXT_INVOICE = "next_invoice"


def check_prices(prices: dict) -> dict[Frequency, int]:
    """Price per billing frequency, minor units; at least one frequency."""
    if not isinstance(prices, dict) or not prices:
        raise InvalidInput("a membership plan offers at least one billing frequency with its price", field="prices")
    clean = {}
    for key, amount in prices.items():
        frequency = validation.choice(key, Frequency, "prices")
        clean[frequency] = check_amount(amount, field=f"prices.{frequency}")
    return dict(sorted(clean.items(), key=lambda item: item[0].months))


@dataclass(frozen=True)
class Trial:
    """None (length 0), or N days / N months, free, at a discounted price, or at the full price."""

    length: int = 0
    unit: LengthUnit = LengthUnit.DAYS
    price: TrialPrice = TrialPrice.FREE
    amount: int | None = None  # the discounted trial's price

    def __post_init__(self):
        unit = validation.choice(self.unit, LengthUnit, "trial.unit")
        price = validation.choice(self.price, TrialPrice, "trial.price")
        high = MAX_TRIAL_DAYS if unit is LengthUnit.DAYS else MAX_TRIAL_MONTHS
        validation.whole(self.length, "trial.length", low=0, high=high)
        if price is TrialPrice.DISCOUNTED:
            if self.amount is None:
                raise InvalidInput("a discounted trial needs its price (trial.amount)", field="trial.amount")
            check_amount(self.amount, field="trial.amount")
        elif self.amount is not None:
            raise InvalidInput(f"a {price} trial has no trial.amount", field="trial.amount")
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "price", price)

    @property
    def offered(self) -> bool:
        return self.length > 0

    def end(self, start: dt.date) -> dt.date | None:
        """The first day after the trial (the first paid period's start), or None without a trial."""
        return length_end(start, self.length, self.unit) if self.offered else None

    def charge(self, full_price: int) -> int:
        """What the trial costs against the frequency's full price."""
        if self.price is TrialPrice.FREE:
            return 0
        if self.price is TrialPrice.FULL:
            return full_price
        return self.amount

    def to_dict(self) -> dict:
        return {"length": self.length, "unit": str(self.unit), "price": str(self.price), "amount": self.amount}


@dataclass(frozen=True)
class PauseRules:
    allowed: bool = False
    min_months: int = 1
    max_months: int = 6
    per_year: int = 1
    fee: int = 0

    def __post_init__(self):
        if not isinstance(self.allowed, bool):
            raise InvalidInput("pause.allowed is true or false", field="pause.allowed")
        validation.whole(self.min_months, "pause.min_months", low=1, high=6)
        validation.whole(self.max_months, "pause.max_months", low=1, high=6)
        if self.min_months > self.max_months:
            raise InvalidInput("the shortest pause is longer than the longest", field="pause.min_months")
        validation.whole(self.per_year, "pause.per_year", low=0, high=12)
        check_amount(self.fee, field="pause.fee")

    def to_dict(self) -> dict:
        return {
            "allowed": self.allowed,
            "min_months": self.min_months,
            "max_months": self.max_months,
            "per_year": self.per_year,
            "fee": self.fee,
        }


@dataclass(frozen=True)
class Policies:
    cancellation: Cancellation = Cancellation.PERIOD_END
    notice_days: int = 0
    minimum_commitment_periods: int = 0
    benefits_on_cancel: BenefitsOnCancel = BenefitsOnCancel.UNTIL_PERIOD_END
    pause: PauseRules = field(default_factory=PauseRules)
    dunning: DunningSchedule = field(default_factory=DunningSchedule)
    proration_billing: ProrationBilling = ProrationBilling.NEXT_INVOICE

    def __post_init__(self):
        object.__setattr__(self, "cancellation", validation.choice(self.cancellation, Cancellation, "cancellation"))
        object.__setattr__(
            self,
            "benefits_on_cancel",
            validation.choice(self.benefits_on_cancel, BenefitsOnCancel, "benefits_on_cancel"),
        )
        object.__setattr__(
            self, "proration_billing", validation.choice(self.proration_billing, ProrationBilling, "proration_billing")
        )
        validation.whole(self.notice_days, "notice_days", low=0, high=MAX_NOTICE_DAYS)
        validation.whole(
            self.minimum_commitment_periods, "minimum_commitment_periods", low=0, high=MAX_COMMITMENT_PERIODS
        )


def check_products(products: list) -> list[dict]:
    """Included products, counted per period (not stocked): [{"name": "Sunscreen 50 ml", "quantity": 1}]."""
    if not isinstance(products, list) or len(products) > MAX_PRODUCTS:
        raise InvalidInput(f"included_products is a list of at most {MAX_PRODUCTS}", field="included_products")
    clean = []
    for i, item in enumerate(products):
        where = f"included_products[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} is an object with a name and a quantity", field=where)
        clean.append(
            {
                "name": validation.text(item.get("name"), f"{where}.name"),
                "quantity": validation.whole(item.get("quantity", 1), f"{where}.quantity", low=1, high=1000),
            }
        )
    return clean


def check_perks(perks: list) -> list[str]:
    """Perks shown to staff ("priority booking")."""
    if not isinstance(perks, list) or len(perks) > MAX_PERKS:
        raise InvalidInput(f"perks is a list of at most {MAX_PERKS}", field="perks")
    return [validation.text(perk, f"perks[{i}]") for i, perk in enumerate(perks)]


def check_discount(discount_bp) -> int:
    """The discount on everything else the member buys, in basis points (1000 = 10 %)."""
    return validation.whole(discount_bp, "discount_bp", low=0, high=10_000)
