"""Punchcard benchmarks: `make bench` (full sizes) or `make bench-quick` (same code paths, small sizes).

Every headline is a ratio to a reference measured in the same run on the same machine (pgbench for the
database, the server's cheapest authenticated GET for HTTP), because the absolute figures move with
whatever else the machine is doing. Scratch databases are created and dropped by the run; the results go
to bench/results/latest.json and a table on the terminal. See bench/README.md.

    .venv/bin/python bench/run.py [--quick | --tiny] [--databases postgresql,sqlite] [--out FILE] [--keep]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "src")]

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import CLIENTS, HOT_CONCURRENCY, RESULTS, ROOT, child_env, popen, punchcard_cmd, run_child  # noqa: E402
from bench.web import WORKER_MODELS, http_scenario, model_name, scale_out_scenario  # noqa: E402

SIZES = {
    "full": dict(
        redeem_packages=10_000,
        seconds=15.0,
        pgbench_scale=10,
        http_requests=3000,
        sweep_packages=1_000_000,
        reads_samples=1000,
        sqlite_packages=500,
        profile_redemptions=500,
        reconcile=False,
        sweep_again=True,
        import_rows=100_000,
    ),
    "quick": dict(
        redeem_packages=1_000,
        seconds=3.0,
        pgbench_scale=1,
        http_requests=200,
        sweep_packages=20_000,
        reads_samples=200,
        sqlite_packages=60,
        profile_redemptions=40,
        reconcile=False,
        sweep_again=False,
        import_rows=2_000,
    ),
    "tiny": dict(
        redeem_packages=200,
        seconds=1.5,
        pgbench_scale=1,
        http_requests=60,
        sweep_packages=2_000,
        reads_samples=40,
        sqlite_packages=20,
        profile_redemptions=20,
        reconcile=True,
        sweep_again=True,
        import_rows=300,
    ),
}

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/punchcard_bench"

# figure → (target, predicate, judged only at the full sizes); figures without an entry have no target
TARGETS = {
    "redeem_vs_pgbench": ("≥ 0.5", lambda v: v >= 0.5, False),
    "statements_per_redemption": ("≤ 3 after BEGIN", lambda v: v <= 3, False),
    "http_redeem_vs_get": ("≥ 0.5", lambda v: v >= 0.5, False),
    "http_redeem_p99_ms": ("≤ 25 ms", lambda v: v <= 25, False),
    "sell_8_processes_vs_1": ("≥ 1.6", lambda v: v >= 1.6, False),
    "sell_p99_ms": ("≤ 100 ms at 8", lambda v: v <= 100, False),
    "sweep_seconds": ("≤ 60 s at 1M", lambda v: v <= 60, True),
    "sweep_peak_rss_mb": ("≤ 300 MB at 1M", lambda v: v <= 300, True),
    "sweep_rss_growth": ("flat (≤ 1.25×)", lambda v: v <= 1.25, False),
    "patient_packages_p99_ms": ("≤ 5 ms at 1M", lambda v: v <= 5, True),
    "liability_quarter_s": ("≤ 0.2 s at 1M", lambda v: v <= 0.2, True),
    "import_100k_rows_s": ("≤ 600 s (minutes, not hours)", lambda v: v <= 600, True),
}

console = Console(highlight=False)


def log(message: str) -> None:
    console.log(message)


# ---------------------------------------------------------------- databases


class Postgres:
    def __init__(self, url: str):
        self.url = url
        parts = urlsplit(url)
        self.name = parts.path.lstrip("/") or "punchcard_bench"
        self.pgbench_name = f"{self.name}_pgbench"
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 5432
        self.user, self.password = parts.username, parts.password

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def recreate(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}"')

    def drop(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]

    def pgbench_args(self, name: str) -> list[str]:
        args = ["-h", self.host, "-p", str(self.port)]
        if self.user:
            args += ["-U", self.user]
        return args + [name]

    def pgbench_env(self) -> dict:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _wait(proc: subprocess.Popen, what: str, log_path: Path) -> None:
    if proc.wait() != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{log_path.read_text()[-3000:]}")


# ---------------------------------------------------------------- measurements


def pgbench(pg: Postgres, *, clients: int, seconds: float) -> dict:
    exe = shutil.which("pgbench") or "/usr/bin/pgbench"
    threads = max(1, min(clients, os.cpu_count() or 1))
    cmd = [
        exe,
        "-n",
        "-c",
        str(clients),
        "-j",
        str(threads),
        "-T",
        str(max(1, round(seconds))),
        *pg.pgbench_args(pg.pgbench_name),
    ]
    proc = subprocess.run(cmd, env=pg.pgbench_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench failed: {proc.stderr[-2000:]}")
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", proc.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", proc.stdout)
    return {
        "tps": round(float(tps.group(1)), 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "clients": clients,
        "threads": threads,
        "seconds": max(1, round(seconds)),
    }


def timed_command(cmd: list[str], env: dict, log_path: Path) -> dict:
    """Run a command; wall time and the peak RSS of that process alone (os.wait4's rusage)."""
    started = time.perf_counter()
    with log_path.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    output = log_path.read_text()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed (exit {proc.returncode}):\n{output[-3000:]}")
    return {"seconds": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "output": output.strip()}


# ---------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, same code paths (under a minute)")
    parser.add_argument("--tiny", action="store_true", help="smallest sizes (the smoke test)")
    parser.add_argument("--databases", default="postgresql,sqlite", help="postgresql,sqlite (default both)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("PUNCHCARD_BENCH_POSTGRES", DEFAULT_PG),
        help=f"scratch PostgreSQL database, dropped and recreated (default {DEFAULT_PG})",
    )
    parser.add_argument("--out", default=str(RESULTS / "latest.json"), help="where to write the results")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases afterwards")
    parser.add_argument("--sweep-packages", type=int, help="override the nightly-sweep data size")
    parser.add_argument(
        "--worker-models", action="store_true", help="also measure HTTP for each gunicorn worker model (sync/gthread)"
    )
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    sizes = dict(SIZES[mode])
    if args.sweep_packages:
        sizes["sweep_packages"] = args.sweep_packages
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    started = time.perf_counter()
    today = dt.date.today()
    work = Path(tempfile.mkdtemp(prefix="punchcard-bench-"))
    pg = Postgres(args.postgres) if "postgresql" in databases else None
    figures: dict[str, float] = {}
    checks: dict[str, bool] = {}
    details: dict[str, dict] = {}
    versions = {}
    console.rule(f"Punchcard benchmarks ({mode})")
    try:
        # ---- scratch databases, migrations, pgbench's tables: all at once
        jobs = []
        if pg:
            versions["postgresql"] = pg.version()
            pg.recreate(pg.name)
            pg.recreate(pg.pgbench_name)
            pg_env = child_env(pg.url, work / "pg-data")
            jobs.append(
                (
                    "migrate postgresql",
                    popen(punchcard_cmd("migrate", "-v0"), pg_env, work / "migrate-pg.log"),
                    work / "migrate-pg.log",
                )
            )
            exe = shutil.which("pgbench") or "/usr/bin/pgbench"
            jobs.append(
                (
                    "pgbench -i",
                    popen(
                        [exe, "-i", "-q", "-s", str(sizes["pgbench_scale"]), *pg.pgbench_args(pg.pgbench_name)],
                        pg.pgbench_env(),
                        work / "pgbench-init.log",
                    ),
                    work / "pgbench-init.log",
                )
            )
        if "sqlite" in databases:
            versions["sqlite"] = sqlite3.sqlite_version
            sqlite_env = child_env(None, work / "sqlite-data")
            jobs.append(
                (
                    "migrate sqlite",
                    popen(punchcard_cmd("migrate", "-v0"), sqlite_env, work / "migrate-sqlite.log"),
                    work / "migrate-sqlite.log",
                )
            )
        log("scratch databases: migrating" + (f", pgbench scale {sizes['pgbench_scale']}" if pg else ""))
        for what, proc, path in jobs:
            _wait(proc, what, path)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            pending = {}
            if pg:
                pending["postgresql"] = pool.submit(
                    run_child,
                    "setup",
                    {
                        "redeem_packages": sizes["redeem_packages"],
                        "today": today.isoformat(),
                        "mixed_packages": max(1, sizes["sweep_packages"] // 10),
                    },
                    pg_env,
                )
            if "sqlite" in databases:
                pending["sqlite"] = pool.submit(
                    run_child,
                    "setup",
                    {"redeem_packages": sizes["sqlite_packages"], "today": today.isoformat()},
                    sqlite_env,
                )
            setups = {k: f.result() for k, f in pending.items()}
        for vendor, setup in setups.items():
            details[f"setup_{vendor}"] = {"redeem_set": setup["redeem_set"], "seconds": setup["seconds"]}
            log(
                f"{vendor}: clinic chain and {setup['redeem_set']['packages']:,} class packs ready "
                f"({setup['seconds']} s)"
            )
        sweep_cmd = punchcard_cmd("expire", "--as-of", today.isoformat(), "--tenant", "bench")
        sweeps = {}

        def sweep(label: str, generated: dict) -> None:
            """Scenario 4: `punchcard expire` as an operator runs it; wall time and its own peak RSS."""
            due = generated.pop("before_sweep")
            details[f"generate_{label}"] = generated
            log(
                f"generated {generated['packages']:,} packages for the sweep ({generated['seconds']} s, "
                f"{generated['ledger_entries_per_package']} ledger entries each); {due['due']:,} due of "
                f"{due['packages']:,}, {due['pending_holds']:,} pending holds"
            )
            run = timed_command(sweep_cmd, pg_env, work / f"sweep-{label}.log")
            expired = int(re.search(r"Expired (\d+) package", run["output"]).group(1))
            sweeps[label] = {**run, "expired": expired, "due": due["due"], "packages": due["packages"]}
            checks[f"sweep_{label}_expired_every_due_package"] = expired == due["due"]
            log(
                f"sweep ({label}): expired {expired:,} of {due['due']:,} due in {run['seconds']} s, "
                f"peak RSS {run['peak_rss_mb']} MB"
            )

        if pg:  # the small size first (data made by the setup), for the memory comparison
            sweep("small", setups["postgresql"]["mixed"])

        # ---- 1 and 3. statements per redemption, profile, throughput against pgbench, the hot package
        background = concurrent.futures.ThreadPoolExecutor(1)
        large_data = None
        for vendor, env in (
            ("postgresql", pg_env if pg else None),
            ("sqlite", sqlite_env if "sqlite" in databases else None),
        ):
            if env is None:
                continue
            if vendor == "sqlite" and pg and mode != "full":
                # Short runs make the sweep's big data set on PostgreSQL meanwhile: SQLite's figures are
                # informational (no targets), and the full run measures them alone.
                large_data = background.submit(
                    run_child,
                    "generate",
                    {"today": today.isoformat(), "packages": sizes["sweep_packages"], "salt": 3, "tag": "l"},
                    pg_env,
                )
                details["sqlite_measured_alongside_data_generation"] = True
            suffix = "" if vendor == "postgresql" else "_sqlite"
            if vendor == "postgresql":
                reference = pgbench(pg, clients=CLIENTS, seconds=sizes["seconds"])
                details["pgbench"] = reference
                log(f"pgbench tpcb-like, {CLIENTS} clients, scale {sizes['pgbench_scale']}: {reference['tps']:.0f} tps")
            core = run_child(
                "core",
                {
                    "workers": CLIENTS,
                    "seconds": sizes["seconds"],
                    "hot_concurrency": HOT_CONCURRENCY,
                    "profile_redemptions": sizes["profile_redemptions"] if vendor == "postgresql" else 0,
                    "compare_orm": vendor == "postgresql",
                },
                env,
            )
            statements, redeem, hot = core["statements"], core["redeem"], core["hot"]
            details.update({f"statements_{vendor}": statements, f"redeem_{vendor}": redeem, f"hot_{vendor}": hot})
            figures[f"statements_per_redemption{suffix}"] = statements["statements"]
            figures[f"statements_per_redemption_fresh_tenant{suffix}"] = statements["statements_fresh_tenant"]
            figures[f"statements_per_redemption_orm_path{suffix}"] = statements["statements_orm_path"]
            if "profile" in statements:
                figures["redeem_client_cpu_ms"] = statements["profile"]["single_client"]["client_cpu_ms"]
                figures["redeem_single_client_ms"] = statements["profile"]["single_client"]["wall_ms"]
            figures.update(
                {
                    f"redeem_tps{suffix}": redeem["tps"],
                    f"redeem_p50_ms{suffix}": redeem["p50_ms"],
                    f"redeem_p99_ms{suffix}": redeem["p99_ms"],
                    f"redeem_workers_cpu_share{suffix}": redeem["client_cpu_share_of_machine"],
                }
            )
            if vendor == "postgresql":
                orm = core["redeem_orm_path"]
                details["redeem_orm_path_postgresql"] = orm
                figures.update(
                    pgbench_tps=reference["tps"],
                    redeem_vs_pgbench=round(redeem["tps"] / reference["tps"], 3),
                    redeem_orm_path_tps=orm["tps"],
                    redeem_orm_path_vs_pgbench=round(orm["tps"] / reference["tps"], 3),
                    redeem_client_cpu_ms_per_redemption=redeem["client_cpu_ms_per_redemption"],
                    redeem_orm_path_client_cpu_ms_per_redemption=orm["client_cpu_ms_per_redemption"],
                )
            figures[f"hot_package_settle_ms{suffix}"] = hot["settle_ms"]
            checks[f"hot_package_exact_{vendor}"] = hot["exact"]
            checks[f"redemptions_without_errors_{vendor}"] = redeem["failed"] == 0 and redeem["redemptions"] > 0
            log(f"{vendor}: {statements['statements']} statements per redemption ({', '.join(statements['kinds'])})")
            log(
                f"{vendor}: {redeem['tps']} redemptions/s with {CLIENTS} processes over {redeem['packages']:,} "
                f"packages (p50 {redeem['p50_ms']} ms, p99 {redeem['p99_ms']} ms; {redeem['refused']} refused, "
                f"{redeem['failed']} failed)"
            )
            log(
                f"{vendor}: hot package, {HOT_CONCURRENCY} at once for 3 sessions: {hot['successes']} succeeded, "
                f"{hot['refusals']} refused {hot['refusal_codes']}, settled in {hot['settle_ms']} ms"
            )

        # ---- 2. HTTP
        if large_data is not None:
            large_data.result()  # nothing else may run on the machine while HTTP is measured
        for vendor, env in (
            ("postgresql", pg_env if pg else None),
            ("sqlite", sqlite_env if "sqlite" in databases else None),
        ):
            if env is None or (vendor == "sqlite" and mode != "full" and pg):
                continue  # SQLite's HTTP figures only in the full run (time)
            setup = setups[vendor]
            http = http_scenario(
                env,
                work,
                token=setup["fixture"]["api_key"],
                targets=setup["targets"],
                service_id=setup["service_id"],
                requests=sizes["http_requests"],
                tag=vendor,
            )
            details[f"http_{vendor}"] = http
            suffix = "" if vendor == "postgresql" else "_sqlite"
            figures[f"http_redeem_rps{suffix}"] = http["redeem"]["rps"]
            figures[f"http_redeem_p99_ms{suffix}"] = http["redeem"]["p99_ms"]
            figures[f"http_get_rps{suffix}"] = http["get"]["rps"]
            figures[f"http_get_p99_ms{suffix}"] = http["get"]["p99_ms"]
            figures[f"http_redeem_vs_get{suffix}"] = round(http["redeem"]["rps"] / http["get"]["rps"], 3)
            figures[f"http_redeem_idempotent_rps{suffix}"] = http["redeem_with_idempotency_key"]["rps"]
            log(
                f"{vendor} HTTP: redeem {http['redeem']['rps']} req/s p99 {http['redeem']['p99_ms']} ms; "
                f"GET /me {http['get']['rps']} req/s p99 {http['get']['p99_ms']} ms"
            )
            if vendor == "postgresql" and args.worker_models:
                # The same scenario for each gunicorn worker model: which default serves best here.
                models = {}
                for model in WORKER_MODELS[1:]:
                    other = http_scenario(
                        env,
                        work,
                        token=setup["fixture"]["api_key"],
                        targets=setup["targets"],
                        service_id=setup["service_id"],
                        requests=sizes["http_requests"],
                        tag=f"{vendor}-{model_name(model)}",
                        model=model,
                    )
                    models[model_name(model)] = other
                    figures[f"http_redeem_rps_{model_name(model)}"] = other["redeem"]["rps"]
                    figures[f"http_redeem_p99_ms_{model_name(model)}"] = other["redeem"]["p99_ms"]
                    figures[f"http_redeem_vs_get_{model_name(model)}"] = round(
                        other["redeem"]["rps"] / other["get"]["rps"], 3
                    )
                    redeemed = other["redeem"]
                    log(f"HTTP {model_name(model)}: redeem {redeemed['rps']} req/s p99 {redeemed['p99_ms']} ms")
                details["http_worker_models"] = models
            if vendor == "postgresql":
                scale = scale_out_scenario(
                    env,
                    work,
                    token=setup["fixture"]["api_key"],
                    targets=setup["targets"],
                    service_id=setup["service_id"],
                    requests=sizes["http_requests"],
                )
                details["scale_out"] = scale
                figures["scale_out_redeem_rps"] = scale["redeem"]["rps"]
                figures["scale_out_redeem_p99_ms"] = scale["redeem"]["p99_ms"]
                figures["scale_out_vs_one_server"] = round(scale["redeem"]["rps"] / http["redeem"]["rps"], 3)
                checks["scale_out_hot_package_exact"] = scale["hot"]["exact"]
                checks["scale_out_reconcile"] = scale["reconcile_ok"]
                log(
                    f"two servers: redeem {scale['redeem']['rps']} req/s p99 {scale['redeem']['p99_ms']} ms; "
                    f"hot package over HTTP {scale['hot']['statuses']}; reconcile ok: {scale['reconcile_ok']}"
                )

        # ---- 6. sales from 1 and 8 processes for one tenant (one order counter)
        if pg:
            sales = run_child("sales", {"seconds": sizes["seconds"]}, pg_env)
            details["sales"] = sales
            one, eight = sales["one"], sales["eight"]
            figures.update(
                sell_sps_1=one["sps"],
                sell_sps_8=eight["sps"],
                sell_8_processes_vs_1=round(eight["sps"] / one["sps"], 3),
                sell_p99_ms=eight["p99_ms"],
            )
            checks["sales_numbered_without_gaps"] = one["numbers_gap_free"] and eight["numbers_gap_free"]
            checks["sales_without_errors"] = one["failed"] == eight["failed"] == 0 and eight["sales"] > 0
            log(
                f"sales: {one['sps']}/s from 1 process, {eight['sps']}/s from 8 (p99 {eight['p99_ms']} ms, "
                f"{eight['failed']} failed); numbers gap-free: {checks['sales_numbered_without_gaps']}"
            )

        # ---- 4. the nightly sweep at two sizes (memory must not grow with the data), then 5. reads
        if pg:
            if large_data is None:
                large_data = background.submit(
                    run_child,
                    "generate",
                    {"today": today.isoformat(), "packages": sizes["sweep_packages"], "salt": 3, "tag": "l"},
                    pg_env,
                )
            sweep("large", large_data.result())
            if sizes["sweep_again"]:
                again = timed_command(sweep_cmd, pg_env, work / "sweep-again.log")
                sweeps["again"] = again
                checks["sweep_idempotent"] = "Expired 0 package" in again["output"]
                figures["sweep_noop_seconds"] = again["seconds"]
            details["sweep"] = sweeps
            large, small = sweeps["large"], sweeps["small"]
            figures.update(
                sweep_seconds=large["seconds"],
                sweep_peak_rss_mb=large["peak_rss_mb"],
                sweep_expired=large["expired"],
                sweep_packages_in_database=large["packages"],
                sweep_small_seconds=small["seconds"],
                sweep_small_peak_rss_mb=small["peak_rss_mb"],
                sweep_rss_growth=round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
                sweep_packages_per_second=round(large["expired"] / large["seconds"], 1),
            )
            if sizes["reconcile"]:
                rec = subprocess.run(
                    punchcard_cmd("reconcile", "--tenant", "bench"),
                    env=pg_env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                checks["reconcile_after_sweep"] = rec.returncode == 0
                log(
                    "reconcile after the sweep: "
                    + ("all checks passed" if rec.returncode == 0 else rec.stdout[-1500:] + rec.stderr[-1500:])
                )
            reads = run_child("reads", {"today": today.isoformat(), "samples": sizes["reads_samples"]}, pg_env)
            details["reads"] = reads
            checks["sweep_left_nothing_due"] = reads["sweep_check"]["ok"]
            figures.update(
                patient_packages_p50_ms=reads["patient_packages"]["p50_ms"],
                patient_packages_p99_ms=reads["patient_packages"]["p99_ms"],
                patient_packages_db_p99_ms=reads["patient_packages"]["db_p99_ms"],
                liability_quarter_s=reads["liability"]["best_s"],
            )
            if "liability_scan" in reads:
                figures.update(
                    liability_quarter_scan_s=reads["liability_scan"]["best_s"],
                    summaries_fold_s=reads["fold"]["seconds"],
                    usage_quarter_s=reads["usage"]["best_s"],
                    sales_quarter_s=reads["sales"]["best_s"],
                )
                checks["liability_summaries_equal_the_scan"] = reads["liability"]["equals_scan"]
            if "expiry" in reads:
                figures["expiry_report_30d_s"] = reads["expiry"]["best_s"]
            log(
                f"reads: patient's packages p99 {reads['patient_packages']['p99_ms']} ms, liability quarter "
                f"{reads['liability']['best_s']} s, expiry 30 days {reads.get('expiry', {}).get('best_s')} s "
                f"({reads['source']})"
            )
        # ---- 6. importing packages from another system: 100,000 rows (quick: 2,000; extrapolated to 100k)
        for vendor, env in (
            ("postgresql", pg_env if pg else None),
            ("sqlite", sqlite_env if "sqlite" in databases else None),
        ):
            if env is None or (vendor == "sqlite" and mode == "full" and pg):
                continue  # the full run measures the production engine; shorter runs both
            suffix = "" if vendor == "postgresql" else "_sqlite"
            imported = run_child("import", {"rows": sizes["import_rows"], "work": str(work)}, env)
            details[f"import_{vendor}"] = imported
            figures[f"import_100k_rows_s{suffix}"] = round(imported["seconds"] * 100_000 / imported["rows"], 1)
            figures[f"import_rows_per_s{suffix}"] = imported["rows_per_s"]
            checks[f"import_rerun_creates_nothing_{vendor}"] = (
                imported["rerun_created"] == 0 and imported["rerun_unchanged"] == imported["created"] > 0
            )
            checks[f"import_reconciled_{vendor}"] = imported["reconciled"]
            log(
                f"{vendor}: imported {imported['created']:,} of {imported['rows']:,} rows in {imported['seconds']} s "
                f"({imported['rows_per_s']} rows/s; {imported['refused']} refused on purpose); the re-run "
                f"created {imported['rerun_created']} in {imported['rerun_seconds']} s"
            )
    finally:
        if pg and not args.keep:
            for name in (pg.name, pg.pgbench_name):
                try:
                    pg.drop(name)
                except Exception as exc:
                    log(f"could not drop {name}: {exc}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    duration = round(time.perf_counter() - started, 1)
    result = {
        "mode": mode,
        "date": today.isoformat(),
        "duration_s": duration,
        "machine": {
            "cores": os.cpu_count(),
            "memory_gb": _memory_gb(),
            "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        },
        "databases": versions,
        "clients": CLIENTS,
        "sizes": {k: v for k, v in sizes.items() if k not in ("reconcile", "profile_redemptions", "sweep_again")},
        "figures": figures,
        "targets": {
            name: {"target": text, "met": bool(ok(figures[name])) if mode == "full" or not full_only else None}
            for name, (text, ok, full_only) in TARGETS.items()
            if figures.get(name) is not None
        },
        "checks": checks,
        "details": details,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    _print_table(result)
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        console.print(f"[bold red]FAILED checks: {', '.join(failed)}[/]")
        return 1
    console.print(f"Results written to {out} in {duration} s.")
    return 0


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _print_table(result: dict) -> None:
    table = Table(
        title=f"Punchcard benchmarks ({result['mode']}, {result['machine']['cores']} cores, "
        + ", ".join(f"{k} {v}" for k, v in result["databases"].items())
        + ")",
        title_justify="left",
    )
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    table.add_column("Target")
    table.add_column("")
    for name, value in result["figures"].items():
        target = result["targets"].get(name)
        status = (
            ""
            if target is None
            else "[dim]full run[/]"
            if target["met"] is None
            else "[green]met[/]"
            if target["met"]
            else "[red]missed[/]"
        )
        table.add_row(
            name,
            f"{value:,}" if isinstance(value, (int, float)) else str(value),
            target["target"] if target else "",
            status,
        )
    for name, ok in result["checks"].items():
        table.add_row(name, "yes" if ok else "NO", "must hold", "[green]ok[/]" if ok else "[red]FAILED[/]")
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
