"""A clinic leaves with its data: `punchcard export` writes every file with a README of the columns, and its
packages.csv imports into an empty tenant with the same balances, line by line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import call_command

from punchcard.imports.models import ImportedRecord
from punchcard.imports.services import import_packages
from punchcard.memberships import services as memberships
from punchcard.packages import services as packages
from punchcard.packages.models import Package
from punchcard.reports.definitions.liability import deferred_balance

from ..clinic import Clinic, local
from ..memberships.support import membership_plan, subscribe
from ..scenario import assert_reconciled

FILES = {
    "README.md",
    "centres.csv",
    "services.csv",
    "patients.csv",
    "plans.csv",
    "packages.csv",
    "package_lines.csv",
    "session_ledger.csv",
    "invoices.csv",
    "invoice_lines.csv",
    "payments.csv",
    "memberships.csv",
    "membership_invoices.csv",
    "membership_payments.csv",
    "journal.csv",
}


def _balances(package: Package) -> list[tuple]:
    return [(line.granted, line.remaining, line.deferred_value) for line in package.lines.order_by("id")]


@pytest.mark.django_db
def test_export_then_import_into_an_empty_tenant_gives_the_same_balances(tmp_path: Path):
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    pack = clinic.plan(
        "physio-pack",
        price=800000,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
    )
    classes = clinic.plan("classes-20", price=100000, lines=[clinic.line("yoga", "pilates", sessions=20)])
    asha = clinic.sell(pack)
    for service in ("physio", "physio", "physio", "doctor"):
        last = clinic.redeem(asha, service)
    first_physio = asha.redemptions.filter(service__code="physio").order_by("id").first()
    packages.void_redemption(
        tenant=clinic.tenant, actor=clinic.manager, redemption_id=first_physio.id, reason="wrong patient"
    )
    ravi = clinic.sell(classes, patient=clinic.ravi)
    clinic.redeem(ravi, "yoga", person=None, sessions=5)
    kiran = clinic.sell(classes, patient=clinic.kiran)
    assert last is not None
    before = {p.id: _balances(p) for p in Package.objects.filter(tenant=clinic.tenant)}
    # By hand: Asha's physio line 615,385 over 10 (8,000 × 10,000/13,000), 2 used net of the void →
    # 615,385 − 2 × 61,539 = 492,307; doctor 184,615 over 2, 1 used (92,308) → 92,307.
    assert before[asha.id] == [(10, 8, 492307), (2, 1, 92307)]
    assert before[ravi.id] == [(20, 15, 75000)] and before[kiran.id] == [(20, 20, 100000)]

    out = tmp_path / "leaving"
    call_command("export", tenant=clinic.tenant.slug, to=str(out))
    assert {p.name for p in out.iterdir()} == FILES
    readme = (out / "README.md").read_text()
    assert "## packages.csv" in readme and "| deferred_value |" in readme and "## memberships.csv" in readme
    rows = list(csv.DictReader((out / "packages.csv").open(encoding="utf-8")))
    assert [(r["source_id"], r["lines"], r["sessions_used"], r["amount_paid"], r["deferred_value"]) for r in rows] == [
        (str(asha.id), "physio:10; doctor:2", "2; 1", "8000.00", "5846.14"),
        (str(ravi.id), "pilates|yoga:20", "5", "1000.00", "750.00"),
        (str(kiran.id), "pilates|yoga:20", "0", "1000.00", "1000.00"),
    ]
    ledger = list(csv.DictReader((out / "journal.csv").open(encoding="utf-8")))
    assert sum(float(r["debit"] or 0) for r in ledger) == sum(float(r["credit"] or 0) for r in ledger)

    # A new tenant with the same services: the file imports as it is, and every line has what it had.
    elsewhere = Clinic.open(now=local(2026, 3, 2, 10))
    report = import_packages(
        tenant=elsewhere.tenant,
        actor=elsewhere.manager,
        data=(out / "packages.csv").read_bytes(),
        source_system="punchcard",
    )
    assert (report.count("created"), report.count("refused")) == (3, 0), report.problems
    made = {r.source_id: r.package for r in ImportedRecord.objects.filter(tenant=elsewhere.tenant)}
    for package_id, balances in before.items():
        assert _balances(made[str(package_id)]) == balances
    assert made[str(asha.id)].holder.external_ref == clinic.asha.external_ref
    assert deferred_balance(elsewhere.tenant, local(2026, 3, 2).date()) == 584614 + 75000 + 100000
    assert_reconciled(elsewhere.tenant)


@pytest.mark.django_db
def test_memberships_their_invoices_and_payments_are_exported(tmp_path: Path):
    # Asha joins Gold at ₹3,000 a month on 1 March and pays the first invoice in cash at the desk.
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    member = subscribe(clinic, membership_plan(clinic, "gold", monthly=300000))
    invoice = member.invoices.get()
    memberships.pay_invoice(
        tenant=clinic.tenant, actor=clinic.front_desk, invoice_id=invoice.id, method="cash", amount=300000
    )
    call_command("export", tenant=clinic.tenant.slug, to=str(tmp_path))

    def rows(name):
        with open(tmp_path / name, encoding="utf-8") as f:
            return list(csv.DictReader(f))

    (row,) = rows("memberships.csv")
    assert (row["patient_ref"], row["plan_code"], row["frequency"], row["status"]) == (
        clinic.asha.external_ref,
        "gold",
        "monthly",
        "active",
    )
    assert (row["billing_anchor"], row["next_billing_date"], row["price"], row["card_on_file"]) == (
        "2026-03-01",
        "2026-04-01",
        "3000.00",
        "no",
    )
    (billed,) = rows("membership_invoices.csv")
    assert (billed["number"], billed["status"], billed["period_start"], billed["period_end"], billed["paid"]) == (
        "1",
        "paid",
        "2026-03-01",
        "2026-03-31",
        "3000.00",
    )
    (paid,) = rows("membership_payments.csv")
    assert (paid["invoice"], paid["method"], paid["amount"]) == ("1", "cash", "3000.00")
