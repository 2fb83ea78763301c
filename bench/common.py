"""What the benchmark processes share: where things are, how a child process is started, statistics."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HOT_CONCURRENCY = 50
CLIENTS = 8  # worker processes, pgbench clients and HTTP clients alike


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict:
    """p50 / p99 / max in milliseconds."""
    if not seconds:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
    }


def child_env(database_url: str | None, data_dir: Path) -> dict:
    """Environment of a process that runs Punchcard against one benchmark database.

    database_url None means the embedded SQLite database under `data_dir` (the settings' own default,
    with its IMMEDIATE transactions and WAL), exactly as `make run` uses it.
    """
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("PUNCHCARD_NOW", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    env["PUNCHCARD_DATA"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "punchcard.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH")]))
    env.setdefault("PUNCHCARD_LOG_LEVEL", "ERROR")
    return env


def run_child(task: str, params: dict, env: dict, *, timeout: float = 3600) -> dict:
    """Run `bench.child` TASK in a fresh interpreter; it answers one JSON document on stdout's last line."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.child", task, json.dumps(params)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench task {task!r} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"bench task {task!r} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    result = json.loads(lines[-1])
    result.setdefault("_seconds", round(time.perf_counter() - started, 2))
    return result


def popen(cmd: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT)


def punchcard_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "punchcard.cli.main", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
