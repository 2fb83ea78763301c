"""`punchcard demo`: the demo clinic, its history, its API key."""

from __future__ import annotations

import pytest

from punchcard.billing.models import Order, Payment
from punchcard.domain.status import PackageStatus
from punchcard.ledger.reconcile import reconcile
from punchcard.packages import selectors
from punchcard.packages.models import ExpiryChange, Redemption
from punchcard.tenancy.models import Patient, Tenant

from .conftest import NOW, run

pytestmark = pytest.mark.django_db


def test_if_empty_does_nothing_when_a_tenant_exists(demo):
    result = run("demo", "--if-empty")
    assert result.code == 0
    assert "demo data not loaded" in result.out
    assert Tenant.objects.count() == 1


def test_a_second_demo_is_refused(demo):
    result = run("demo")
    assert result.code == 1
    assert result.error_lines == ["error [invalid]: the demo tenant 'demo' exists already"]


def test_the_demo_history_tells_the_seed_stories(demo):
    tenant, packages = demo.tenant, demo.packages
    assert len(demo.patients) >= 12 and len(demo.centres) == 3
    assert {c.timezone for c in demo.centres.values()} == {"Asia/Kolkata", "Asia/Dubai"}

    def status(key):
        return selectors.summarize(packages[key], now=NOW).status.status

    asha = selectors.summarize(packages["asha-physio"], now=NOW)
    physio = next(line for line in asha.lines if line.label == "Physiotherapy")
    assert (physio.redeemed, physio.granted) == (4, 10)
    assert status("asha-physio") is PackageStatus.ACTIVE
    assert status("kiran-facials") is PackageStatus.EXHAUSTED
    assert status("lata-physio") is PackageStatus.COMPLETED
    assert status("priya-chiro") is PackageStatus.EXPIRED
    assert status("divya-physio") is PackageStatus.SCHEDULED
    assert demo.expired_by_sweep == 1
    priya = selectors.summarize(packages["priya-chiro"], now=NOW)
    assert (priya.redeemed, priya.lines[0].forfeited) == (3, 1)  # SPEC §15 ex. 2: the bonus became breakage

    # A void by the manager, an expiry change, family usage at both Indian centres, several payment methods.
    voided = Redemption.objects.get(package=packages["asha-physio"], voided_at__isnull=False)
    assert voided.void_approver_id == demo.staff["meera"].id
    assert ExpiryChange.objects.filter(package=packages["arjun-classes"]).count() == 1
    family = packages["rao-family"]
    usage = selectors.usage_by_person(family)
    assert set(usage) == {demo.patients[k].id for k in ("ravi", "asha", "meena")}
    assert set(Redemption.objects.filter(package=family).values_list("centre__code", flat=True)) == {
        "bandra",
        "koramangala",
    }
    assert set(Payment.objects.filter(tenant=tenant).values_list("method", flat=True)) == {
        "cash",
        "card",
        "bank_transfer",
    }
    assert Order.objects.get(lines__packages=family).payments.count() == 2
    dates = Redemption.objects.filter(tenant=tenant).values_list("day", flat=True)
    assert min(dates).isoformat() >= "2026-01-20" and max(dates) < NOW.date()
    assert Patient.objects.get(tenant=tenant, external_ref="P-1001").name == "Asha Rao"
    assert all(result.ok for result in reconcile(tenant))


def test_show_asha(demo):
    result = run("show", "P-1001")
    assert result.code == 0, result.err
    assert "Asha Rao (P-1001)" in result.out
    assert "Physiotherapy 4 of 10 used, 6 remaining, expires 8 Jul 2026" in result.out
    assert "Family Wellness Pack" in result.out and "Ravi Rao (shared)" in result.out
    assert "Usage by person" in result.out and "Meena Rao" in result.out


def test_reconcile_is_clean_on_the_demo(demo):
    result = run("reconcile")
    assert result.code == 0, result.err
    assert "All checks passed for 1 tenant(s)." in result.out
    assert "MISMATCH" not in result.out
