"""Period close: an accountant closes a month that has ended; afterwards nothing posts into it — a late
entry is dated on the first day of the first open period and names the day it belongs to; the journal
export and the reports say which periods are closed."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from beancount import loader

from punchcard import clock
from punchcard.domain.errors import Conflict
from punchcard.domain.roles import Actor
from punchcard.ledger import periods
from punchcard.ledger.exports import export_beancount, export_csv
from punchcard.ledger.models import AccountingPeriod, JournalEntry
from punchcard.packages.services import expire_due_packages
from punchcard.reports.services import run_report
from punchcard.tenancy.models import AuditEvent

from ..api.conftest import Api, api_key
from ..cli.conftest import run
from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db
ACCOUNTANT = Actor(label="test-accountant", role="accountant", source="tests")


@pytest.fixture
def clinic():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    yield clinic
    clock.set_now(None)


@pytest.fixture
def march(clinic):
    """A 10-day pack sold on 1 March, one session used on 3 March; it expires after 10 March."""
    plan = clinic.plan(
        "ten-days",
        price=100000,
        lines=[clinic.line("physio", sessions=4)],
        expiry={"kind": "after_start", "count": 10, "unit": "days"},
    )
    package = clinic.sell(plan)
    clock.set_now(local(2026, 3, 3, 11))
    clinic.redeem(package, "physio")
    clock.set_now(local(2026, 4, 5, 9))
    return package


def test_close_through_the_api_by_role_idempotent_and_audited(clinic, march):
    accountant = Api(api_key(clinic, "accountant"))
    not_ended = accountant.post("/accounting-periods/2026-04/close")
    assert (not_ended.status, not_ended.body["code"], not_ended.body["field"]) == (409, "period_not_ended", "period")
    for role in ("front_desk", "manager"):
        refused = Api(api_key(clinic, role)).post("/accounting-periods/2026-03/close")
        assert (refused.status, refused.body["permission"]) == (403, "close_periods")
    assert AccountingPeriod.objects.count() == 0

    closed = accountant.post("/accounting-periods/2026-03/close")
    assert closed.status == 200, closed.body
    assert closed.body["closed_now"] == ["2026-03"]
    assert (closed.body["period"]["status"], closed.body["period"]["ends"]) == ("closed", "2026-03-31")
    again = accountant.post("/accounting-periods/2026-03/close")
    assert (again.status, again.body["closed_now"], again.body["period"]["status"]) == (200, [], "closed")
    assert AuditEvent.objects.filter(tenant=clinic.tenant, action="period.close").count() == 1
    assert accountant.post("/accounting-periods/2026-13/close").status == 422

    listed = accountant.get("/accounting-periods")
    assert listed.status == 200
    assert [(p["period"], p["status"], p["ended"]) for p in listed.body["items"]] == [
        ("2026-03", "closed", True),
        ("2026-04", "open", False),
    ]
    assert (listed.body["closed_through"], listed.body["first_open_day"]) == ("2026-03-31", "2026-04-01")
    assert Api(api_key(clinic, "front_desk")).get("/accounting-periods").status == 403


def test_a_late_entry_posts_on_the_first_open_day_and_names_its_date(clinic, march):
    periods.close_period(tenant=clinic.tenant, actor=ACCOUNTANT, period="2026-03")
    march_entries = list(JournalEntry.objects.filter(tenant=clinic.tenant).values_list("id", "date"))
    # The sweep is run late, as of 31 March: the breakage belongs to March, which is closed.
    assert expire_due_packages(as_of=dt.date(2026, 3, 31), tenant=clinic.tenant, now=clock.now()) == 1
    breakage = JournalEntry.objects.get(tenant=clinic.tenant, kind="breakage")
    assert (breakage.date, breakage.original_date) == (dt.date(2026, 4, 1), dt.date(2026, 3, 31))
    assert "belongs to 2026-03-31, in closed period 2026-03" in breakage.memo
    assert (breakage.event_type, breakage.event_id) == ("package_expiry", march.id)
    # Nothing was dated in March after the close, and March's entries are untouched.
    assert list(JournalEntry.objects.filter(tenant=clinic.tenant, date__lte=dt.date(2026, 3, 31)).values_list(
        "id", "date"
    )) == march_entries  # fmt: skip
    assert_reconciled(clinic.tenant)


def test_record_never_posts_into_a_closed_period(clinic, march):
    """The one writer every service uses: a date in a closed month moves to the first open day."""
    periods.close_period(tenant=clinic.tenant, actor=ACCOUNTANT, period="2026-03")
    assert periods.posting_date(clinic.tenant, dt.date(2026, 3, 15)) == (dt.date(2026, 4, 1), dt.date(2026, 3, 15))
    assert periods.posting_date(clinic.tenant, dt.date(2026, 4, 2)) == (dt.date(2026, 4, 2), None)


def test_closing_a_month_closes_the_earlier_open_ones_with_it(clinic, march):
    clock.set_now(local(2026, 6, 2, 9))
    row, closed_now = periods.close_period(tenant=clinic.tenant, actor=ACCOUNTANT, period="2026-05")
    assert closed_now == ["2026-03", "2026-04", "2026-05"] and row.label == "2026-05"
    assert periods.closed_through(clinic.tenant) == dt.date(2026, 5, 31)
    with pytest.raises(Conflict) as refused:
        periods.close_period(tenant=clinic.tenant, actor=ACCOUNTANT, period="2026-06")
    assert refused.value.code == "period_not_ended"


def test_a_period_ends_at_midnight_in_the_tenants_zone(clinic, march):
    # 31 March 20:00 UTC is already 1 April in Kolkata: March has ended there.
    clock.set_now(dt.datetime(2026, 3, 31, 20, 0, tzinfo=dt.UTC))
    assert periods.close_period(tenant=clinic.tenant, actor=ACCOUNTANT, period="2026-03")[1] == ["2026-03"]


def test_exports_and_reports_say_which_periods_are_closed(clinic, march):
    periods.close_period(tenant=clinic.tenant, actor=ACCOUNTANT, period="2026-03")
    expire_due_packages(as_of=dt.date(2026, 3, 31), tenant=clinic.tenant, now=clock.now())
    out = io.StringIO()
    export_csv(clinic.tenant, dt.date(2026, 3, 1), dt.date(2026, 4, 30), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["period_status"] for r in rows if r["date"] < "2026-04-01"} == {"closed"}
    late = [r for r in rows if r["kind"] == "breakage"]
    assert late and {(r["date"], r["period_status"], r["original_date"]) for r in late} == {
        ("2026-04-01", "open", "2026-03-31")
    }
    text = io.StringIO()
    export_beancount(clinic.tenant, dt.date(2026, 3, 1), dt.date(2026, 4, 30), text)
    assert "; closed accounting periods: 2026-03 (nothing posts into them)" in text.getvalue()
    assert 'original_date: "2026-03-31"' in text.getvalue()
    _, errors, _ = loader.load_string(text.getvalue())
    assert errors == []

    report = run_report(
        tenant=clinic.tenant, actor=ACCOUNTANT, name="sales", date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 4, 4)
    )
    assert report.extra["closed_periods"] == ["2026-03"]
    assert any("Closed accounting periods: 2026-03" in note for note in report.notes)
    april = run_report(
        tenant=clinic.tenant, actor=ACCOUNTANT, name="sales", date_from=dt.date(2026, 4, 1), date_to=dt.date(2026, 4, 4)
    )
    assert april.extra["closed_periods"] == []
    csv_reply = Api(api_key(clinic, "accountant")).get("/reports/sales", **{"from": "2026-03-01", "format": "csv"})
    assert csv_reply.headers["Closed-Periods"] == "2026-03"
    assert_reconciled(clinic.tenant)


def test_the_period_command(clinic, march):
    slug = clinic.tenant.slug
    early = run("period", "close", "2026-04", "--tenant", slug)
    assert early.code == 1 and early.error_lines[0].startswith("error [period_not_ended]: 2026-04 has not ended")
    bad = run("period", "close", "October", "--tenant", slug)
    assert bad.code == 2 and "YYYY-MM" in bad.error_lines[0]
    assert AccountingPeriod.objects.count() == 0
    closed = run("period", "close", "2026-03", "--tenant", slug)
    assert closed.code == 0 and "Closed 2026-03" in closed.out and "posted on 2026-04-01" in closed.out
    assert "was closed already" in run("period", "close", "2026-03", "--tenant", slug).out
    listed = run("period", "list", "--tenant", slug).out
    assert "2026-03" in listed and "closed" in listed and "open (current)" in listed


def test_a_month_before_the_books_began_is_refused_naming_it_and_never_answers_500(clinic, march):
    # Found by the outside schemathesis run: closing 1900-01 after March was closed answered 500.
    accountant = Api(api_key(clinic, "accountant"))
    assert accountant.post("/accounting-periods/2026-03/close").status == 200
    before = accountant.post("/accounting-periods/1900-01/close")
    assert (before.status, before.body["field"]) == (422, "period")
    assert "books begin in 2026-03" in before.body["detail"]
    assert list(AccountingPeriod.objects.values_list("month", flat=True)) == [dt.date(2026, 3, 1)]
