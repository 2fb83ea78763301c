"""Deliveries under real workers: a worker killed mid-delivery loses nothing (exactly one more delivery
of that event), and two workers never send the same attempt twice."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from punchcard import clock
from punchcard.notifications import delivery
from punchcard.notifications.models import Attempt, Delivery

from ..scenario import assert_reconciled
from .test_webhooks import register

pytestmark = pytest.mark.django_db(transaction=True)
SRC = Path(__file__).resolve().parents[2] / "src"


def worker_env(**extra) -> dict:
    """The environment for a `punchcard worker` process on this test run's database."""
    db = connection.settings_dict
    env = {**os.environ, "PYTHONPATH": str(SRC), **extra}
    if connection.vendor == "sqlite":
        env["PUNCHCARD_SQLITE_PATH"] = str(db["NAME"])
        env.pop("DATABASE_URL", None)
    else:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        env["DATABASE_URL"] = f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return env


def test_a_worker_killed_mid_delivery_leads_to_exactly_one_more_delivery(clinic, data, admin, receiver):
    clinic.tenant.sandbox = True  # the receiver is on loopback
    clinic.tenant.save(update_fields=["sandbox"])
    hook = receiver("hang", hang_seconds=2.0)
    endpoint = register(admin, hook.url)
    clinic.redeem(data["package"], "physio")
    worker = subprocess.Popen(
        [sys.executable, "-m", "punchcard.cli.main", "worker", "--batch", "--interval", "0"],
        env=worker_env(PUNCHCARD_WEBHOOK_TIMEOUT="5"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert len(hook.wait_for(1, timeout=30)) == 1, worker.stderr.read() if worker.poll() is not None else ""
        worker.send_signal(signal.SIGKILL)  # between sending and recording
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    d = Delivery.objects.get()
    assert d.state == "pending" and d.lease_until is not None  # sent, never recorded
    assert not Attempt.objects.exists()

    clock.set_now(clock.wall() + dt.timedelta(seconds=1))
    assert delivery.deliver_due() == 0  # its lease still runs: nobody else sends it meanwhile
    clock.set_now(d.lease_until + dt.timedelta(seconds=1))  # the lease ran out: another worker takes it
    assert delivery.deliver_due() == 1
    assert delivery.deliver_due() == 0
    d.refresh_from_db()
    assert d.state == "delivered"
    ids = [r.verify(endpoint["secret"])["id"] for r in hook.requests]
    assert ids == [d.event.event_id] * 2  # exactly one more delivery of the event, none lost
    assert_reconciled(clinic.tenant)


def test_two_workers_never_deliver_the_same_attempt_twice(clinic, data, admin, receiver, run_concurrently, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hooks = [receiver("hang", "hang", hang_seconds=0.2, then=200) for _ in range(3)]
    for hook in hooks:
        register(admin, hook.url)
    for _ in range(2):
        clinic.redeem(data["package"], "physio")
    outcomes = run_concurrently(delivery.deliver_due, delivery.deliver_due, delivery.deliver_due)
    assert all(isinstance(n, int) for n in outcomes), outcomes
    assert sum(outcomes) == 6
    sent = [(i, r.headers["webhook-id"]) for i, hook in enumerate(hooks) for r in hook.requests]
    assert len(sent) == 6 and len(set(sent)) == 6
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    assert Attempt.objects.count() == 6


def test_the_worker_schedules_the_quick_retry_itself(clinic, data, admin, receiver, settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook = receiver(500)
    register(admin, hook.url)
    clinic.redeem(data["package"], "physio")
    call_command("worker", batch=True, interval="0", verbosity=0)
    assert len(hook.requests) == 1
    follow_up = DBTaskResult.objects.filter(task_path__endswith="deliver_webhooks", status="READY").get()
    wait = (follow_up.run_after - clock.wall()).total_seconds()
    assert 3 < wait <= 5  # the 5 s retry runs without waiting for the minute's tick
