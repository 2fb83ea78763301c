"""Journal exports (SPEC §8.5): a busy period's beancount file passes beancount's own checker, and the
CSV's debits equal its credits."""

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data as beancount_data
from django.db.models import Sum

from punchcard.billing import selectors as money
from punchcard.billing import services as billing
from punchcard.ledger.exports import CSV_COLUMNS, beancount_name, export_beancount, export_csv
from punchcard.ledger.models import Account, JournalEntry, Posting
from punchcard.packages import services as packages
from punchcard.packages.models import Package, PackageLine

from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db

FIRST_DAY, LAST_DAY = dt.date(2026, 3, 1), dt.date(2026, 4, 30)
BEAN_CHECK = Path(sys.executable).with_name("bean-check")
# Staff type anything into a reason; it reaches the memo of the export.
AWKWARD_REASON = 'entered twice — "double tap"\tat C:\\desk\\pos,\r\nsee ticket #12; ₹ 1,00,000 ; end \\'


def _pay(clinic, order, *parts, now):
    for method, amount in parts:
        billing.record_payment(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method=method, amount=amount, now=now
        )
    return Package.objects.filter(order_line__order=order).first()


def _order(clinic, plan, patient, now, centre=None):
    return billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=patient.id,
        centre_id=(centre or clinic.centre).id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
        now=now,
    )


def busy_period(clinic):
    """Two months of a clinic's life, touching every kind of journal entry."""
    days90 = {"kind": "after_start", "count": 90, "unit": "days"}
    recovery = clinic.plan(
        "recovery",
        name='Physio "Recovery" Pack — GST incl.',
        price=944000,
        tax_rate_bp=1800,
        scope="all",
        expiry=days90,
        lines=[clinic.line("physio", sessions=10, top_up_price=118000), clinic.line("doctor", sessions=2)],
    )
    yoga = clinic.plan(
        "yoga-5",
        price=20000,
        tax_rate_bp=500,
        tax_inclusive=False,
        expiry={"kind": "after_start", "count": 30, "unit": "days"},
        lines=[clinic.line("yoga", "pilates", sessions=5, bonus=1)],
    )
    small = clinic.plan(
        "chiro-3", price=35400, tax_rate_bp=1800, expiry=days90, lines=[clinic.line("chiro", sessions=3)]
    )
    large = clinic.plan(
        "chiro-8", price=82600, tax_rate_bp=1800, expiry=days90, lines=[clinic.line("chiro", sessions=8)]
    )

    day1 = local(2026, 3, 2, 10)
    asha = _pay(clinic, _order(clinic, recovery, clinic.asha, day1), ("cash", 400000), ("card", 544000), now=day1)
    ravi = _pay(clinic, _order(clinic, yoga, clinic.ravi, day1), ("bank_transfer", 21000), now=day1)
    kiran = _pay(clinic, _order(clinic, yoga, clinic.kiran, day1, clinic.other_centre), ("external", 21000), now=day1)
    lata = _pay(clinic, _order(clinic, small, clinic.lata, day1), ("card", 35400), now=day1)

    # Redemptions at both centres, and a void.
    day2 = local(2026, 3, 5, 11)
    clinic.redeem(asha, "physio", now=day2)
    wrong = clinic.redeem(asha, "physio", centre=clinic.other_centre, now=day2)
    clinic.redeem(asha, "doctor", centre=clinic.other_centre, now=day2)
    clinic.redeem(ravi, "pilates", now=day2)
    clinic.redeem(kiran, "yoga", centre=clinic.other_centre, now=day2)
    clinic.redeem(lata, "chiro", now=day2)
    packages.void_redemption(
        tenant=clinic.tenant,
        actor=clinic.manager,
        redemption_id=wrong.id,
        reason=AWKWARD_REASON,
        now=local(2026, 3, 5, 18),
    )

    # A top-up of two physio sessions.
    day3 = local(2026, 3, 9, 12)
    physio = PackageLine.objects.filter(package=asha).order_by("id").first()
    top_up = billing.top_up_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=asha.id, line_id=physio.id, sessions=2, now=day3
    )
    _pay(clinic, top_up, ("cash", 236000), now=day3)

    # A refund to credit, part paid out, the rest spent on a new purchase.
    day4 = local(2026, 3, 12, 16)
    refund = billing.refund_package(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=ravi.id,
        reason='moved to "Pune"; 50% off\\next time',
        now=day4,
    )
    billing.pay_out_credit(
        tenant=clinic.tenant, actor=clinic.manager, patient_id=clinic.ravi.id, method="cash", amount=5000, now=day4
    )
    again = _order(clinic, small, clinic.ravi, day4)
    _pay(clinic, again, ("credit", refund.amount - 5000), ("cash", 35400 - (refund.amount - 5000)), now=day4)

    # An upgrade, the difference paid by card.
    day5 = local(2026, 3, 20, 10)
    upgrade = billing.upgrade_package(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=lata.id, plan_id=large.plan_id, now=day5
    )
    upgraded_to = _pay(clinic, upgrade, ("card", upgrade.due), now=day5)
    clinic.redeem(upgraded_to, "chiro", now=local(2026, 3, 21, 10))

    # Kiran's yoga pass expires (30 days from 2 March: last valid day 31 March).
    assert packages.expire_due_packages(as_of=dt.date(2026, 4, 1), now=local(2026, 4, 1, 0, 30)) == 1
    return {"asha": asha, "ravi": ravi, "kiran": kiran, "lata": lata}


def _beancount_text(clinic, date_from=FIRST_DAY, date_to=LAST_DAY):
    out = io.StringIO()
    count = export_beancount(clinic.tenant, date_from, date_to, out)
    return out.getvalue(), count


def test_busy_period_beancount_export_passes_beancounts_checker(tmp_path):
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    busy_period(clinic)
    kinds = set(JournalEntry.objects.filter(tenant=clinic.tenant).values_list("kind", flat=True))
    assert kinds >= {"sale", "payment", "redemption", "void", "refund", "credit_payout", "upgrade_credit", "breakage"}
    text, count = _beancount_text(clinic)
    assert count == JournalEntry.objects.filter(tenant=clinic.tenant).count()

    # beancount v3's Python API: parse, book and validate, as bean-check does.
    entries, errors, options = loader.load_string(text)
    assert errors == [], "\n".join(str(e) for e in errors)
    assert options["operating_currency"] == ["INR"]
    transactions = [e for e in entries if isinstance(e, beancount_data.Transaction)]
    assert len(transactions) == count

    # What beancount read adds up to the journal, account by account, to the paisa.
    names = {a.id: beancount_name(a) for a in Account.objects.filter(tenant=clinic.tenant)}
    assert len(set(names.values())) == len(names)
    read = defaultdict(Decimal)
    for txn in transactions:
        for leg in txn.postings:
            assert leg.units.currency == "INR"
            read[leg.account] += leg.units.number
    ours = {
        names[row["account_id"]]: Decimal(row["s"]) / 100
        for row in Posting.objects.filter(tenant=clinic.tenant).values("account_id").annotate(s=Sum("amount"))
    }
    assert {k: v for k, v in read.items() if v} == {k: v for k, v in ours.items() if v}

    assert_reconciled()

    # And the console script, when installed, exits 0 on the same file.
    path = tmp_path / "journal.beancount"
    path.write_text(text, encoding="utf-8")
    if not BEAN_CHECK.exists():
        pytest.skip(f"{BEAN_CHECK} is not installed")
    result = subprocess.run(
        [str(BEAN_CHECK), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bean_check_refuses_an_unbalanced_file(tmp_path):
    """The checker is real: the same export with one amount changed fails it."""
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    busy_period(clinic)
    text, _ = _beancount_text(clinic)
    broken = text.replace("9440.00 INR", "9440.01 INR", 1)
    assert broken != text
    _, errors, _ = loader.load_string(broken)
    assert errors
    if BEAN_CHECK.exists():
        path = tmp_path / "broken.beancount"
        path.write_text(broken, encoding="utf-8")
        assert (
            subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, timeout=120, check=False).returncode != 0
        )
    assert_reconciled()


def _csv_rows(clinic, date_from=FIRST_DAY, date_to=LAST_DAY):
    out = io.StringIO()
    totals = export_csv(clinic.tenant, date_from, date_to, out)
    out.seek(0)
    reader = csv.DictReader(out)
    return reader.fieldnames, list(reader), totals


def test_busy_period_csv_debits_equal_credits():
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    busy_period(clinic)
    header, rows, (debits_minor, credits_minor) = _csv_rows(clinic)
    assert header == CSV_COLUMNS
    for column in ("date", "entry", "account_code", "account_name", "debit", "credit", "currency", "memo"):
        assert column in header
    # References back to the business: the event, the package, the patient and the centre.
    for column in ("event", "package", "patient_ref", "centre"):
        assert column in header
    assert len(rows) == Posting.objects.filter(tenant=clinic.tenant).count()

    debits = sum((Decimal(r["debit"]) for r in rows if r["debit"]), Decimal(0))
    credits = sum((Decimal(r["credit"]) for r in rows if r["credit"]), Decimal(0))
    assert debits == credits > 0
    assert debits == Decimal(debits_minor) / 100 and debits_minor == credits_minor
    for row in rows:
        assert bool(row["debit"]) != bool(row["credit"])  # one side per row
        amount = Decimal(row["debit"] or row["credit"])
        assert amount > 0 and amount == amount.quantize(Decimal("0.01"))
        assert row["currency"] == "INR"
        dt.date.fromisoformat(row["date"])
    # Free text survives the round trip intact (quotes, commas, line breaks).
    assert sum(AWKWARD_REASON.strip() in row["memo"] for row in rows) == 2  # the void's two postings
    # Entry by entry, too.
    per_entry = defaultdict(Decimal)
    for row in rows:
        per_entry[row["entry"]] += Decimal(row["debit"] or 0) - Decimal(row["credit"] or 0)
    assert set(per_entry.values()) == {Decimal(0)}
    assert len(per_entry) == JournalEntry.objects.filter(tenant=clinic.tenant).count()
    assert_reconciled()


def test_a_part_of_the_period_exports_only_its_entries_and_still_balances():
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    busy_period(clinic)
    day = dt.date(2026, 3, 5)
    _, rows, (debits, credits) = _csv_rows(clinic, day, day)
    assert rows and {r["date"] for r in rows} == {"2026-03-05"} and debits == credits
    assert {r["entry"] for r in rows} == {
        str(i) for i in JournalEntry.objects.filter(tenant=clinic.tenant, date=day).values_list("id", flat=True)
    }
    text, count = _beancount_text(clinic, day, day)
    assert count == 7  # six redemptions and a void
    _, errors, _ = loader.load_string(text)
    assert errors == []
    # Another tenant's journal never leaks into the export.
    other = Clinic.open(now=local(2026, 3, 1, 9))
    assert _beancount_text(other, FIRST_DAY, LAST_DAY)[1] == 0
    assert _csv_rows(other)[1] == []
    assert_reconciled()
    assert money.money_problems(clinic.tenant) == []
