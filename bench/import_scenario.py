"""Scenario 6: `punchcard import packages` of a generated file (bench/import_sample.py) into a fresh tenant
with the sample's catalogue; then the same file again (every row unchanged) and `reconcile`."""

from __future__ import annotations

import time

from bench.import_sample import write

SERVICES = [  # code, name, list price (paise): the demo clinic's, which the sample's terms name
    ("physio", "Physiotherapy 45 min", 100000),
    ("doctor", "Doctor consultation", 150000),
    ("facial", "Facial", 100000),
    ("massage", "Therapeutic massage 60 min", 120000),
    ("chiro", "Chiropractic adjustment", 100000),
    ("yoga", "Yoga class", 30000),
    ("pilates", "Pilates class", 30000),
    ("spin", "Spin class", 30000),
]
PLANS = [  # code, price, [(service, sessions, bonus)], days
    ("physio-recovery", 800000, [("physio", 10, 0), ("doctor", 2, 0)], 90),
    ("facials-6", 450000, [("facial", 6, 0)], 365),
    ("chiro-b3f1", 300000, [("chiro", 3, 1)], 90),
]


def _clinic(slug: str):
    from punchcard.catalogue.services import LineSpec, PlanTerms, create_plan
    from punchcard.domain.roles import SYSTEM
    from punchcard.tenancy import services as tenancy

    tenant = tenancy.create_tenant(name="Import bench", slug=slug, currency="INR", locale="en_IN")
    for code, name in (("bandra", "Bandra"), ("koramangala", "Koramangala")):
        tenancy.create_centre(tenant=tenant, actor=SYSTEM, name=name, code=code, timezone="Asia/Kolkata")
    ids = {
        code: tenancy.create_service(tenant=tenant, actor=SYSTEM, name=name, code=code, list_price=price).id
        for code, name, price in SERVICES
    }
    for code, price, lines, days in PLANS:
        create_plan(
            tenant=tenant,
            actor=SYSTEM,
            code=code,
            terms=PlanTerms(
                name=code,
                price=price,
                lines=[LineSpec([ids[s]], n, bonus_sessions=b) for s, n, b in lines],
                expiry={"kind": "after_start", "count": days, "unit": "days"},
            ),
        )
    return tenant


def task_import(*, rows: int, work: str) -> dict:
    from punchcard.domain.roles import SYSTEM
    from punchcard.imports.services import import_packages
    from punchcard.ledger.reconcile import reconcile

    tenant = _clinic(f"bench-import-{rows}")
    path = f"{work}/import-{rows}.csv"
    write(path, rows)
    with open(path, "rb") as f:
        data = f.read()
    started = time.perf_counter()
    first = import_packages(tenant=tenant, actor=SYSTEM, data=data, source_system="bench")
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = import_packages(tenant=tenant, actor=SYSTEM, data=data, source_system="bench")
    again_seconds = time.perf_counter() - started
    problems = [p for result in reconcile(tenant) for p in result.problems]
    return {
        "rows": rows,
        "bytes": len(data),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1),
        "created": first.count("created"),
        "refused": first.count("refused"),
        "rerun_seconds": round(again_seconds, 2),
        "rerun_created": again.count("created"),
        "rerun_unchanged": again.count("unchanged"),
        "reconciled": not problems,
    }
