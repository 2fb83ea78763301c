"""What an order line gets: the offers billing applies at sale (`offers_for_order`, registered as its
pricer in promotions.apps), and a quote of them that writes nothing.

The discount lowers each line's price before its tax split, and bonus sessions join the line's grant
at activation, so the journal defers exactly what is paid, spread over every session granted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.money import split_tax
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Centre, Patient, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get

from .. import selectors
from ..rules import Applied, Kind, LineToPrice, PlanLineTerms, best_offer, not_applicable, price_one


def _line_to_price(version: PlanVersion) -> LineToPrice:
    lines = tuple(
        PlanLineTerms(pl.id, pl.sessions, max(s.list_price for s in pl.services.all()))
        for pl in version.lines.prefetch_related("services")
    )
    return LineToPrice(plan_id=version.plan_id, price=version.price, lines=lines)


def offers_for_order(
    *, tenant: Tenant, patient: Patient, day: dt.date, versions: list[PlanVersion], code: str | None
) -> list[tuple[int, dict]]:
    """(discount, record for OrderLine.promotion) per order line; called by billing.place_order.

    A typed code that is unknown, retired, outside its window or for none of the order's plans is
    refused, so the patient is never silently charged more than they were promised.
    """
    automatic = selectors.automatic_promotions(tenant)
    entered = None
    if code is not None:
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("promotion_code must be text", field="promotion_code")
        entered = selectors.promotion_by_code(tenant, code)
        if entered is None:
            raise Conflict(
                f"no promotion has the code {code.strip().upper()!r}",
                code="promotion_not_applicable",
                field="promotion_code",
            )
    if not automatic and entered is None:
        return [(0, {}) for _ in versions]
    terms = [selectors.terms_of(p) for p in automatic]
    entered_terms = selectors.terms_of(entered) if entered else None
    if entered_terms and all(t.id != entered_terms.id for t in terms):
        terms.append(entered_terms)
    bought = selectors.packages_bought(tenant, patient.id) if any(t.kind is Kind.LOYALTY for t in terms) else 0
    lines = [_line_to_price(v) for v in versions]
    if entered_terms:
        # Refused only when it can give nothing on any line; beaten by a better offer, it is just recorded.
        reasons = [
            not_applicable(entered_terms, plan_id=line.plan_id, day=day)
            or price_one(entered_terms, line, remaining_price=line.price, packages_bought=bought)
            for line in lines
        ]
        if not any(isinstance(r, Applied) for r in reasons):
            raise Conflict(
                f"the code {entered_terms.code} does not apply: {reasons[0]}",
                code="promotion_not_applicable",
                field="promotion_code",
            )
    offers = [best_offer(terms, line, day=day, packages_bought=bought, entered=entered_terms) for line in lines]
    return [(o.discount, o.record(entered_code=entered_terms.code if entered_terms else None)) for o in offers]


@dataclass(frozen=True)
class Quote:
    plan_id: int
    name: str
    price: int
    discount: int
    net: int
    tax: int
    gross: int
    promotion: dict


def quote(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    centre_id: int,
    plan_ids: list[int],
    promotion_code: str | None = None,
    now: dt.datetime | None = None,
) -> list[Quote]:
    """What an order would cost with today's promotions; writes nothing."""
    actor.require(Perm.READ)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    centre = scoped_get(Centre, tenant=tenant, pk=centre_id, field="centre_id")
    if not plan_ids or len(plan_ids) > billing.MAX_ORDER_ITEMS:
        raise InvalidInput(f"name 1 to {billing.MAX_ORDER_ITEMS} plans", field="plan_ids")
    versions = [
        scoped_get(Plan, tenant=tenant, pk=pid, field=f"plan_ids[{i}]").current for i, pid in enumerate(plan_ids)
    ]
    offers = offers_for_order(
        tenant=tenant, patient=patient, day=local_date(now, centre), versions=versions, code=promotion_code
    )
    out = []
    for version, (discount, record) in zip(versions, offers, strict=True):  # one offer per version
        split = split_tax(version.price - discount, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive)
        out.append(
            Quote(version.plan_id, version.name, version.price, discount, split.net, split.tax, split.gross, record)
        )
    return out
