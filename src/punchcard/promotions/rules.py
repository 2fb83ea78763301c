"""Which promotions an order line gets (SPEC §9). Pure: terms in, an Offer out; no Django.

Every candidate promotion is priced alone; the stackable ones are also priced together. The option
worth most to the patient wins (discount, plus free sessions valued at their list price); on a tie
the option holding the code the patient typed wins, then the one with fewer promotions, then the
lower priority number. So at most one promotion applies to a line unless every applied one says it
stacks, and the record says which applied, how much each gave, and why the others did not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from punchcard.domain.money import div_round_half_up


class Kind(StrEnum):
    BONUS_SESSIONS = "bonus_sessions"  # Buy N Free M: bonus sessions on each line with ≥ N sessions
    PERCENT = "percent"  # % off the price
    FIXED = "fixed"  # a fixed amount off the price (never below zero)
    LOYALTY = "loyalty"  # % off by how many packages the patient has already bought


@dataclass(frozen=True)
class Tier:
    min_packages: int
    max_packages: int | None  # None: and above
    percent_bp: int

    def covers(self, count: int) -> bool:
        return count >= self.min_packages and (self.max_packages is None or count <= self.max_packages)

    def describe(self) -> str:
        upper = f"–{self.max_packages}" if self.max_packages is not None else "+"
        return f"{self.min_packages}{upper}: {self.percent_bp / 100:g} %"


@dataclass(frozen=True)
class PromotionTerms:
    id: int
    name: str
    kind: Kind
    code: str | None = None
    automatic: bool = False
    stackable: bool = False
    priority: int = 100
    plan_ids: frozenset[int] = frozenset()  # empty: every plan
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    active: bool = True
    percent_bp: int = 0
    amount: int = 0
    buy: int = 0
    free: int = 0
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True)
class PlanLineTerms:
    id: int
    sessions: int
    list_price: int  # one session's list price


@dataclass(frozen=True)
class LineToPrice:
    plan_id: int
    price: int  # the plan's price as charged (before tax split)
    lines: tuple[PlanLineTerms, ...]


@dataclass(frozen=True)
class Applied:
    promotion: PromotionTerms
    discount: int
    bonus: dict[int, int]  # plan line id → extra sessions
    why: str

    def benefit(self, line: LineToPrice) -> int:
        prices = {pl.id: pl.list_price for pl in line.lines}
        return self.discount + sum(prices[k] * n for k, n in self.bonus.items())


@dataclass
class Offer:
    applied: list[Applied] = field(default_factory=list)
    passed_over: list[tuple[PromotionTerms, str]] = field(default_factory=list)

    @property
    def discount(self) -> int:
        return sum(a.discount for a in self.applied)

    @property
    def bonus(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for a in self.applied:
            for k, n in a.bonus.items():
                out[k] = out.get(k, 0) + n
        return out

    def record(self, *, entered_code: str | None) -> dict:
        """What OrderLine.promotion keeps: which applied and why, and why the others did not."""
        if not self.applied and not self.passed_over:
            return {}
        data = {
            "applied": [
                {
                    "promotion_id": a.promotion.id,
                    "code": a.promotion.code,
                    "name": a.promotion.name,
                    "kind": str(a.promotion.kind),
                    "discount": a.discount,
                    "bonus_sessions": {str(k): n for k, n in sorted(a.bonus.items())},
                    "why": a.why,
                }
                for a in self.applied
            ],
            "discount": self.discount,
            "bonus_sessions": {str(k): n for k, n in sorted(self.bonus.items())},
            "not_applied": [
                {"promotion_id": p.id, "code": p.code, "name": p.name, "why": why} for p, why in self.passed_over
            ],
        }
        if entered_code:
            data["entered_code"] = entered_code
        return data


def _money(amount: int) -> str:
    return f"{amount} minor units"


def not_applicable(promo: PromotionTerms, *, plan_id: int, day: dt.date) -> str | None:
    """Why a promotion cannot apply to this plan on this day, or None when it can."""
    if not promo.active:
        return "the promotion is retired"
    if promo.valid_from and day < promo.valid_from:
        return f"the promotion starts on {promo.valid_from.isoformat()}"
    if promo.valid_to and day > promo.valid_to:
        return f"the promotion ended on {promo.valid_to.isoformat()}"
    if promo.plan_ids and plan_id not in promo.plan_ids:
        return "the promotion does not cover this plan"
    return None


def price_one(promo: PromotionTerms, line: LineToPrice, *, remaining_price: int, packages_bought: int) -> Applied | str:
    """What one promotion gives on a line whose price is now `remaining_price`, or why it gives nothing."""
    if promo.kind is Kind.PERCENT:
        discount = min(remaining_price, div_round_half_up(remaining_price * promo.percent_bp, 100_00))
        return Applied(promo, discount, {}, f"{promo.percent_bp / 100:g} % off {_money(remaining_price)}")
    if promo.kind is Kind.FIXED:
        discount = min(remaining_price, promo.amount)
        return Applied(
            promo,
            discount,
            {},
            f"{_money(promo.amount)} off" + (" (capped at the price)" if discount < promo.amount else ""),
        )
    if promo.kind is Kind.LOYALTY:
        tier = next((t for t in promo.tiers if t.covers(packages_bought)), None)
        if tier is None:
            return f"no loyalty tier for a patient with {packages_bought} package(s) bought"
        discount = min(remaining_price, div_round_half_up(remaining_price * tier.percent_bp, 100_00))
        return Applied(
            promo, discount, {}, f"loyalty tier {tier.describe()} for {packages_bought} package(s) already bought"
        )
    if promo.kind is Kind.BONUS_SESSIONS:
        bonus = {
            pl.id: (pl.sessions // promo.buy) * promo.free
            for pl in line.lines
            if promo.buy and pl.sessions >= promo.buy
        }
        bonus = {k: n for k, n in bonus.items() if n}
        if not bonus:
            return f"no line has {promo.buy} or more sessions"
        return Applied(promo, 0, bonus, f"buy {promo.buy} free {promo.free}: {sum(bonus.values())} bonus session(s)")
    raise AssertionError(promo.kind)


def _combine(promos: list[PromotionTerms], line: LineToPrice, packages_bought: int) -> list[Applied] | None:
    applied, remaining = [], line.price
    for promo in sorted(promos, key=lambda p: (p.priority, p.id)):
        result = price_one(promo, line, remaining_price=remaining, packages_bought=packages_bought)
        if isinstance(result, Applied):
            applied.append(result)
            remaining -= result.discount
    return applied or None


def best_offer(
    candidates: list[PromotionTerms],
    line: LineToPrice,
    *,
    day: dt.date,
    packages_bought: int,
    entered: PromotionTerms | None = None,
) -> Offer:
    """The best option for one order line among the candidate promotions (automatic ones + a typed code)."""
    offer = Offer()
    usable: list[PromotionTerms] = []
    for promo in candidates:
        reason = not_applicable(promo, plan_id=line.plan_id, day=day)
        if reason is None:
            usable.append(promo)
        elif entered is not None and promo.id == entered.id:
            offer.passed_over.append((promo, reason))
    options: list[list[Applied]] = []
    alone: dict[int, Applied | str] = {}
    for promo in usable:
        result = price_one(promo, line, remaining_price=line.price, packages_bought=packages_bought)
        alone[promo.id] = result
        if isinstance(result, Applied):
            options.append([result])
    stackable = [p for p in usable if p.stackable]
    if len(stackable) > 1:
        combined = _combine(stackable, line, packages_bought)
        if combined and len(combined) > 1:
            options.append(combined)
    for promo in usable:
        if isinstance(alone[promo.id], str):
            offer.passed_over.append((promo, alone[promo.id]))
    if not options:
        return offer

    def rank(option: list[Applied]):
        benefit = sum(a.benefit(line) for a in option)
        has_code = entered is not None and any(a.promotion.id == entered.id for a in option)
        return (-benefit, not has_code, len(option), min((a.promotion.priority, a.promotion.id) for a in option))

    best = min(options, key=rank)
    offer.applied = best
    chosen = {a.promotion.id for a in best}
    names = " + ".join(a.promotion.name for a in best)
    for promo in usable:
        if promo.id not in chosen and isinstance(alone[promo.id], Applied):
            why = (
                "does not stack with other promotions; " if not promo.stackable else ""
            ) + f"{names} is worth more to the patient"
            offer.passed_over.append((promo, why))
    return offer
