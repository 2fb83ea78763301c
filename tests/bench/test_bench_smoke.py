"""The benchmarks at their smallest size (`bench/run.py --tiny`), so their code cannot rot unnoticed.

Runs in the PostgreSQL pass of `make test` (the benchmarks need a PostgreSQL server and pgbench), in scratch
databases of its own on the same server; the figures themselves are not judged, only that every one of them
was measured and that what must hold did: exactly 3 of 50 concurrent redemptions of a 3-session package
succeed, the sweep expires every due package, once, and the books reconcile afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = [
    "statements_per_redemption",
    "statements_per_redemption_fresh_tenant",
    "redeem_client_cpu_ms",
    "redeem_tps",
    "redeem_p50_ms",
    "redeem_p99_ms",
    "pgbench_tps",
    "redeem_vs_pgbench",
    "redeem_orm_path_vs_pgbench",
    "hot_package_settle_ms",
    "statements_per_redemption_sqlite",
    "redeem_tps_sqlite",
    "redeem_p99_ms_sqlite",
    "hot_package_settle_ms_sqlite",
    "http_redeem_rps",
    "http_redeem_p99_ms",
    "http_get_rps",
    "http_get_p99_ms",
    "http_redeem_vs_get",
    "http_redeem_idempotent_rps",
    "scale_out_redeem_rps",
    "scale_out_vs_one_server",
    "sell_sps_1",
    "sell_sps_8",
    "sell_8_processes_vs_1",
    "sell_p99_ms",
    "sweep_seconds",
    "sweep_peak_rss_mb",
    "sweep_expired",
    "sweep_small_seconds",
    "sweep_small_peak_rss_mb",
    "sweep_rss_growth",
    "sweep_noop_seconds",
    "patient_packages_p50_ms",
    "patient_packages_p99_ms",
    "liability_quarter_s",
    "expiry_report_30d_s",
]
CHECKS = [
    "scale_out_hot_package_exact",
    "scale_out_reconcile",
    "sales_numbered_without_gaps",
    "sales_without_errors",
    "hot_package_exact_postgresql",
    "hot_package_exact_sqlite",
    "redemptions_without_errors_postgresql",
    "redemptions_without_errors_sqlite",
    "sweep_small_expired_every_due_package",
    "sweep_large_expired_every_due_package",
    "sweep_idempotent",
    "sweep_left_nothing_due",
    "reconcile_after_sweep",
]


def _scratch_url() -> str:
    """A database of its own on the server the PostgreSQL test run uses."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    netloc = f"{db.get('USER') or 'postgres'}"
    if db.get("PASSWORD"):
        netloc += f":{db['PASSWORD']}"
    netloc += f"@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return urlunsplit(urlsplit(f"postgresql://{netloc}/")._replace(path=f"/punchcard_bench_smoke_{os.getpid()}"))


@pytest.mark.postgres
def test_the_benchmarks_measure_every_figure_and_what_must_hold_holds(tmp_path):
    if not (shutil.which("pgbench") or Path("/usr/bin/pgbench").exists()):
        pytest.skip("pgbench is not installed")
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--tiny", "--out", str(out), "--postgres", _scratch_url()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PUNCHCARD_NOW")},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text())

    assert result["mode"] == "tiny"
    assert result["machine"]["cores"] >= 1
    assert set(result["databases"]) == {"postgresql", "sqlite"}
    missing = [name for name in FIGURES if not isinstance(result["figures"].get(name), (int, float))]
    assert not missing, f"figures not measured: {missing}"
    not_positive = {name: result["figures"][name] for name in FIGURES if not result["figures"][name] > 0}
    assert not not_positive, f"figures that should be positive: {not_positive}"
    failed = [name for name in CHECKS if result["checks"].get(name) is not True]
    assert not failed, f"checks that did not hold: {failed}"
    for vendor in ("postgresql", "sqlite"):
        hot = result["details"][f"hot_{vendor}"]
        assert (hot["successes"], hot["refusals"], hot["refusal_codes"]) == (3, 47, ["insufficient_sessions"])
    sweep = result["details"]["sweep"]["large"]
    assert sweep["expired"] == sweep["due"] > 0
