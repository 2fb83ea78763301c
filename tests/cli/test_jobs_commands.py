"""`punchcard tick`, `jobs`, `worker`, `reminders`, and `serve`'s supervisor stopping everything at once."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command

from punchcard.cli.base import CliError
from punchcard.cli.supervisor import supervise

from ..clinic import Clinic


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)  # the worker manages its own connection, like the real one
def test_tick_jobs_and_worker():
    Clinic.open(slug="demo")
    first = run("tick", "--as-of", "2026-03-02T00:10+05:30")
    assert "enqueued expiry-sweep [Asia/Kolkata/2026-03-02]" in first
    assert run("tick", "--as-of", "2026-03-02T00:10+05:30").startswith("0 job(s) enqueued")
    queued = run("jobs")
    assert int(queued.split(" queued")[0]) >= 5 and "expiry_sweep" in queued
    run("worker", "--batch", "--interval", "0", "--verbosity", "0")
    assert run("jobs").startswith("0 queued, 0 running, 0 failed")
    with pytest.raises(CliError):
        run("worker", "--interval", "soon")


@pytest.mark.django_db
def test_reminders_command_shows_and_changes_the_settings():
    Clinic.open(slug="demo")
    assert "expiring soon 14, 3 day(s) before; low balance at 2" in run("reminders")
    changed = run("reminders", "--days", "10,1", "--low-balance", "3", "--email-events", "package.expiring_soon")
    assert "expiring soon 10, 1 day(s) before; low balance at 3 session(s); emails package.expiring_soon" in changed
    with pytest.raises(CliError):
        run("reminders", "--days", "ten")


def test_the_supervisor_stops_every_child_on_sigterm():
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    out = io.StringIO()
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    started = time.monotonic()
    status = supervise([("a", sleeper), ("b", sleeper)], out=out)
    assert status == 0 and time.monotonic() - started < 10
    assert "a stopped" in out.getvalue() and "b stopped" in out.getvalue()


def test_the_supervisor_stops_the_others_when_one_exits():
    out = io.StringIO()
    status = supervise(
        [("web", [sys.executable, "-c", "import time; time.sleep(60)"]), ("bad", [sys.executable, "-c", "exit(3)"])],
        out=out,
    )
    assert status == 3 and "bad exited with status 3" in out.getvalue() and "web stopped" in out.getvalue()


def test_serve_help_names_the_jobs():
    done = subprocess.run(
        [sys.executable, "-m", "punchcard.cli.main", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "worker" in done.stdout and "--no-jobs" in done.stdout
