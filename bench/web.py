"""The HTTP scenarios: gunicorn serving the app with a chosen worker model, the load generator against
it, and the scale-out run (two servers and a job worker on one PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import loadgen
from bench.common import CLIENTS, HOT_CONCURRENCY, ROOT, free_port, popen, punchcard_cmd, run_child

# gunicorn worker models compared by the HTTP scenario: (class, workers, threads); the first is the default
# `punchcard serve` runs (see bench/README.md for why).
SERVE_MODEL = ("sync", 2, 1)
WORKER_MODELS = [("sync", 2, 1), ("sync", 3, 1), ("sync", 4, 1), ("gthread", 2, 4), ("gthread", 3, 2)]


def model_name(model) -> str:
    kind, workers, threads = model
    return f"{kind}_{workers}" if kind == "sync" else f"{kind}_{workers}x{threads}"


def serve(env: dict, work: Path, tag: str, model=SERVE_MODEL) -> tuple[subprocess.Popen, int, Path]:
    """gunicorn serving the app, as `punchcard serve` does, with the given worker model."""
    kind, workers, threads = model
    port = free_port()
    log_path = work / f"gunicorn-{tag}-{port}.log"
    cmd = [sys.executable, "-m", "gunicorn", "punchcard.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(workers), "--worker-class", kind, "--threads", str(threads), "--access-logfile", "-"]
    return popen(cmd, env, log_path), port, log_path


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def http_scenario(
    env: dict, work: Path, *, token: str, targets, service_id: int, requests: int, tag: str, model=SERVE_MODEL
) -> dict:
    """The redemption endpoint and GET /me, served by gunicorn as `make run` serves it."""
    server, port, log_path = serve(env, work, tag, model)
    try:
        loadgen.wait_until_up("127.0.0.1", port, "/api/v1/me", token)
        warm = loadgen.run(
            host="127.0.0.1", port=port, clients=CLIENTS, total=CLIENTS * 4, request=loadgen.get("/api/v1/me", token)
        )
        if warm.ok == 0:
            raise RuntimeError(f"GET /api/v1/me never succeeded: {warm.summary()}")
        get = loadgen.run(
            host="127.0.0.1", port=port, clients=CLIENTS, total=requests, request=loadgen.get("/api/v1/me", token)
        )
        redeem = loadgen.run(
            host="127.0.0.1",
            port=port,
            clients=CLIENTS,
            total=requests,
            request=loadgen.redeem(targets, service_id, token),
        )
        keyed = loadgen.run(
            host="127.0.0.1",
            port=port,
            clients=CLIENTS,
            total=max(CLIENTS, requests // 3),
            request=loadgen.redeem(targets, service_id, token, idempotent=True, salt=f"{tag}-{port}"),
        )
    finally:
        stop(server)
    out = {
        "model": model_name(model),
        "get": get.summary(),
        "redeem": redeem.summary(),
        "redeem_with_idempotency_key": keyed.summary(),
    }
    if redeem.ok == 0 or get.ok == 0:
        raise RuntimeError(f"HTTP scenario failed: {json.dumps(out)[:2000]}\n{log_path.read_text()[-2000:]}")
    return out


def scale_out_scenario(env: dict, work: Path, *, token: str, targets, service_id: int, requests: int) -> dict:
    """Scenario 7: two web servers (separate gunicorn instances on two ports) and a job worker on one
    PostgreSQL; the load generator spreads its clients over both. Then the hot package raced over HTTP
    through both servers (exactly 3 of 50 may succeed) and `punchcard reconcile`."""
    servers = [serve(env, work, f"scale-{i}") for i in range(2)]
    worker = popen(punchcard_cmd("worker", "--verbosity", "0"), env, work / "scale-worker.log")
    try:
        ports = [port for _, port, _ in servers]
        for port in ports:
            loadgen.wait_until_up("127.0.0.1", port, "/api/v1/me", token)
        loadgen.run(
            host="127.0.0.1", port=ports, clients=CLIENTS, total=CLIENTS * 4, request=loadgen.get("/api/v1/me", token)
        )
        redeem = loadgen.run(
            host="127.0.0.1",
            port=ports,
            clients=CLIENTS,
            total=requests,
            request=loadgen.redeem(targets, service_id, token),
        )
        hot = run_child("hot_package", {}, env)
        race = loadgen.run(
            host="127.0.0.1",
            port=ports,
            clients=HOT_CONCURRENCY,
            total=HOT_CONCURRENCY,
            request=loadgen.redeem_one(hot["package_id"], hot["centre_id"], hot["service_id"], token),
        )
    finally:
        for proc, _, _ in servers:
            stop(proc)
        stop(worker)
    rec = subprocess.run(
        punchcard_cmd("reconcile", "--tenant", "bench"), env=env, cwd=ROOT, capture_output=True, text=True
    )
    statuses = race.summary()["statuses"]
    return {
        "servers": 2,
        "redeem": redeem.summary(),
        "hot": {"statuses": statuses, "exact": statuses == {"201": 3, "409": HOT_CONCURRENCY - 3}},
        "reconcile_ok": rec.returncode == 0,
        "reconcile_output": (rec.stdout + rec.stderr)[-1500:],
    }
