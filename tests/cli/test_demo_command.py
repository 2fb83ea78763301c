"""`punchcard demo` on an empty database: the tenant, the API key, refusals."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from punchcard.tenancy.models import ApiKey, Role, Tenant
from punchcard.tenancy.services import authenticate_api_key

from .conftest import run

pytestmark = pytest.mark.django_db

SUPPLIED_KEY = "pc_0123abcd_Rk7fQ2mZx9LwT4vB8nJc3HsY6pGd1aEu"


def test_demo_command_builds_the_clinic_and_prints_a_new_key_once(frozen, monkeypatch):
    monkeypatch.delenv("PUNCHCARD_DEMO_API_KEY", raising=False)
    result = run("demo")
    assert result.code == 0, result.err
    tenant = Tenant.objects.get(slug="demo")
    assert (tenant.name, tenant.currency, tenant.locale) == ("Punchcard Demo Clinic", "INR", "en_IN")
    line = next(line for line in result.out.splitlines() if line.startswith("Demo manager API key: "))
    secret = line.removeprefix("Demo manager API key: ")
    key = authenticate_api_key(secret)
    assert key is not None and key.tenant == tenant and key.role == Role.MANAGER
    assert secret not in {k.digest for k in ApiKey.objects.all()}  # stored as a digest only


def test_demo_uses_the_supplied_key_without_echoing_it(frozen, monkeypatch):
    monkeypatch.setenv("PUNCHCARD_DEMO_API_KEY", SUPPLIED_KEY)
    result = run("demo")
    assert result.code == 0, result.err
    assert SUPPLIED_KEY not in result.out
    assert "taken from $PUNCHCARD_DEMO_API_KEY (pc_0123abcd…)" in result.out
    assert authenticate_api_key(SUPPLIED_KEY).role == Role.MANAGER


def test_a_malformed_supplied_key_writes_nothing(frozen, monkeypatch):
    monkeypatch.setenv("PUNCHCARD_DEMO_API_KEY", "not-a-key")
    result = run("demo")
    assert result.code == 2
    assert result.error_lines == ["error [invalid]: an API key looks like pc_<8 hex>_<at least 32 url-safe characters>"]
    assert not Tenant.objects.exists()


def test_commands_without_any_tenant(frozen):
    result = run("plans")
    assert (result.code, result.err) == (
        2,
        "error [not_found]: there is no tenant yet; run `punchcard demo` or pass --tenant SLUG\n",
    )


def test_demo_prints_one_console_login_per_role_with_a_generated_password(frozen, monkeypatch):
    monkeypatch.delenv("PUNCHCARD_DEMO_PASSWORD", raising=False)
    result = run("demo")
    assert result.code == 0, result.err
    header = next(line for line in result.out.splitlines() if line.startswith("Console logins at "))
    password = header.split("(password: ")[1].rstrip("):")
    assert result.out.splitlines()[-4:] == [
        "  front desk  dev",
        "  manager     meera",
        "  accountant  ritu",
        "  admin       sameer",
    ]
    for username, role in [("dev", "front_desk"), ("meera", "manager"), ("ritu", "accountant"), ("sameer", "admin")]:
        user = authenticate(username=username, password=password)
        assert user is not None and user.staff_member.role == role
    assert authenticate(username="dev", password="not-it") is None


def test_demo_takes_the_password_from_the_environment_and_if_empty_prints_the_logins_again(frozen, monkeypatch):
    monkeypatch.setenv("PUNCHCARD_DEMO_PASSWORD", "a-demo-password-1")
    result = run("demo")
    assert result.code == 0, result.err
    assert "a-demo-password-1" not in result.out and "(password: from $PUNCHCARD_DEMO_PASSWORD)" in result.out
    assert authenticate(username="meera", password="a-demo-password-1") is not None
    again = run("demo", "--if-empty")
    assert again.code == 0 and "demo data not loaded" in again.out
    assert "  manager     meera" in again.out
