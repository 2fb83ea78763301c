"""The benchmark tasks that run inside Django (one process each, started by bench.run through bench.child).

Every task takes keyword arguments that are plain JSON and returns a JSON-able dict.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import multiprocessing
import os
import pstats
import random
import threading
import time
from pathlib import Path

from django.db import connection, connections

from bench.common import latency_summary
from punchcard.packages.services import one_statement

CLASS_PACK = "class-pack-50"


# ---------------------------------------------------------------- shared helpers


def _tenant(slug: str = "bench"):
    from punchcard.tenancy.models import Tenant

    return Tenant.objects.get(slug=slug)


def _desk(fixture: dict):
    from punchcard.domain.roles import Actor
    from punchcard.tenancy.models import Role

    return Actor(label=fixture["desk"]["label"], role=Role.FRONT_DESK, source="bench", staff_id=fixture["desk"]["id"])


def _fixture() -> dict:
    """The fixture's ids, read back from the database (so every task can start from nothing)."""
    from punchcard.catalogue.models import Plan
    from punchcard.tenancy.models import Centre, Service, StaffMember

    tenant = _tenant()
    desk = StaffMember.objects.filter(tenant=tenant, name="Bench Front Desk").first()
    plans = {p.code: p.current for p in Plan.objects.filter(tenant=tenant)}
    return {
        "tenant_id": tenant.id,
        "centres": {c.code: c.id for c in Centre.objects.filter(tenant=tenant)},
        "services": {s.code: s.id for s in Service.objects.filter(tenant=tenant)},
        "desk": {"id": desk.id, "label": f"staff:{desk.id} {desk.name}"},
        "plan_versions": {code: v.id for code, v in plans.items()},
        "plan_ids": {code: v.plan_id for code, v in plans.items()},
    }


def _redeem_targets(fixture: dict) -> list[tuple[int, int]]:
    """(package id, centre id) of every open class pack with sessions left: what the workers redeem against."""
    from django.db.models import F

    from punchcard.packages.models import Package

    left = F("lines__redeemed") + F("lines__forfeited") + F("lines__held") + 5
    rows = (
        Package.objects.filter(
            tenant_id=fixture["tenant_id"],
            plan_version_id=fixture["plan_versions"][CLASS_PACK],
            closure__isnull=True,
            lines__granted__gt=left,
        )
        .values_list("id", "sold_at_id")
        .order_by("id")
    )
    return list(rows)


def _vendor() -> str:
    return connection.vendor


# ---------------------------------------------------------------- setup


def task_setup(*, redeem_packages: int, today: str, mixed_packages: int = 0) -> dict:
    """The clinic chain (through the services) and the class packs the throughput scenarios use.

    On PostgreSQL the class packs are bulk-generated like the big data set, followed by `mixed_packages` of
    the nightly sweep's mix (its first, small size); on SQLite they are sold through billing.sell_package
    one by one (SQLite runs are small).
    """
    from bench import datagen, fixture
    from punchcard import clock
    from punchcard.billing import services as billing

    started = time.perf_counter()
    now = clock.now()
    made = fixture.build(now)
    if _vendor() == "postgresql":
        counts = datagen.generate(
            fixture=made,
            today=dt.date.fromisoformat(today),
            packages=redeem_packages,
            stories=datagen.REDEEM_SET,
            tag="r",
            salt=1,
        )
        if mixed_packages:
            mixed = task_generate(today=today, packages=mixed_packages, salt=2, tag="s")
            return {
                "fixture": made,
                "redeem_set": counts,
                "mixed": mixed,
                "seconds": round(time.perf_counter() - started, 2),
                **task_targets(),
            }
    else:
        from punchcard.tenancy import services as tenancy

        tenant = _tenant()
        desk = _desk(made)
        centres = list(made["centres"].values())
        for i in range(redeem_packages):
            patient = tenancy.create_patient(tenant=tenant, actor=desk, external_ref=f"BR-{i}", name=f"Walk-in {i}")
            billing.sell_package(
                tenant=tenant,
                actor=desk,
                patient_id=patient.id,
                centre_id=centres[i % len(centres)]["id"],
                plan_id=made["plans"][CLASS_PACK]["plan_id"],
                method="card",
            )
        counts = {"packages": redeem_packages}
    return {"fixture": made, "redeem_set": counts, "seconds": round(time.perf_counter() - started, 2), **task_targets()}


# ---------------------------------------------------------------- scenario 1: redemption throughput


def _redeem_call(fixture, tenant, actor, service_id):
    from punchcard.packages.services import redeem_session

    def call(package_id, centre_id):
        return redeem_session(
            tenant=tenant, actor=actor, package_id=package_id, service_id=service_id, centre_id=centre_id
        )

    return call


def _sell_call(fixture, tenant, actor):
    from punchcard.billing.services import sell_package

    plan_id = fixture["plan_ids"][CLASS_PACK]

    def call(patient_id, centre_id):
        return sell_package(tenant=tenant, actor=actor, patient_id=patient_id, centre_id=centre_id, plan_id=plan_id)

    return call


def _worker(
    index: int, seed: int, targets, fixture, seconds: float, barrier, results, what: str = "redeem", orm: bool = False
) -> None:
    if orm:  # the ORM path on PostgreSQL too: the reference the one-statement writes are measured against
        with one_statement.orm_path():
            _work(index, seed, targets, fixture, seconds, barrier, results, what)
    else:
        _work(index, seed, targets, fixture, seconds, barrier, results, what)


def _work(index: int, seed: int, targets, fixture, seconds: float, barrier, results, what: str) -> None:
    from django.db import DatabaseError

    from punchcard.domain.errors import DomainError

    connections.close_all()  # never share the parent's connection
    rng = random.Random(seed * 1000 + index)
    tenant = _tenant()
    if what == "sell":
        call = _sell_call(fixture, tenant, _desk(fixture))
    else:
        call = _redeem_call(fixture, tenant, _desk(fixture), fixture["services"]["yoga"])
    call(*rng.choice(targets))  # warm up: connection, caches, imports
    latencies, refused, failed = [], 0, 0
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    deadline = start + seconds
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        try:
            call(*rng.choice(targets))
            latencies.append(time.perf_counter() - now)
        except DomainError:
            refused += 1
        except DatabaseError:
            failed += 1
    results.put(
        {
            "latencies": latencies,
            "refused": refused,
            "failed": failed,
            "start": start,
            "end": time.perf_counter(),
            "cpu": time.process_time() - cpu,
        }
    )
    connections.close_all()


def task_redeem(*, workers: int, seconds: float, seed: int = 7, orm: bool = False) -> dict:
    """N worker processes redeeming through packages.services.redeem_session for `seconds`."""
    fixture = _fixture()
    targets = _redeem_targets(fixture)
    if not targets:
        raise RuntimeError("no class packs with sessions left to redeem")
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(i, seed, targets, fixture, seconds, barrier, results, "redeem", orm))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=seconds + 300) for _ in procs]
    for proc in procs:
        proc.join(30)
    latencies = [x for o in outcomes for x in o["latencies"]]
    wall = max(o["end"] for o in outcomes) - min(o["start"] for o in outcomes)
    cpu = sum(o["cpu"] for o in outcomes)
    return {
        "vendor": _vendor(),
        "workers": workers,
        "packages": len(targets),
        "redemptions": len(latencies),
        "refused": sum(o["refused"] for o in outcomes),
        "failed": sum(o["failed"] for o in outcomes),
        "seconds": round(wall, 2),
        "tps": round(len(latencies) / wall, 1),
        **latency_summary(latencies),
        # The workers' own CPU: what the Python side costs per redemption, and its share of the machine.
        "client_cpu_ms_per_redemption": round(cpu / max(1, len(latencies)) * 1000, 2),
        "client_cpu_share_of_machine": round(cpu / (wall * (os.cpu_count() or 1)), 3),
    }


def task_sell(*, workers: int, seconds: float, seed: int = 5) -> dict:
    """N worker processes selling a class pack through billing.sell_package for `seconds`, all for one
    tenant (one order counter): do sales scale with processes, or queue on the counter?"""
    from punchcard.billing.models import Order
    from punchcard.tenancy.models import Patient

    fixture = _fixture()
    centre_ids = list(fixture["centres"].values())
    patients = list(Patient.objects.filter(tenant_id=fixture["tenant_id"]).values_list("id", flat=True)[:500])
    targets = [(p, centre_ids[i % len(centre_ids)]) for i, p in enumerate(patients)]
    before = Order.objects.filter(tenant_id=fixture["tenant_id"]).count()
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(i, seed, targets, fixture, seconds, barrier, results, "sell"))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=seconds + 300) for _ in procs]
    for proc in procs:
        proc.join(30)
    latencies = [x for o in outcomes for x in o["latencies"]]
    wall = max(o["end"] for o in outcomes) - min(o["start"] for o in outcomes)
    orders = Order.objects.filter(tenant_id=fixture["tenant_id"]).order_by("number")
    numbers = list(orders.values_list("number", flat=True))
    return {
        "workers": workers,
        "sales": len(latencies),
        "refused": sum(o["refused"] for o in outcomes),
        "failed": sum(o["failed"] for o in outcomes),
        "seconds": round(wall, 2),
        "sps": round(len(latencies) / wall, 1),
        **latency_summary(latencies),
        # every committed order numbered, 1…n without a gap (warm-up sales included)
        "numbers_gap_free": numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= before + len(latencies),
    }


def task_sales(*, seconds: float) -> dict:
    """Scenario 6: sales from 1 process, then from 8."""
    one = task_sell(workers=1, seconds=seconds)
    eight = task_sell(workers=8, seconds=seconds)
    return {"one": one, "eight": eight}


def task_core(
    *,
    workers: int,
    seconds: float,
    profile_redemptions: int = 0,
    profile_out: str | None = None,
    hot_concurrency: int = 50,
    compare_orm: bool = False,
) -> dict:
    """Scenarios 1 and 3 in one process: statements and profile, throughput, then the hot package; with
    `compare_orm`, the same throughput through the ORM path right after (PostgreSQL's before and after)."""
    statements = task_statements(profile_redemptions=profile_redemptions, profile_out=profile_out)
    redeem = task_redeem(workers=workers, seconds=seconds)
    out = {"statements": statements, "redeem": redeem}
    if compare_orm:
        out["redeem_orm_path"] = task_redeem(workers=workers, seconds=seconds, seed=11, orm=True)
    out["hot"] = task_hot(concurrency=hot_concurrency)
    return out


# ---------------------------------------------------------------- statements and profile of one redemption


def _statement_kind(sql: str) -> str:
    words = sql.split()
    head = words[0].upper() if words else ""
    if head == "SELECT" and "FOR NO KEY UPDATE" in sql.upper():
        return "SELECT … FOR NO KEY UPDATE"
    if head in ("INSERT", "UPDATE", "DELETE"):
        table = words[2] if head in ("INSERT", "DELETE") else words[1]
        return f"{head} {table.strip(chr(34))}"
    if head == "SELECT":
        upper = sql.upper()
        start = upper.find(" FROM ")
        table = sql[start + 6 :].split(maxsplit=1)[0].strip('"') if start >= 0 else "?"
        return f"SELECT {table}"
    return head


def _after_begin(captured) -> list[str]:
    """The statements of one transaction after its BEGIN (COMMIT included): the round trips it costs."""
    statements = [q["sql"] for q in captured.captured_queries]
    return statements[1:] if statements and statements[0].strip().upper() == "BEGIN" else statements


def _kinds(captured) -> list[str]:
    return [_statement_kind(s) for s in _after_begin(captured)]


def task_statements(*, profile_redemptions: int = 300, profile_out: str | None = None) -> dict:
    """SQL statements of one redemption (as Django sends them), and a cProfile of many."""
    from django.test.utils import CaptureQueriesContext

    fixture = _fixture()
    targets = _redeem_targets(fixture)
    tenant = _tenant()
    call = _redeem_call(fixture, tenant, _desk(fixture), fixture["services"]["yoga"])
    rng = random.Random(3)
    # Warm: the tenant's chart of accounts is now cached on the tenant object, and the package has been used
    # before (its first use, which also stamps first_used_on, is behind it), as most redemptions are.
    target = rng.choice(targets)
    call(*target)
    with CaptureQueriesContext(connection) as captured:
        call(*target)
    statements = _after_begin(captured)
    # A fresh tenant object, as each HTTP request has: on the ORM path the chart of accounts is read once more.
    fresh = _redeem_call(fixture, _tenant(), _desk(fixture), fixture["services"]["yoga"])
    with CaptureQueriesContext(connection) as captured_fresh:
        fresh(*target)
    # The same redemption through the ORM path (SQLite's; on PostgreSQL the reference the one statement replaced).
    with one_statement.orm_path(), CaptureQueriesContext(connection) as captured_orm:
        call(*target)
    orm = {"statements_orm_path": len(_after_begin(captured_orm)), "kinds_orm_path": _kinds(captured_orm)}

    if not profile_redemptions:
        return {
            "vendor": _vendor(),
            "statements": len(statements),
            "kinds": [_statement_kind(s) for s in statements],
            "statements_fresh_tenant": len(_after_begin(captured_fresh)),
            "kinds_fresh_tenant": _kinds(captured_fresh),
            **orm,
        }
    # Single client, no profiler: wall time and this process's CPU time per redemption.
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(profile_redemptions):
        call(*rng.choice(targets))
    alone = {
        "wall_ms": round((time.perf_counter() - started) / profile_redemptions * 1000, 2),
        "client_cpu_ms": round((time.process_time() - cpu) / profile_redemptions * 1000, 2),
    }
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(profile_redemptions):
        call(*rng.choice(targets))
    profiler.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    breakdown = _profile_breakdown(stats, wall, profile_redemptions)
    breakdown["top"] = _profile_top(stats, profile_redemptions)
    breakdown["single_client"] = alone
    if profile_out:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        Path(profile_out).write_text(f"{profile_redemptions} redemptions, {wall:.2f} s wall\n\n{out.getvalue()}")
    return {
        "vendor": _vendor(),
        "statements": len(statements),
        "kinds": [_statement_kind(s) for s in statements],
        "statements_fresh_tenant": len(_after_begin(captured_fresh)),
        "kinds_fresh_tenant": _kinds(captured_fresh),
        **orm,
        "profile": breakdown,
    }


def _profile_top(stats: pstats.Stats, count: int, limit: int = 12) -> list[dict]:
    """The service layer's own functions and the heaviest library calls, by cumulative time per redemption."""
    rows = []
    for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        path = file.replace("\\", "/")
        where = (
            "punchcard"
            if "/punchcard/" in path
            else "django"
            if "/django/" in path
            else "psycopg"
            if "/psycopg" in path
            else None
        )
        if where is None or name.startswith("<"):
            continue
        short = path.split(f"/{where}/", 1)[-1]
        rows.append(
            {
                "function": f"{where}/{short}:{line} {name}",
                "calls_per_redemption": round(calls / count, 1),
                "cumulative_ms": round(cumulative / count * 1000, 2),
                "own_ms": round(own / count * 1000, 3),
            }
        )
    ours = sorted((r for r in rows if r["function"].startswith("punchcard")), key=lambda r: -r["cumulative_ms"])
    theirs = sorted((r for r in rows if not r["function"].startswith("punchcard")), key=lambda r: -r["own_ms"])
    return ours[:limit] + theirs[:limit]


def _profile_breakdown(stats: pstats.Stats, wall: float, count: int) -> dict:
    """Where a redemption's time goes: waiting on the database (statements, commit), compiling SQL, the rest."""

    def cumulative(path_end: str, name: str) -> float:
        return sum(
            ct
            for (file, _, func), (_, _, _, ct, _) in stats.stats.items()
            if func == name and file.replace("\\", "/").endswith(path_end)
        )

    statements = cumulative("django/db/backends/utils.py", "_execute")  # the driver call, round trip included
    commit = cumulative("django/db/backends/base/base.py", "commit")
    compile_sql = cumulative("django/db/models/sql/compiler.py", "as_sql")
    share = (lambda t: round(t / wall, 3)) if wall else (lambda t: None)
    return {
        "ms_per_redemption": round(wall / count * 1000, 2),
        "statements_share": share(statements),
        "commit_share": share(commit),
        "sql_compile_share": share(compile_sql),
        "python_share": share(wall - statements - commit),
    }


# ---------------------------------------------------------------- scenario 3: the hot package


def task_hot_package() -> dict:
    """A fresh 3-session package for the HTTP race of the scale-out scenario: its id, centre and service."""
    from punchcard.billing import services as billing
    from punchcard.tenancy import services as tenancy

    fixture = _fixture()
    tenant, desk = _tenant(), _desk(fixture)
    centre_id = next(iter(fixture["centres"].values()))
    patient = tenancy.create_patient(
        tenant=tenant, actor=desk, external_ref=f"HOT-HTTP-{time.time_ns()}", name="Hot package holder"
    )
    package = billing.sell_package(
        tenant=tenant,
        actor=desk,
        patient_id=patient.id,
        centre_id=centre_id,
        plan_id=fixture["plan_ids"]["trial-3"],
        method="card",
    )
    return {"package_id": package.id, "centre_id": centre_id, "service_id": fixture["services"]["physio"]}


def task_hot(*, concurrency: int = 50) -> dict:
    """`concurrency` simultaneous redemptions of one package with 3 sessions left: exactly 3 may succeed."""
    from punchcard.billing import services as billing
    from punchcard.domain.errors import DomainError
    from punchcard.packages.models import PackageLine, Redemption, SessionEntry
    from punchcard.tenancy import services as tenancy

    fixture = _fixture()
    tenant = _tenant()
    desk = _desk(fixture)
    centre_id = next(iter(fixture["centres"].values()))
    patient = tenancy.create_patient(
        tenant=tenant, actor=desk, external_ref=f"HOT-{time.time_ns()}", name="Hot package holder"
    )
    package = billing.sell_package(
        tenant=tenant,
        actor=desk,
        patient_id=patient.id,
        centre_id=centre_id,
        plan_id=fixture["plan_ids"]["trial-3"],
        method="card",
    )
    connections.close_all()
    barrier = threading.Barrier(concurrency + 1)
    outcomes: list = [None] * concurrency
    finished: list[float] = [0.0] * concurrency

    def attempt(i: int) -> None:
        from punchcard.packages.services import redeem_session

        try:
            mine = _tenant()
            connection.ensure_connection()  # connect before the start line, not in the race
            barrier.wait(60)
            outcomes[i] = redeem_session(
                tenant=mine,
                actor=desk,
                package_id=package.id,
                service_id=fixture["services"]["physio"],
                centre_id=centre_id,
            )
        except DomainError as exc:
            outcomes[i] = exc
        except BaseException as exc:
            outcomes[i] = exc
        finally:
            finished[i] = time.perf_counter()
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait(60)
    start = time.perf_counter()
    for thread in threads:
        thread.join(120)
    settle = max(finished) - start
    successes = [o for o in outcomes if isinstance(o, Redemption)]
    refusals = [o for o in outcomes if isinstance(o, DomainError)]
    codes = sorted({getattr(o, "code", type(o).__name__) for o in refusals})
    others = [repr(o) for o in outcomes if not isinstance(o, (Redemption, DomainError))]
    line = PackageLine.objects.get(package_id=package.id)
    ledger = SessionEntry.objects.filter(line=line, kind="redeem").count()
    exact = (
        len(successes) == 3
        and len(refusals) == concurrency - 3
        and codes == ["insufficient_sessions"]
        and line.redeemed == 3
        and line.available == 0
        and ledger == 3
        and Redemption.objects.filter(package_id=package.id).count() == 3
    )
    return {
        "vendor": _vendor(),
        "concurrency": concurrency,
        "successes": len(successes),
        "refusals": len(refusals),
        "refusal_codes": codes,
        "other_errors": others[:5],
        "redeemed": line.redeemed,
        "available": line.available,
        "exact": exact,
        "settle_ms": round(settle * 1000, 1),
    }


# ---------------------------------------------------------------- scenario 4: bulk data for the sweep


def task_generate(*, today: str, packages: int, salt: int = 2, tag: str = "m") -> dict:
    from bench import datagen

    made = fixture_for_generator()
    counts = datagen.generate(fixture=made, today=dt.date.fromisoformat(today), packages=packages, tag=tag, salt=salt)
    return {**counts, "before_sweep": task_due_count(as_of=today)}


def fixture_for_generator() -> dict:
    """What datagen needs, rebuilt from the database (plans' allocation as activation computes it)."""
    from punchcard.catalogue.models import Plan
    from punchcard.domain.allocation import LineForAllocation, allocate_to_lines
    from punchcard.domain.money import split_tax
    from punchcard.ledger import services as journal
    from punchcard.tenancy.models import Centre

    tenant = _tenant()
    plans = {}
    for plan in Plan.objects.filter(tenant=tenant).order_by("id"):
        version = plan.current
        split = split_tax(version.price, rate_bp=version.tax_rate_bp, inclusive=version.tax_inclusive)
        plan_lines = list(version.lines.prefetch_related("services").order_by("position", "id"))
        terms = [
            LineForAllocation(max(s.list_price for s in pl.services.all()), pl.sessions, pl.bonus_sessions)
            for pl in plan_lines
        ]
        values = allocate_to_lines(split.net, terms)
        plans[plan.code] = {
            "version_id": version.id,
            "plan_id": plan.id,
            "name": version.name,
            "gross": version.price,
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
                    "list_price": t.list_price,
                    "granted": t.granted,
                    "value": v,
                }
                for pl, t, v in zip(plan_lines, terms, values, strict=True)
            ],
        }
    return {
        "tenant_id": tenant.id,
        "currency": tenant.currency,
        "centres": {
            c.code: {"id": c.id, "zone": c.timezone} for c in Centre.objects.filter(tenant=tenant).order_by("id")
        },
        "accounts": journal.accounts(tenant),
        "plans": plans,
    }


def task_due_count(*, as_of: str) -> dict:
    """Packages the sweep should expire as of a date (computed independently, in SQL)."""
    day = dt.date.fromisoformat(as_of)
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT count(*) FROM packages_package p
            WHERE p.closure IS NULL AND p.expires_on IS NOT NULL AND p.start_date <= %s
              AND p.expires_on + CASE WHEN p.expiry_mode = 'soft' THEN p.grace_days ELSE 0 END < %s
              AND EXISTS (SELECT 1 FROM packages_packageline l WHERE l.package_id = p.id
                          AND l.granted > l.redeemed + l.forfeited)""",
            [day, day],
        )
        due = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM packages_package")
        total = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM packages_hold WHERE state = 'pending'")
        pending = cur.fetchone()[0]
    return {"due": due, "packages": total, "pending_holds": pending}


def task_sweep_check(*, as_of: str) -> dict:
    """After the sweep: nothing left due, one breakage entry per expired package, balanced."""
    after = task_due_count(as_of=as_of)
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*), count(DISTINCT event_id), COALESCE(sum(total_debit), 0)
                       FROM ledger_journalentry WHERE event_type = 'package_expiry' AND at >= %s""",
            [dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=1)],
        )
        entries, packages, breakage = cur.fetchone()
    return {
        "left_due": after["due"],
        "breakage_entries": entries,
        "breakage_packages": packages,
        "breakage_value": breakage,
        "ok": after["due"] == 0 and entries == packages,
    }


# ---------------------------------------------------------------- scenario 5: reads at scale


def task_reads(*, today: str, samples: int = 500, seed: int = 11) -> dict:
    """Scenario 5, after a check of what the sweep left (nothing due, one breakage entry per package)."""
    check = task_sweep_check(as_of=today)
    from punchcard.packages.models import Beneficiary
    from punchcard.packages.selectors import packages_of_patient
    from punchcard.tenancy.models import Patient

    tenant = _tenant()
    day = dt.date.fromisoformat(today)
    rng = random.Random(seed)
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM tenancy_patient WHERE tenant_id = %s", [tenant.id])
        low, high = cur.fetchone()
    sharing = list(Beneficiary.objects.filter(tenant=tenant).values_list("patient_id", flat=True)[: samples // 10])
    chosen = [rng.randint(low, high) for _ in range(samples)] + sharing
    rng.shuffle(chosen)
    for pid in chosen[:20]:  # warm the connection and the caches
        packages_of_patient(tenant, pid)
    timings, db_timings, found = [], [], 0
    in_db = [0.0]

    def clocked(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_db[0] += time.perf_counter() - started

    with connection.execute_wrapper(clocked):
        for pid in chosen:
            in_db[0] = 0.0
            started = time.perf_counter()
            found += len(packages_of_patient(tenant, pid))
            timings.append(time.perf_counter() - started)
            db_timings.append(in_db[0])
    patient_reads = {
        **latency_summary(timings),
        "samples": len(chosen),
        "db_p50_ms": latency_summary(db_timings)["p50_ms"],
        "db_p99_ms": latency_summary(db_timings)["p99_ms"],
        "packages_per_patient": round(found / len(chosen), 2),
        "patients": Patient.objects.filter(tenant=tenant).count(),
    }

    quarter_end = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1) - dt.timedelta(days=1)
    quarter_start = dt.date(quarter_end.year, quarter_end.month - 2, 1)
    reports: dict = {}
    try:
        from punchcard.reports.definitions.expiry import expiry
        from punchcard.reports.definitions.liability import liability
        from punchcard.reports.definitions.sales import package_sales
        from punchcard.reports.definitions.usage import usage
        from punchcard.reports.summaries import fold_summaries
    except ImportError:  # pragma: no cover - the reports app is optional for the benchmark
        liability = expiry = None
    if liability is not None:
        reports["source"] = "punchcard.reports.definitions"
        quarter = dict(date_from=quarter_start, date_to=quarter_end)
        # The whole history read from the ledgers, as when the summaries' job has never run.
        reports["liability_scan"], scanned = _timed(1, lambda: liability(tenant, **quarter, scan=True))
        # The report-summaries job: the first fold takes the whole history; on PostgreSQL a watermark
        # needs three runs (candidate, barrier, fold), as the job would over ten to fifteen minutes.
        folds = []
        for i in range(3):
            started = time.perf_counter()
            written = fold_summaries(now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2 * i))
            folds.append({"seconds": round(time.perf_counter() - started, 3), "rows": written})
        reports["fold"] = {"runs": folds, "seconds": round(sum(f["seconds"] for f in folds), 3)}
        reports["liability"], report = _timed(2, lambda: liability(tenant, **quarter))
        reports["liability"]["balanced"] = report.extra.get("balanced")
        reports["liability"]["equals_scan"] = report.rows == scanned.rows and all(
            report.extra[k] == scanned.extra[k] for k in ("money", "codes", "sessions", "closing")
        )
        reports["usage"], _ = _timed(2, lambda: usage(tenant, **quarter, by=("service", "centre")))
        reports["sales"], _ = _timed(2, lambda: package_sales(tenant, **quarter, period="month"))
        # Expiring in the next 30 days, and expired in the last 30 (the report's own window).
        reports["expiry"], report = _timed(
            2, lambda: expiry(tenant, as_of=day, days=30, date_from=day - dt.timedelta(days=30))
        )
        reports["expiry"]["rows"] = len(report.rows)
    else:  # an equivalent aggregate: the deferred-revenue roll-forward of the quarter
        reports["source"] = "equivalent aggregate query (reports app not present)"
        reports["liability"], _ = _timed(2, lambda: _liability_equivalent(tenant.id, quarter_start, quarter_end))
    reports["quarter"] = [quarter_start.isoformat(), quarter_end.isoformat()]
    return {"sweep_check": check, "patient_packages": patient_reads, **reports}


def _timed(repeat: int, fn) -> tuple[dict, object]:
    """Run `fn` `repeat` times: the best and the first time (a cold start), and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return {"best_s": round(min(times), 3), "first_s": round(times[0], 3), "runs": repeat}, result


def _liability_equivalent(tenant_id: int, date_from: dt.date, date_to: dt.date):
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT sum(CASE WHEN e.date < %s THEN -p.amount ELSE 0 END),
                   sum(CASE WHEN e.date BETWEEN %s AND %s THEN -p.amount ELSE 0 END),
                   sum(CASE WHEN e.date <= %s THEN -p.amount ELSE 0 END)
            FROM ledger_posting p JOIN ledger_journalentry e ON e.id = p.entry_id
                 JOIN ledger_account a ON a.id = p.account_id
            WHERE p.tenant_id = %s AND a.role = 'deferred_revenue'""",
            [date_from, date_from, date_to, date_to, tenant_id],
        )
        return cur.fetchone()


def task_targets() -> dict:
    """The class packs (package id, centre id) and the redeemed service, for the HTTP load generator."""
    fixture = _fixture()
    return {"targets": _redeem_targets(fixture), "service_id": fixture["services"]["yoga"]}


from bench.import_scenario import task_import  # noqa: E402 - scenario 6 lives in a module of its own

__all__ = ["task_import"]
