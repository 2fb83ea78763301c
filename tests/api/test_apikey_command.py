"""`punchcard apikey create|list|revoke`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from punchcard.cli.base import CliError
from punchcard.tenancy.models import ApiKey
from punchcard.tenancy.services import authenticate_api_key

from ..clinic import Clinic

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args) -> tuple[CliError, str]:
    err = io.StringIO()
    with pytest.raises(CliError) as caught:
        call_command("apikey", *args, stdout=io.StringIO(), stderr=err)
    return caught.value, err.getvalue()


def test_create_prints_the_secret_once_and_it_works():
    clinic = Clinic.open(slug="north")
    out, _ = run("create", "--tenant", "north", "--name", "scheduler", "--role", "front_desk")
    secret = out.strip().splitlines()[-1]
    key = authenticate_api_key(secret)
    assert key is not None and (key.tenant, key.name, key.role) == (clinic.tenant, "scheduler", "front_desk")
    assert key.prefix in out and secret not in ApiKey.objects.get(pk=key.pk).digest


def test_create_with_a_chosen_secret():
    Clinic.open(slug="north")
    secret = "pc_0123abcd_Rk7fQ2mZx9LwT4vB8nJc3HsY6pGd1aEu"
    run("create", "--tenant", "north", "--name", "ehr", "--role", "manager", "--secret", secret)
    assert authenticate_api_key(secret).role == "manager"


def test_list_shows_keys_in_a_table():
    Clinic.open(slug="north")
    run("create", "--tenant", "north", "--name", "scheduler", "--role", "front_desk")
    out, _ = run("list", "--tenant", "north")
    assert "scheduler" in out and "front_desk" in out and "active" in out and "never" in out


def test_revoke_stops_the_key():
    Clinic.open(slug="north")
    out, _ = run("create", "--tenant", "north", "--name", "old", "--role", "accountant")
    secret = out.strip().splitlines()[-1]
    run("revoke", "--tenant", "north", secret[:11])
    assert authenticate_api_key(secret) is None
    assert "revoked" in run("list", "--tenant", "north")[0]


@pytest.mark.parametrize(
    "args, code, field_hint",
    [
        (("create", "--tenant", "north", "--name", "x", "--role", "janitor"), "invalid", "role must be one of"),
        (("create", "--tenant", "north", "--role", "manager"), "invalid", "--name"),
        (("create", "--tenant", "north", "--name", "x"), "invalid", "--role"),
        (("create", "--tenant", "north", "--name", "x", "--role", "manager", "--secret", "short"), "invalid", "pc_"),
        (("revoke", "--tenant", "north", "pc_nope"), "not_found", "pc_nope"),
        (("revoke", "--tenant", "north"), "invalid", "PREFIX"),
        (("list", "--tenant", "south"), "not_found", "south"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(args, code, field_hint):
    Clinic.open(slug="north")
    error, stderr = refused(*args)
    assert error.returncode != 0 and error.code == code
    assert stderr.strip().startswith(f"error [{code}]:") and field_hint in stderr
    assert len(stderr.strip().splitlines()) == 1
