"""`punchcard tenant create --sandbox` starts the sandbox's clock; `punchcard clock show|advance` read and
move it, printing what ran; commands for a sandbox run on its clock; a live tenant is refused."""

from __future__ import annotations

import pytest

from punchcard import clock
from punchcard.packages.models import Package
from punchcard.tenancy.models import ApiKey, Tenant
from punchcard.tenancy.selectors import own_clock

from ..clinic import Clinic, local
from .conftest import run

pytestmark = pytest.mark.django_db

START = local(2026, 3, 1, 10)


@pytest.fixture(autouse=True)
def _unfreeze():
    yield
    clock.set_now(None)


def test_tenant_create_sandbox_starts_its_clock_and_commands_run_on_it():
    with clock.frozen_at(START):
        made = run(
            "tenant", "create", "--name", "Sunrise Sandbox", "--slug", "sunrise-sandbox", "--time-zone",
            "Asia/Kolkata", "--centre", "Bandra", "--sandbox",
        )  # fmt: skip
    assert made.code == 0, made.err
    assert "Created sandbox tenant sunrise-sandbox" in made.out
    sandbox = Tenant.objects.get(slug="sunrise-sandbox")
    assert own_clock(sandbox) == START

    shown = run("clock", "show", "--tenant", "sunrise-sandbox")
    assert shown.out.strip() == "sunrise-sandbox's clock: 2026-03-01T10:00:00+05:30"
    key = run("apikey", "create", "--tenant", "sunrise-sandbox", "--name", "integration", "--role", "manager")
    assert key.code == 0, key.err
    assert ApiKey.objects.get(tenant=sandbox).created_at == START  # made on the sandbox's clock, not today's


def test_clock_advance_prints_what_ran():
    clinic = Clinic.open(now=START, sandbox=True)
    plan = clinic.plan(
        "ten-days",
        price=300000,
        lines=[clinic.line("physio", sessions=3)],
        expiry={"kind": "fixed_date", "fixed_date": "2026-03-11"},
    )
    package = clinic.sell(plan)
    clock.set_now(None)
    result = run("clock", "advance", "--tenant", clinic.tenant.slug, "--to", "2026-03-12")
    assert result.code == 0, result.err
    assert f"{clinic.tenant.slug}'s clock: 2026-03-01T10:00:00+05:30 → 2026-03-12T12:00:00+05:30" in result.out
    assert "expiry-sweep" in result.out and "Asia/Kolkata/2026-03-12" in result.out
    assert Package.objects.get(id=package.id).lines.get().forfeited == 3
    again = run("clock", "advance", "--tenant", clinic.tenant.slug, "--to", "2026-03-12T12:00")  # the tenant's zone
    assert "(0 steps)" in again.out and "Nothing was due." in again.out


def test_a_live_tenant_is_refused():
    live, sandbox = Clinic.open(now=START), Clinic.open(now=START, sandbox=True)
    clock.set_now(None)
    for args in (("show",), ("advance", "--to", "2026-03-12")):
        result = run("clock", *args, "--tenant", live.tenant.slug)
        assert result.code == 1 and result.error_lines[0].startswith("error [test_clock_live_tenant]: "), result.err
    refused = run("clock", "advance", "--tenant", sandbox.tenant.slug, "--to", "2026")
    assert refused.code == 2 and "error [invalid]" in refused.err
