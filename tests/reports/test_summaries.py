"""Reports from summaries: the folded totals plus the live tail give exactly the figures of a full scan.

The clinic's month of March (tests.reports.test_reports' story: sales at two centres, a promotion, a
bulk order of codes, a claim, a refund, a void, an appointment, the sweep) is read three ways: with
nothing folded (all live), folded (all summary), and folded with more activity above the watermark —
a back-dated redemption, a void of a folded redemption, a correction belonging to a closed month, a
sale and a use either side of midnight at a centre whose zone is 5:45 ahead of UTC. Each way, every
report the summaries serve must equal the same report computed from the ledgers alone.
"""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
from django.core.management import call_command
from django.db import connections, transaction

from punchcard.domain.roles import Actor, Role
from punchcard.jobs import registry
from punchcard.jobs.schedules import Every
from punchcard.ledger import periods
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages import services as packages
from punchcard.packages.models import SessionEntry
from punchcard.reports import tasks
from punchcard.reports.definitions.liability import liability
from punchcard.reports.definitions.sales import package_sales
from punchcard.reports.definitions.usage import usage
from punchcard.reports.models import MoneyDay, SessionInterval, UsageDay
from punchcard.reports.summaries import JOURNAL_ENTRIES, POSTINGS, SESSION_ENTRIES, fold_summaries, folded_to
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .test_reports import story  # noqa: F401  (the fixture)

D = dt.date
KATHMANDU = zoneinfo.ZoneInfo("Asia/Kathmandu")  # UTC+5:45: its midnight is a quarter hour, not an hour
ADMIN = Actor(label="test-admin", role=Role.ADMIN, source="tests")
ACCOUNTANT = Actor(label="test-accountant", role=Role.ACCOUNTANT, source="tests")
SPANS = [(D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 3, 5), D(2026, 3, 12)), (D(2026, 4, 1), D(2026, 4, 30))]


def fold(now: dt.datetime) -> None:
    """What the job does over a few runs: on PostgreSQL a watermark needs three (candidate, barrier, fold)."""
    for i in range(3):
        fold_summaries(now=now + dt.timedelta(seconds=2 * i))


def caught_up() -> bool:
    tops = {
        POSTINGS: Posting.objects.order_by("-id").values_list("id", flat=True).first(),
        JOURNAL_ENTRIES: JournalEntry.objects.order_by("-id").values_list("id", flat=True).first(),
        SESSION_ENTRIES: SessionEntry.objects.order_by("-id").values_list("id", flat=True).first(),
    }
    return all(folded_to(source) == top for source, top in tops.items())


def assert_summaries_equal_scans(clinic, centres, plans) -> int:
    """Every span × filter × grouping: summary + live tail == the full scan. Returns how many were compared."""
    compared = 0
    for date_from, date_to in SPANS:
        for centre_id, plan_id in [(None, None), *[(c, None) for c in centres], *[(None, p) for p in plans]]:
            span = dict(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id)
            summary, scan = liability(clinic.tenant, **span), liability(clinic.tenant, **span, scan=True)
            assert summary.rows == scan.rows, span
            for key in ("money", "codes", "sessions", "closing", "balanced"):
                assert summary.extra[key] == scan.extra[key], (span, key)
            assert summary.extra["balanced"] is True
            for by in [("service",), ("centre", "practitioner"), ("plan", "service")]:
                summary, scan = usage(clinic.tenant, **span, by=by), usage(clinic.tenant, **span, by=by, scan=True)
                assert sorted(summary.rows, key=repr) == sorted(scan.rows, key=repr), (span, by)
                assert summary.totals == scan.totals, (span, by)
            for period in ("day", "month"):
                summary = package_sales(clinic.tenant, **span, period=period)
                scan = package_sales(clinic.tenant, **span, period=period, scan=True)
                assert sorted(summary.rows, key=repr) == sorted(scan.rows, key=repr), (span, period)
                assert summary.totals == scan.totals, (span, period)
            compared += 1
    return compared


@pytest.mark.django_db
def test_summaries_and_the_live_tail_give_the_full_scans_figures(story):  # noqa: F811
    clinic = story
    kathmandu = tenancy.create_centre(
        tenant=clinic.tenant, actor=ADMIN, name="Thamel", code="thamel", timezone="Asia/Kathmandu"
    )
    centres = [clinic.centre.id, clinic.other_centre.id, kathmandu.id]
    plans = sorted({p.plan_version.plan_id for p in clinic.packages.values()})

    # 1. Nothing folded: every figure comes from the live tail, which is then the whole ledger.
    assert folded_to(SESSION_ENTRIES) == 0
    assert assert_summaries_equal_scans(clinic, centres, plans) == 3 * (1 + len(centres) + len(plans))

    # 2. Folded: every figure comes from the summaries (the tail is empty).
    fold(local(2026, 4, 3, 10))
    assert caught_up()
    assert SessionInterval.objects.filter(tenant=clinic.tenant).exists()
    assert MoneyDay.objects.filter(tenant=clinic.tenant).count() < Posting.objects.filter(tenant=clinic.tenant).count()
    assert_summaries_equal_scans(clinic, centres, plans)

    # 3. More activity, some of it late, above the watermark.
    a1, b1, c1 = clinic.packages["a1"], clinic.packages["b1"], clinic.packages["c1"]
    late = packages.redeem_session(  # a paper slip from 14 March, entered on 3 April
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=b1.id,
        service_id=clinic.services["physio"].id,
        centre_id=clinic.other_centre.id,
        at=local(2026, 3, 14, 16),
        backdate_reason="paper slip found",
        now=local(2026, 4, 3, 11),
    )
    assert late.day == D(2026, 3, 14)
    folded_use = c1.redemptions.order_by("id").first()  # folded in step 2, voided now: nets to nothing
    assert SessionEntry.objects.get(redemption=folded_use, kind="redeem").id <= folded_to(SESSION_ENTRIES)
    periods.close_period(tenant=clinic.tenant, actor=ACCOUNTANT, period="2026-03", now=local(2026, 4, 3, 12))
    packages.void_redemption(
        tenant=clinic.tenant,
        actor=clinic.manager,
        redemption_id=folded_use.id,
        reason="charged to the wrong package",
        now=local(2026, 4, 3, 13),
    )
    thamel = clinic.sell(
        a1.plan_version, patient=clinic.kiran, centre=kathmandu, now=dt.datetime(2026, 4, 3, 23, 50, tzinfo=KATHMANDU)
    )
    clinic.redeem(thamel, "physio", centre=kathmandu, now=dt.datetime(2026, 4, 4, 0, 5, tzinfo=KATHMANDU))
    assert not caught_up()
    assert_summaries_equal_scans(clinic, centres, plans)

    # The back-dated session counts on 14 March; the void of a March use lands in April (March is closed).
    march = liability(clinic.tenant, date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    assert (
        march.extra["sessions"]
        == liability(clinic.tenant, date_from=D(2026, 3, 1), date_to=D(2026, 3, 31), scan=True).extra["sessions"]
    )
    # At Thamel the sale (23:50 on 3 April) and the use (00:05 on 4 April) fall on their own local days.
    at_thamel = dict(date_from=D(2026, 4, 4), date_to=D(2026, 4, 4), centre_id=kathmandu.id)
    fourth = liability(clinic.tenant, **at_thamel)
    assert fourth.extra["sessions"]["opening"] == 10  # granted on 3 April, local time
    assert fourth.extra["sessions"]["recognised"] == 1

    # 4. Folded again: the late rows join their own days and quarter hours.
    fold(local(2026, 4, 4, 10))
    assert caught_up()
    assert_summaries_equal_scans(clinic, centres, plans)
    assert liability(clinic.tenant, **at_thamel).extra == fourth.extra
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_the_command_folds_up_to_the_latest_rows(capsys):
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    plan = clinic.plan("physio-5", price=500000, scope="all", lines=[clinic.line("physio", sessions=5)])
    clinic.redeem(clinic.sell(plan), "physio", now=local(2026, 3, 2, 10))
    call_command("summaries", timeout="60")
    assert caught_up()
    assert "session_entry" in capsys.readouterr().out
    span = dict(date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    assert usage(clinic.tenant, **span).totals == {"redemptions": 1, "sessions": 1, "value": 100000}


def test_the_job_runs_every_five_minutes():
    job = {j.name: j for j in registry.jobs()}["report-summaries"]
    assert job.schedule == Every(minutes=5)
    assert job.task is tasks.report_summaries


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_id_committed_after_a_higher_one_is_not_skipped():
    """Transaction A draws the lower session-entry id, B the higher; B commits first. A fold meanwhile must
    not move the watermark past A's id, or A's entry would be in neither the summary nor the live tail."""
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    plan = clinic.plan("physio-5", price=500000, scope="all", lines=[clinic.line("physio", sessions=5)])
    first, second = clinic.sell(plan), clinic.sell(plan, patient=clinic.ravi)
    fold(local(2026, 3, 1, 9, 30))
    assert caught_up()
    written, release = threading.Event(), threading.Event()
    drawn: dict = {}

    def slow_redemption():
        try:
            with transaction.atomic():
                drawn["a"] = clinic.redeem(first, "physio", now=local(2026, 3, 2, 10)).id
                written.set()
                assert release.wait(30)
        finally:
            connections.close_all()

    a = threading.Thread(target=slow_redemption)
    a.start()
    assert written.wait(30)
    b = clinic.redeem(second, "physio", now=local(2026, 3, 2, 10, 1))
    b_entry = SessionEntry.objects.get(redemption_id=b.id).id
    before = folded_to(SESSION_ENTRIES)
    fold(local(2026, 3, 2, 10, 2))
    fold(local(2026, 3, 2, 10, 3))
    # A is still running: the watermark waits below it, whatever B committed above it.
    assert folded_to(SESSION_ENTRIES) == before < b_entry
    span = dict(date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    assert liability(clinic.tenant, **span).extra == liability(clinic.tenant, **span, scan=True).extra
    release.set()
    a.join(30)
    a_entry = SessionEntry.objects.get(redemption_id=drawn["a"]).id
    assert before < a_entry < b_entry
    fold(local(2026, 3, 2, 10, 4))
    assert folded_to(SESSION_ENTRIES) >= b_entry
    assert UsageDay.objects.filter(tenant=clinic.tenant, upto__gte=a_entry).exists()
    by_service = usage(clinic.tenant, **span)
    assert by_service.totals["redemptions"] == 2  # A's use is counted, in the summary
    assert by_service.rows == usage(clinic.tenant, **span, scan=True).rows
    assert liability(clinic.tenant, **span).extra == liability(clinic.tenant, **span, scan=True).extra
    assert_reconciled(clinic.tenant)
