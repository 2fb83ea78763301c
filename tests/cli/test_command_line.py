"""The real command line: one line on stderr, the exit code, never a traceback; and `punchcard serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections

from punchcard.cli.base import PunchcardCommand
from punchcard.cli.management.commands.serve import gunicorn_argv
from punchcard.cli.management.commands.show import Command as Show

PUNCHCARD = Path(sys.executable).with_name("punchcard")


def _argv_exit(argv, monkeypatch, capsys):
    # run_from_argv closes the connections when it ends; in a test that would spoil the test transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exited:
        Show().run_from_argv(argv)
    return exited.value.code, capsys.readouterr()


@pytest.mark.django_db
def test_run_from_argv_prints_one_line_and_exits(demo, monkeypatch, capsys):
    code, captured = _argv_exit(["punchcard", "show", "P-4040"], monkeypatch, capsys)
    assert code == 2
    assert captured.err == "error [not_found]: no patient with reference or id 'P-4040'\n"


@pytest.mark.django_db
def test_argument_errors_are_one_line_too(demo, monkeypatch, capsys):
    code, captured = _argv_exit(["punchcard", "show"], monkeypatch, capsys)
    assert code == 2
    assert captured.err == (
        "error [invalid]: the following arguments are required: PATIENT (see `punchcard show --help`)\n"
    )


@pytest.mark.django_db
def test_a_bug_is_one_line_without_traceback(demo, monkeypatch, capsys):
    def broken(self, *args, **options):
        raise RuntimeError("boom")

    monkeypatch.setattr(Show, "run", broken)
    code, captured = _argv_exit(["punchcard", "show", "P-1001"], monkeypatch, capsys)
    assert code == 1
    assert captured.err == "error [internal]: RuntimeError: boom (run with --traceback)\n"


def test_serve_runs_gunicorn_like_make_run():
    argv = gunicorn_argv(host="127.0.0.1", port=8765, workers=2)
    assert Path(argv[0]).name == "gunicorn"
    assert argv[1:] == [
        "punchcard.wsgi:application",
        "--bind",
        "127.0.0.1:8765",
        "--workers",
        "2",
        "--access-logfile",
        "-",
    ]
    assert issubclass(Show, PunchcardCommand)
    threaded = gunicorn_argv(host="127.0.0.1", port=8765, workers=2, threads=4)
    assert threaded[6:10] == ["--worker-class", "gthread", "--threads", "4"]


@pytest.mark.skipif(not PUNCHCARD.exists(), reason="the punchcard console script is not installed")
def test_the_console_script_end_to_end(tmp_path):
    """migrate, demo, then refusals from a real process: exit codes and exactly one stderr line each."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PUNCHCARD_DEMO_API_KEY")}
    env.update(PUNCHCARD_DATA=str(tmp_path), PUNCHCARD_NOW="2026-05-20T06:30:00+00:00")

    def punchcard(*args):
        return subprocess.run([str(PUNCHCARD), *args], env=env, capture_output=True, text=True, timeout=120)

    assert punchcard("migrate", "--verbosity", "0").returncode == 0
    demo = punchcard("demo", "--if-empty")
    assert demo.returncode == 0, demo.stderr
    assert "Demo manager API key: pc_" in demo.stdout

    shown = punchcard("show", "P-1001")
    assert shown.returncode == 0 and "Physiotherapy 4 of 10 used" in shown.stdout

    sold = punchcard("sell", "P-1013", "facials-6", "--method", "bank_transfer", "--reference", "NEFT 42")
    assert sold.returncode == 0, sold.stderr
    package_id = sold.stdout.split("package ")[1].split(",")[0]
    over = punchcard("redeem", package_id, "facial", "--sessions", "7")
    assert over.returncode == 1
    assert over.stderr == "error [insufficient_sessions]: 7 session(s) asked, 6 available\n"
    missing = punchcard("sell", "P-0000", "facials-6")
    assert (missing.returncode, missing.stderr) == (2, "error [not_found]: no patient with reference or id 'P-0000'\n")
