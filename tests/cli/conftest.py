"""Fixtures for the CLI tests: the demo clinic at a fixed instant, and a runner for commands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from punchcard import clock
from punchcard.cli.base import CliError
from punchcard.cli.demo import KOLKATA, build_demo

# 20 May 2026, noon in Mumbai: the demo's history runs back to mid-January 2026 (Republic Day included).
NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=KOLKATA)


@dataclass
class Result:
    code: int
    out: str
    err: str
    exc: CliError | None = None

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run(*args: str, **options) -> Result:
    """`punchcard ARGS...` in-process: exit code 0, or the CliError's returncode; stdout and stderr."""
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err, **options)
    except CliError as exc:
        return Result(exc.returncode, out.getvalue(), err.getvalue(), exc)
    return Result(0, out.getvalue(), err.getvalue())


@pytest.fixture
def frozen():
    clock.set_now(NOW)
    yield NOW
    clock.set_now(None)


@pytest.fixture(scope="module")
def shared_demo(django_db_setup, django_db_blocker):
    """The demo clinic, built once per test module inside a transaction rolled back at the module's end.

    Each test still runs in its own savepoint (pytest-django's `db`), so what one test writes is gone
    before the next; only the demo itself is shared. A module using it must not expect an empty database.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        clock.set_now(NOW)
        try:
            yield build_demo(NOW)
        finally:
            clock.set_now(None)
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def demo(shared_demo, db, frozen):
    return shared_demo
