"""A clinic moves to Punchcard: its packages come from the previous system's CSV, row by row.

The fixture file has three good rows and one of every kind of bad row; the report lists each refused
row with its line, column and rule. A second run creates nothing; a changed row is reported, not applied;
the liability report shows exactly the imported unused value, and reconcile is clean.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from punchcard.domain.errors import InvalidInput
from punchcard.domain.posting import Role
from punchcard.imports.models import ImportedRecord, ImportRun
from punchcard.imports.services import import_packages
from punchcard.ledger.models import Posting
from punchcard.packages.models import EntryKind, Package, SessionEntry
from punchcard.reports.definitions.liability import deferred_balance, liability
from punchcard.tenancy.models import Patient

from ..clinic import Clinic, local
from ..scenario import assert_reconciled

FIXTURE = Path(__file__).with_name("packages_fixture.csv")

# (line, source id, outcome, column, code) for every row of the fixture, in order.
EXPECTED = [
    (2, "S-1", "created", "", ""),
    (3, "S-2", "created", "", ""),
    (4, "S-3", "refused", "plan_code", "not_found"),
    (5, "S-4", "refused", "sessions_used", "import_used_exceeds_granted"),
    (6, "S-5", "refused", "expiry_date", "import_dates_out_of_order"),
    (7, "S-6", "refused", "amount_paid", "invalid"),
    (8, "S-1", "refused", "source_id", "import_duplicate_row"),
    (9, "S-8", "refused", "currency", "currency_mismatch"),
    (10, "S-9", "refused", "purchase_date", "invalid"),
    (11, "S-7", "created", "", ""),
]


def _clinic():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    clinic.plan(
        "physio-10",
        price=1000000,
        lines=[clinic.line("physio", sessions=10)],
        expiry={"kind": "after_start", "count": 180, "unit": "days"},
    )
    return clinic


def _run(clinic, data=None, **kw):
    return import_packages(
        tenant=clinic.tenant,
        actor=clinic.manager,
        data=FIXTURE.read_bytes() if data is None else data,
        source_system="clinicsoft",
        file_name="packages.csv",
        **kw,
    )


def _shape(report):
    return [(o.line, o.source_id, o.outcome, o.column, o.code) for o in report.outcomes]


@pytest.mark.django_db
def test_the_fixture_gives_exactly_the_expected_report_and_the_liability_is_the_unused_value():
    clinic = _clinic()
    report = _run(clinic)
    assert _shape(report) == EXPECTED
    messages = {o.source_id: o.message for o in report.outcomes if o.outcome == "refused" and o.line != 8}
    assert messages["S-3"] == "no plan with code 'no-such-plan'"
    assert messages["S-4"] == "11 session(s) of physio used, but the package grants 10"
    assert messages["S-5"] == "the expiry date 2025-12-01 is before the purchase date 2026-01-10"
    assert "must be zero or positive" in messages["S-6"]
    assert messages["S-8"] == "the row is in USD; the clinic's books are in INR"
    assert messages["S-9"] == "purchase_date '10/01/2026' must be an ISO date (YYYY-MM-DD)"
    assert (report.count("created"), report.count("refused"), report.patients_created, report.plans_created) == (
        3,
        7,
        2,  # OLD-1 (on line 2, again on line 11) and OLD-2
        1,  # S-2's own terms: 5 × Physiotherapy + 2 × Doctor consultation
    )

    # By hand. S-1: 10 sessions for ₹10,000, 4 used → ₹6,000 deferred (4 × ₹1,000 earned in the old books).
    # S-2: ₹6,500 over physio 5 × ₹1,000 list and doctor 2 × ₹1,500 list (5,000 : 3,000):
    #      physio ₹4,062.50, doctor ₹2,437.50; 1 physio used (₹812.50) → ₹5,687.50 deferred.
    # S-7: ₹10,000, none used → ₹10,000.   Total deferred: 6,000 + 5,687.50 + 10,000 = ₹21,687.50.
    s1 = Package.objects.get(pk=report.outcomes[0].package_id)
    (line,) = s1.lines.all()
    assert (line.granted, line.redeemed, line.remaining, line.deferred_value) == (10, 4, 6, 600000)
    assert s1.expires_on.isoformat() == "2026-07-10" and s1.holder.name == "Asha Menon"
    s2 = Package.objects.get(pk=report.outcomes[1].package_id)
    assert [(pl.granted, pl.redeemed, pl.deferred_value) for pl in s2.lines.all()] == [(5, 1, 325000), (2, 0, 243750)]
    assert s2.plan_version.name == "Imported: 5 × Physiotherapy + 2 × Doctor consultation"
    assert s2.sold_at == clinic.other_centre
    s7 = Package.objects.get(pk=report.outcomes[-1].package_id)
    assert s7.holder == s1.holder and s7.sold_at == clinic.centre
    assert s7.expires_on.isoformat() == "2026-08-13"  # the plan's rule: 180 days, 15 Feb being day 1

    assert deferred_balance(clinic.tenant, local(2026, 3, 1).date()) == 2168750
    opening = Posting.objects.filter(tenant=clinic.tenant, account__role=Role.OPENING_BALANCE)
    assert sum(p.amount for p in opening) == 2168750  # debited: the clinic brought this liability in
    roll = liability(clinic.tenant, date_from=local(2026, 3, 1).date(), date_to=local(2026, 3, 1).date())
    assert roll.extra["money"]["imported"] == 2168750 and roll.extra["money"]["sold"] == 0
    assert roll.extra["money"]["recognised"] == 0  # the used sessions were revenue of the old books
    assert roll.extra["sessions"]["imported"] == 6 + 6 + 10 and roll.extra["sessions"]["recognised"] == 0
    assert roll.extra["closing"] == 2168750 and roll.extra["balanced"]
    assert_reconciled(clinic.tenant)

    # The first session used here recognises its own share: ₹1,000 of S-1's ₹6,000.
    redemption = clinic.redeem(s1, "physio")
    assert redemption.value == 100000
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_second_run_creates_nothing_and_a_changed_row_is_reported_not_applied():
    clinic = _clinic()
    first = _run(clinic)
    packages = Package.objects.filter(tenant=clinic.tenant).count()
    again = _run(clinic)
    assert again.count("created") == 0 and again.count("unchanged") == 3 and again.count("refused") == 7
    assert "0 physio" not in again.summary() and again.summary().startswith("Created 0 packages")
    assert Package.objects.filter(tenant=clinic.tenant).count() == packages
    assert [o.package_id for o in again.outcomes if o.outcome == "unchanged"] == [
        o.package_id for o in first.outcomes if o.outcome == "created"
    ]

    changed = FIXTURE.read_bytes().replace(b"2026-07-10,4,10000", b"2026-07-10,3,10000", 1)
    third = _run(clinic, data=changed)
    s1 = next(o for o in third.outcomes if o.source_id == "S-1")
    assert (s1.outcome, s1.code) == ("changed", "import_row_changed")
    assert Package.objects.get(pk=s1.package_id).lines.get().redeemed == 4  # not applied
    assert ImportedRecord.objects.filter(tenant=clinic.tenant).count() == 3
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_a_dry_run_writes_nothing_and_shows_the_same_report():
    clinic = _clinic()
    patients = Patient.objects.filter(tenant=clinic.tenant).count()
    dry = _run(clinic, dry_run=True)
    assert _shape(dry) == EXPECTED and dry.summary().startswith("Would create 3 packages")
    assert not Package.objects.filter(tenant=clinic.tenant).exists()
    assert Patient.objects.filter(tenant=clinic.tenant).count() == patients
    assert not ImportedRecord.objects.exists() and not SessionEntry.objects.filter(kind=EntryKind.IMPORT).exists()
    run = ImportRun.objects.get(pk=dry.run_id)
    assert (run.dry_run, run.created, run.refused, len(run.problems)) == (True, 3, 7, 7)
    real = _run(clinic)
    assert _shape(real) == EXPECTED


@pytest.mark.django_db
def test_a_file_that_is_not_the_import_csv_is_refused_whole():
    clinic = _clinic()
    for data, words in [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"", "empty"),
        (b"source_id,patient,amount_paid\n", "unknown column(s) 'patient'"),
        (b"source_id,patient_ref\n", "lacks the required column(s) purchase_date, amount_paid"),
    ]:
        with pytest.raises(InvalidInput, match=re.escape(words)) as refused:
            _run(clinic, data=data)
        assert refused.value.code == "import_file_invalid"
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_an_export_neutralised_name_comes_back_as_it_was_and_bom_is_ignored():
    clinic = _clinic()
    data = (
        "\ufeffsource_id,patient_ref,patient_name,plan_code,purchase_date,amount_paid\n"
        "X-1,OLD-9,'=Odd Name,physio-10,2026-02-01,100\n"
    ).encode()
    report = _run(clinic, data=data)
    assert report.count("created") == 1
    assert Patient.objects.get(tenant=clinic.tenant, external_ref="OLD-9").name == "=Odd Name"


@pytest.mark.django_db
def test_the_command_reports_what_it_created_and_refused_and_a_second_run_creates_nothing(tmp_path):
    clinic = _clinic()
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "report.csv"
    call_command(
        "import",
        "packages",
        str(FIXTURE),
        tenant=clinic.tenant.slug,
        source="clinicsoft",
        report=str(report),
        stdout=out,
        stderr=err,
    )
    text = out.getvalue()
    assert "Created 3 packages (2 new patient(s), 1 new plan(s)) from 10 row(s)" in text
    assert "import_used_exceeds_granted" in text and "10/01/2026" in text and "7 refused" in text
    assert report.read_text().splitlines()[0] == "line,source_id,outcome,column,code,message,package_id"
    again = io.StringIO()
    call_command("import", "packages", str(FIXTURE), tenant=clinic.tenant.slug, source="clinicsoft", stdout=again)
    assert "Created 0 packages" in again.getvalue() and "3 unchanged (imported before)" in again.getvalue()
    assert_reconciled(clinic.tenant)
