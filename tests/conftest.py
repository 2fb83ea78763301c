"""Test harness shared by every test.

The suite runs once per database engine: `make test` (scripts/test.sh) runs pytest on SQLite, then
again with DATABASE_URL pointing at PostgreSQL. Within one run `default` is the only database, so
application code needs no routing and `transaction.atomic()` means exactly what it means in
production.

Per run:
- SQLite's test database is a file (not in-memory), so threads get real, separate connections.
- Tests marked `postgres` run only on PostgreSQL, tests marked `sqlite` only on SQLite.
- The PostgreSQL run skips tests that never touch the database: they already ran on SQLite and
  would exercise nothing new.
- The header names the database and server version; the summary repeats it with the counts, and
  writes that line to $PUNCHCARD_TEST_SUMMARY for scripts/test.sh.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from punchcard import clock

# No per-example deadline: the machine is shared and a slow example is not a wrong one (performance is
# measured in bench/, never by timed tests). Derandomized, so a failure reproduces in CI.
settings.register_profile("punchcard", deadline=None, derandomize=True)
settings.load_profile("punchcard")

# Fixtures that give a test database access. Every route to the test database depends on
# django_db_setup (a session fixture that unblocks the database itself must request it too, or the
# test database would not exist yet); django_db_blocker alone proves nothing, every test has it.
_DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite: SQLite-specific; runs only in the SQLite run")


def _default_db() -> dict:
    from django.conf import settings

    return settings.DATABASES["default"]


def _vendor() -> str:
    return "postgresql" if "postgresql" in _default_db()["ENGINE"] else "sqlite"


def _database_label(config: pytest.Config) -> str:
    """'sqlite 3.40.1' or 'postgresql 15.20', computed once per process.

    PostgreSQL is asked directly (not through Django, which blocks database access outside tests),
    with a short timeout so a down server shows up here instead of as a hang.
    """
    cached = getattr(config, "_punchcard_db_label", None)
    if cached:
        return cached
    if _vendor() == "sqlite":
        label = f"sqlite {sqlite3.sqlite_version}"
    else:
        import psycopg

        db = _default_db()
        params = {
            "dbname": db.get("NAME") or "postgres",
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
        }
        try:
            with psycopg.connect(connect_timeout=2, **{k: v for k, v in params.items() if v}) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
            label = f"postgresql {version}"
        except psycopg.Error as exc:
            label = f"postgresql (unreachable: {str(exc).strip().splitlines()[0]})"
    config._punchcard_db_label = label
    return label


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"database: {_database_label(config)}"]
    if _vendor() == "postgresql":
        db = _default_db()
        lines[0] += f" at {db.get('HOST') or 'local socket'}:{db.get('PORT') or 5432}"
        lines.append("database: tests that do not use the database are skipped in this run")
    return lines


def _uses_database(item: pytest.Item) -> bool:
    """Whether pytest-django would give this test a database (same rules it applies)."""
    from django.test import TransactionTestCase

    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        return True
    if item.get_closest_marker("django_db"):
        return True
    return bool(_DB_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    vendor = _vendor()
    keep, drop = [], []
    for item in items:
        if vendor == "sqlite":
            wanted = not item.get_closest_marker("postgres")
        else:
            wanted = not item.get_closest_marker("sqlite") and (
                item.get_closest_marker("postgres") or _uses_database(item)
            )
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Give SQLite a file-backed test database.

    Django defaults to an in-memory SQLite database for tests, which threads can only share
    through SQLite's shared cache (table-level locks, no WAL): concurrency tests would then test
    something production never runs. A file per pytest process (xdist workers get their own
    basetemp) behaves like the real thing. PUNCHCARD_SQLITE_TEST_NAME, read by the settings,
    wins when set (e.g. to keep the file with --reuse-db).
    """
    db = _default_db()
    if _vendor() == "sqlite" and not db.get("TEST", {}).get("NAME"):
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _restore_clock():
    """Clinic.open and many tests freeze the one clock: put it back afterwards (to a module fixture's freeze,
    or none), so the next test sees its own time."""
    previous = clock._frozen
    yield
    clock.set_now(previous)


@pytest.fixture(autouse=True)
def _forget_api_keys():
    """Each test starts with no remembered API keys: ids and secrets from an earlier test's rolled-back
    rows must not answer for this one's (tests/api/test_api_key_cache.py tests the window itself)."""
    from punchcard.tenancy import keycache

    keycache.clear()
    yield
    keycache.clear()


@pytest.fixture
def run_concurrently() -> Callable[..., list[Any]]:
    """Run callables at the same moment, each in its own thread with its own database connection.

    Returns one outcome per callable, in order: its return value, or the exception it raised (so a
    test can assert "one redemption succeeded, the other was refused").

    The test must be transactional (`@pytest.mark.django_db(transaction=True)`): in an ordinary
    test everything happens inside one uncommitted transaction, which other connections cannot see
    and which, on SQLite, holds the write lock the threads would wait for.
    """
    from django.db import connection, connections

    def run(*callables: Callable[[], Any], timeout: float = 30) -> list[Any]:
        if connection.in_atomic_block:
            raise pytest.UsageError(
                "run_concurrently needs committed data: mark the test @pytest.mark.django_db(transaction=True)"
            )
        barrier = threading.Barrier(len(callables))
        outcomes: list[Any] = [None] * len(callables)

        def worker(index: int, fn: Callable[[], Any]) -> None:
            try:
                barrier.wait(timeout)  # start together, to make the race real
                outcomes[index] = fn()
            except BaseException as exc:
                outcomes[index] = exc
            finally:
                # Each thread opened its own connection; close it, or PostgreSQL refuses to drop
                # the test database at the end of the run.
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(callables)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        if any(thread.is_alive() for thread in threads):
            raise TimeoutError(f"concurrent callables still running after {timeout}s (deadlock?)")
        return outcomes

    return run


_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if config.option.collectonly:
        return
    counts = [f"{len(terminalreporter.stats[k])} {k}" for k in _OUTCOMES if terminalreporter.stats.get(k)]
    line = f"{_database_label(config)} ({', '.join(counts) or 'no tests ran'})"
    terminalreporter.write_line(f"database tested: {line}")
    summary_file = os.environ.get("PUNCHCARD_TEST_SUMMARY")
    if summary_file:
        Path(summary_file).write_text(line + "\n")
