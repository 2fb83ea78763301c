"""The test harness itself: each run really uses the database it claims, and concurrency tests get
separate connections that see each other's committed data."""

import os
import threading
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection


def _expected_vendor() -> str:
    return "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"


@pytest.mark.django_db
def test_database_round_trip_on_the_expected_engine():
    User.objects.create_user(username="infra", password="x")

    assert User.objects.get(username="infra").check_password("x")
    assert connection.vendor == _expected_vendor()
    if connection.vendor == "sqlite":
        # A file, so that threads share it through real connections (see conftest).
        assert Path(connection.settings_dict["NAME"]).is_file()


@pytest.mark.django_db(transaction=True)
def test_threads_get_their_own_connections_and_see_committed_data(run_concurrently):
    User.objects.create_user(username="before")
    main_connection = id(connection.connection)

    def visit(name: str):
        raw = connection.connection if connection.connection else None  # not opened yet
        seen = User.objects.filter(username="before").exists()
        User.objects.create_user(username=name)
        return {"seen": seen, "fresh": raw is None, "conn": id(connection.connection), "thread": threading.get_ident()}

    first, second = run_concurrently(lambda: visit("t1"), lambda: visit("t2"))

    assert not isinstance(first, BaseException), first
    assert not isinstance(second, BaseException), second
    assert first["seen"] and second["seen"]
    assert first["fresh"] and second["fresh"]
    assert first["thread"] != second["thread"]
    assert main_connection not in {first["conn"], second["conn"]}
    assert set(User.objects.values_list("username", flat=True)) == {"before", "t1", "t2"}


@pytest.mark.django_db
def test_run_concurrently_refuses_uncommitted_data(run_concurrently):
    with pytest.raises(pytest.UsageError, match="transaction=True"):
        run_concurrently(lambda: None)
