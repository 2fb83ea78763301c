"""Onboarding a clinic from an empty database with the command line alone: tenant, admin login, API key,
and its admin working through the API. Bad input gets one line and writes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from punchcard.ledger.models import Account
from punchcard.tenancy.models import ApiKey, AuditEvent, Centre, StaffMember, Tenant

from ..api.conftest import Api
from ..cli.conftest import run

pytestmark = pytest.mark.django_db

CREATE = (
    "tenant", "create", "--name", "Sunrise Physio", "--slug", "sunrise", "--currency", "INR",
    "--locale", "en-IN", "--time-zone", "Asia/Kolkata", "--centre", "Bandra",
)  # fmt: skip
PASSWORD = "a long enough passphrase\n"


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Tenant, Centre, Account, StaffMember, get_user_model(), ApiKey, AuditEvent)
    }


def test_a_clinic_is_onboarded_from_an_empty_database_and_its_admin_works_through_the_api():
    assert Tenant.objects.count() == 0
    made = run(*CREATE)
    assert made.code == 0, made.err
    tenant = Tenant.objects.get(slug="sunrise")
    assert (tenant.name, tenant.currency, tenant.locale, tenant.time_zone) == (
        "Sunrise Physio",
        "INR",
        "en_IN",
        "Asia/Kolkata",
    )
    assert not tenant.sandbox
    centre = Centre.objects.get(tenant=tenant)
    assert (centre.name, centre.code, centre.timezone) == ("Bandra", "bandra", "Asia/Kolkata")
    accounts = Account.objects.filter(tenant=tenant).count()
    assert accounts >= 8
    assert "Created tenant sunrise (Sunrise Physio)" in made.out
    assert f"Chart of accounts: {accounts} accounts." in made.out
    assert "First centre: Bandra (code bandra, Asia/Kolkata)." in made.out

    staff = run(
        "staff", "create", "--tenant", "sunrise", "--email", "meera@sunrise.example", "--role", "admin",
        "--password-stdin", stdin=StringIO(PASSWORD),
    )  # fmt: skip
    assert staff.code == 0, staff.err
    member = StaffMember.objects.get(tenant=tenant)
    assert (member.role, member.user.username, member.user.email) == (
        "admin",
        "meera@sunrise.example",
        "meera@sunrise.example",
    )
    assert "they log in as meera@sunrise.example" in staff.out
    assert member.user.check_password(PASSWORD.strip())

    # The admin logs in with that password and acts through the API.
    client = Client()
    assert client.login(username="meera@sunrise.example", password=PASSWORD.strip())
    me = client.get("/api/v1/me")
    assert (me.status_code, me.json()["role"], me.json()["tenant"]["slug"]) == (200, "admin", "sunrise")

    key = run("apikey", "create", "--tenant", "sunrise", "--name", "front desk", "--role", "front_desk")
    assert key.code == 0, key.err
    secret = key.out.strip().splitlines()[-1]
    assert Api(secret).get("/me").body["role"] == "front_desk"
    assert AuditEvent.objects.filter(tenant=tenant, action="tenant.create").count() == 1


def test_a_sandbox_tenant_is_flagged():
    made = run(*CREATE, "--sandbox")
    assert made.code == 0 and "Created sandbox tenant sunrise" in made.out
    assert Tenant.objects.get(slug="sunrise").sandbox is True
    row = next(line for line in run("tenant", "list").out.splitlines() if "sunrise" in line)
    assert "yes" in row and "Asia/Kolkata" in row


@pytest.mark.parametrize(
    "change, field",
    [
        (("--time-zone", "Mars/Olympus"), "is not an IANA time zone"),
        (("--currency", "XYZ"), "XYZ"),
        (("--locale", "zz-ZZ-nowhere"), "is not a known locale"),
        (("--slug", "Not A Slug"), "slug must be lower-case"),
        (("--centre", "   "), "centre is required"),
        (("--name", ""), "--name is required"),
    ],
)
def test_bad_tenant_input_gets_one_line_and_writes_nothing(change, field):
    args = list(CREATE)
    at = args.index(change[0])
    args[at + 1] = change[1]
    before = counts()
    result = run(*args)
    assert result.code == 2, (result.out, result.err)
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("error [")
    assert field in result.error_lines[0]
    assert counts() == before


def test_a_taken_slug_is_a_duplicate_and_writes_nothing():
    assert run(*CREATE).code == 0
    before = counts()
    again = run(*CREATE)
    assert again.code == 1 and again.error_lines == ["error [duplicate_code]: a tenant with slug 'sunrise' exists"]
    assert counts() == before


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (("--email", "not-an-email", "--role", "admin"), PASSWORD, "email"),
        (("--email", "a@b.example", "--role", "owner"), PASSWORD, "--role must be one of"),
        (("--email", "a@b.example", "--role", "admin"), "short\n", "the password is refused"),
        (("--email", "a@b.example", "--role", "admin"), "\n", "the password is empty"),
        (("--role", "admin"), PASSWORD, "--email is required"),
    ],
)
def test_bad_staff_input_gets_one_line_and_writes_nothing(args, stdin, message):
    assert run(*CREATE).code == 0
    before = counts()
    result = run("staff", "create", "--tenant", "sunrise", *args, "--password-stdin", stdin=StringIO(stdin))
    assert result.code == 2, (result.out, result.err)
    assert len(result.error_lines) == 1 and message in result.error_lines[0], result.err
    assert counts() == before


def test_a_taken_email_is_refused_and_staff_list_shows_the_staff():
    assert run(*CREATE).code == 0
    email = ("staff", "create", "--tenant", "sunrise", "--email", "a@b.example", "--role", "manager")
    assert run(*email, "--password-stdin", stdin=StringIO(PASSWORD)).code == 0
    before = counts()
    again = run(*email, "--password-stdin", stdin=StringIO(PASSWORD))
    assert again.error_lines == ["error [duplicate_code]: the username 'a@b.example' is taken"]
    assert counts() == before
    listed = run("staff", "list", "--tenant", "sunrise")
    assert "a@b.example" in listed.out and "manager" in listed.out
