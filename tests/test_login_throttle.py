"""Django-auth logins (the admin, and any staff login page built on Django's LoginView) are throttled per
user name and IP address: after a few wrong passwords the right one no longer logs in, the person sees why,
and the lockout is logged."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


def login(client: Client, password: str, *, username: str = "root", ip: str = "203.0.113.7"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(root, caplog):
    client = Client()
    caplog.set_level(logging.INFO, logger="axes")
    for _ in range(30):
        login(client, "wrong")
    assert not logged_in(client)
    reply = login(client, PASSWORD)
    assert not logged_in(client)
    assert reply.status_code == 429
    text = reply.content.decode()
    assert "Too many failed sign-in attempts" in text and "root" in text
    lockouts = [r.getMessage() for r in caplog.records if r.name.startswith("axes") and r.levelname == "WARNING"]
    assert any(m.startswith("AXES: Locking out") and "203.0.113.7" in m for m in lockouts)


def test_the_lockout_is_per_user_and_address(root):
    get_user_model().objects.create_superuser("asha", "asha@example.com", PASSWORD)
    attacker = Client()
    for _ in range(10):
        login(attacker, "wrong")
    assert login(attacker, PASSWORD).status_code == 429
    other_desk = Client()
    login(other_desk, PASSWORD, ip="198.51.100.20")  # the same user at another address
    assert logged_in(other_desk)
    colleague = Client()
    login(colleague, PASSWORD, username="asha")  # another user at the same address
    assert logged_in(colleague)


def test_a_few_typos_then_the_right_password_logs_in(root):
    client = Client()
    for _ in range(3):
        login(client, "typo")
    login(client, PASSWORD)
    assert logged_in(client)
