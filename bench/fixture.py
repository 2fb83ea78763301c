"""The benchmark clinic chain, made through the services: tenant, centres, services, plans, staff, API key.

Everything the bulk generator needs to write packages that look sold by these plans is returned as
plain data (ids, each plan line's allocated value, expiry terms), so the generator can run in SQL.
"""

from __future__ import annotations

import datetime as dt

from punchcard.catalogue.services import LineSpec, PlanTerms, create_plan
from punchcard.domain.allocation import LineForAllocation, allocate_to_lines
from punchcard.domain.money import split_tax
from punchcard.domain.roles import Actor
from punchcard.ledger import services as journal
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.models import Role

SLUG = "bench"
ADMIN = Actor(label="bench-admin", role=Role.ADMIN, source="bench")

CENTRES = [
    ("bandra", "Bandra", "Asia/Kolkata"),
    ("koramangala", "Koramangala", "Asia/Kolkata"),
    ("dubai", "Dubai Healthcare City", "Asia/Dubai"),
]
SERVICES = [
    ("physio", "Physiotherapy 45 min", 100000),
    ("doctor", "Doctor consultation", 150000),
    ("yoga", "Yoga class", 30000),
    ("pilates", "Pilates class", 30000),
    ("spin", "Spin class", 30000),
    ("massage", "Therapeutic massage 60 min", 120000),
    ("chiro", "Chiropractic adjustment", 100000),
]
DAYS = "days"
# code → (price, lines [(service codes, sessions)], terms). Every expiry is in days so that the generator's
# dates are exactly what domain.expiry would compute.
PLANS = {
    "physio-10": (800000, [(["physio"], 10)], dict(expiry={"kind": "after_start", "count": 180, "unit": DAYS})),
    "wellness-combo": (
        1200000,
        [(["physio"], 6), (["doctor"], 2)],
        dict(
            expiry={"kind": "after_start", "count": 365, "unit": DAYS}, expiry_mode="soft", grace_days=15, scope="all"
        ),
    ),
    "yoga-24": (
        600000,
        [(["yoga"], 24)],
        dict(expiry={"kind": "after_start", "count": 90, "unit": DAYS}, cap_per_day=1),
    ),
    "family-pilates-20": (
        500000,
        [(["pilates"], 20)],
        dict(
            expiry={"kind": "after_start", "count": 120, "unit": DAYS},
            expiry_mode="soft",
            grace_days=7,
            shareable=True,
            max_beneficiaries=3,
        ),
    ),
    "massage-5": (550000, [(["massage"], 5)], dict(expiry={"kind": "none"})),
    "chiro-8": (640000, [(["chiro"], 8)], dict(expiry={"kind": "after_first_use", "count": 60, "unit": DAYS})),
    # The hot-package scenario: three sessions, fifty people at the desk at once.
    "trial-3": (
        300000,
        [(["physio"], 3)],
        dict(expiry={"kind": "after_start", "count": 30, "unit": DAYS}, scope="all"),
    ),
    # The packages the throughput scenarios redeem against: a class pack usable at every centre, no caps.
    "class-pack-50": (
        1200000,
        [(["yoga", "pilates", "spin"], 50)],
        dict(expiry={"kind": "after_start", "count": 365, "unit": DAYS}, scope="all"),
    ),
}
TAX_BP = 1800


def build(now: dt.datetime) -> dict:
    tenant = tenancy.create_tenant(name="Bench Clinic Chain", slug=SLUG, currency="INR", now=now)
    centres = {
        code: tenancy.create_centre(tenant=tenant, actor=ADMIN, name=name, code=code, timezone=zone)
        for code, name, zone in CENTRES
    }
    services = {
        code: tenancy.create_service(
            tenant=tenant, actor=ADMIN, name=name, code=code, list_price=price, delivery_cost=price // 4
        )
        for code, name, price in SERVICES
    }
    desk = tenancy.create_staff_member(tenant=tenant, actor=ADMIN, name="Bench Front Desk", role=Role.FRONT_DESK)
    plans = {}
    for code, (price, lines, terms) in PLANS.items():
        version = create_plan(
            tenant=tenant,
            actor=ADMIN,
            code=code,
            now=now,
            terms=PlanTerms(
                name=code.replace("-", " ").title(),
                price=price,
                tax_rate_bp=TAX_BP,
                tax_inclusive=True,
                lines=[LineSpec(service_ids=[services[s].id for s in codes], sessions=n) for codes, n in lines],
                **terms,
            ),
        )
        split = split_tax(price, rate_bp=TAX_BP, inclusive=True)
        plan_lines = list(version.lines.prefetch_related("services").order_by("position", "id"))
        allocation = [
            LineForAllocation(max(s.list_price for s in pl.services.all()), pl.sessions, pl.bonus_sessions)
            for pl in plan_lines
        ]
        values = allocate_to_lines(split.net, allocation)
        plans[code] = {
            "version_id": version.id,
            "plan_id": version.plan_id,
            "name": version.name,
            "gross": price,
            "net": split.net,
            "tax": split.tax,
            "expiry": version.expiry,
            "mode": version.expiry_mode,
            "grace": version.grace_days,
            "days": version.expiry.get("count") or 0,
            "kind": version.expiry["kind"],
            "lines": [
                {
                    "plan_line_id": pl.id,
                    "label": pl.label,
                    "service_ids": sorted(s.id for s in pl.services.all()),
                    "list_price": term.list_price,
                    "granted": term.granted,
                    "value": value,
                }
                for pl, term, value in zip(plan_lines, allocation, values, strict=True)
            ],
        }
    _, secret = tenancy.create_api_key(
        tenant=tenant, actor=ADMIN, name="bench load generator", role=Role.FRONT_DESK, now=now
    )
    return {
        "tenant_id": tenant.id,
        "slug": tenant.slug,
        "currency": tenant.currency,
        "centres": {code: {"id": c.id, "zone": c.timezone} for code, c in centres.items()},
        "services": {code: s.id for code, s in services.items()},
        "desk": {"id": desk.id, "label": f"staff:{desk.id} {desk.name}"},
        "accounts": journal.accounts(tenant),
        "plans": plans,
        "api_key": secret,
    }
