"""Every report (SPEC §11, §8.6) against figures worked out by hand from one month of known events.

The story (Asia/Kolkata, two centres A = bandra and B = koramangala, no tax):
  physio-10: 10 physio for 10,000.00 (1,000.00 a session), any centre, 90 days
  yoga-5:    5 yoga for 100.00 (20.00 a session), 30 days
  chiro-2:   2 chiro for 160.00 (80.00 a session), no expiry
  Mar 1  a1 physio-10 to Asha at A
  Mar 2  b1 physio-10 to Ravi at B with SPRING10 (10 % off: 9,000.00, 900.00 a session); c1 chiro-2 to Priya
  Mar 3  k1 yoga-5 to Kiran at A, sale credited to Dev (10 % commission: 10.00); c2 chiro-2 to Asha, used
  Mar 4  k1 yoga used; c1 chiro used
  Mar 5  l1 yoga-5 to Lata, used; a1 used at A (and Mar 6, Mar 7)
  Mar 6  Acme buys 3 yoga-5 claim codes (expire Mar 31), pays
  Mar 8  a1 used at B                          → A owes B 1,000.00
  Mar 9  b1 used at B by appointment with Dev   (commission 90.00); c1 used (fully used after 7 days)
  Mar 10 b1 used at B;  Mar 11 b1 used at A     → B owes A 900.00
  Mar 12 a1's Mar 7 use voided
  Mar 13 c2 used (fully used after 10 days)
  Mar 15 l1 refunded (suggested 80.00 = what was left)
  Mar 20 Nikhil claims code 1 (n1), Mar 21 uses it
  Mar 22 code 2 revoked, refunded to Acme
  Apr 1  code 3 expires unclaimed (100.00 breakage); Apr 2 k1 expires with 4 sessions left (80.00 breakage)
"""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from punchcard.appointments import services as appointments
from punchcard.billing import services as billing
from punchcard.claims import services as claims
from punchcard.packages import services as packages
from punchcard.promotions import services as promotions
from punchcard.reports import services as report_services
from punchcard.reports.definitions import liability as reports
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def story():
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    A, B = clinic.centre, clinic.other_centre
    dev = clinic.front_desk.staff_id
    physio = clinic.plan(
        "physio-10",
        price=1000000,
        scope="all",
        lines=[clinic.line("physio", sessions=10)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
    )
    yoga = clinic.plan(
        "yoga-5",
        price=10000,
        lines=[clinic.line("yoga", sessions=5)],
        expiry={"kind": "after_start", "count": 30, "unit": "days"},
    )
    chiro = clinic.plan("chiro-2", price=16000, lines=[clinic.line("chiro", sessions=2)])
    promotions.create_promotion(
        tenant=clinic.tenant,
        actor=clinic.manager,
        name="Spring 10%",
        kind="percent",
        percent_bp=1000,
        code="SPRING10",
        plan_ids=[physio.plan_id],
    )

    def sell(plan, patient, day, centre=A, **kw):
        return clinic.sell(plan, patient=patient, centre=centre, now=local(2026, 3, day), **kw)

    def use(package, service, day, centre=A, **kw):
        return clinic.redeem(package, service, centre=centre, now=local(2026, 3, day), **kw)

    a1 = sell(physio, clinic.asha, 1)
    order = billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.ravi.id,
        centre_id=B.id,
        items=[billing.OrderItem(plan_id=physio.plan_id)],
        promotion_code="SPRING10",
        now=local(2026, 3, 2),
    )
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="card",
        amount=order.due,
        now=local(2026, 3, 2),
    )
    b1 = order.lines.get().packages.get()
    c1 = sell(chiro, clinic.priya, 2)
    k1 = sell(yoga, clinic.kiran, 3, credited_staff_id=dev)
    c2 = sell(chiro, clinic.asha, 3)
    use(c2, "chiro", 3)
    use(k1, "yoga", 4)
    use(c1, "chiro", 4)
    l1 = sell(yoga, clinic.lata, 5)
    use(l1, "yoga", 5)
    use(a1, "physio", 5)
    use(a1, "physio", 6)
    wrong = use(a1, "physio", 7)
    acme = tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="ACME", name="Acme Ltd")
    bulk = claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=acme.id,
        centre_id=A.id,
        plan_id=yoga.plan_id,
        quantity=3,
        expires_on=D(2026, 3, 31),
        now=local(2026, 3, 6),
    )
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=bulk.order.id,
        method="bank_transfer",
        amount=bulk.order.due,
        now=local(2026, 3, 6),
    )
    use(a1, "physio", 8, centre=B)
    visit = appointments.book_appointment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        external_id="APT-9",
        patient_id=clinic.ravi.id,
        service_id=clinic.services["physio"].id,
        centre_id=B.id,
        start=local(2026, 3, 9, 11),
        practitioner_id=dev,
        package_id=b1.id,
        now=local(2026, 3, 8),
    )
    appointments.arrive(
        tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=visit.id, now=local(2026, 3, 9, 11)
    )
    use(c1, "chiro", 9)
    use(b1, "physio", 10, centre=B)
    use(b1, "physio", 11, centre=A)
    packages.void_redemption(
        tenant=clinic.tenant,
        actor=clinic.manager,
        redemption_id=wrong.id,
        reason="entered twice",
        now=local(2026, 3, 12),
    )
    use(c2, "chiro", 13)
    billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=l1.id, reason="moved", now=local(2026, 3, 15)
    )
    codes = [c.plaintext for c in bulk.codes]
    n1 = claims.claim_code(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        code=codes[0],
        patient_id=clinic.nikhil.id,
        now=local(2026, 3, 20),
    ).package
    use(n1, "yoga", 21)
    claims.revoke_claim_code(
        tenant=clinic.tenant,
        actor=clinic.manager,
        code_id=bulk.codes[1].code.id,
        reason="not needed",
        now=local(2026, 3, 22),
    )
    assert claims.expire_claim_codes(as_of=D(2026, 4, 1), now=local(2026, 4, 1, 1)) == 1
    assert packages.expire_due_packages(as_of=D(2026, 4, 2), now=local(2026, 4, 2, 1)) == 1
    assert_reconciled(clinic.tenant)
    clinic.packages = dict(a1=a1, b1=b1, c1=c1, c2=c2, k1=k1, l1=l1, n1=n1)
    return clinic


def run(clinic, name, **kw):
    kw.setdefault("date_from", D(2026, 3, 1))
    kw.setdefault("date_to", D(2026, 3, 31))
    return report_services.run_report(
        tenant=clinic.tenant, actor=clinic.manager, name=name, now=local(2026, 4, 3), **kw
    )


def test_package_sales_by_plan_centre_and_staff(story):
    by_plan = run(story, "sales", by="plan")
    assert {r["plan"]: (r["packages"], r["discount"], r["net"]) for r in by_plan.rows} == {
        "physio-10": (2, 100000, 1000000 + 900000),
        "yoga-5": (2 + 3, 0, 5 * 10000),
        "chiro-2": (2, 0, 2 * 16000),
    }
    assert by_plan.totals["packages"] == 9 and by_plan.totals["net"] == 1982000
    by_centre = run(story, "sales", by="centre,staff")
    assert {(r["centre"], r["staff"]): (r["packages"], r["gross"]) for r in by_centre.rows} == {
        ("bandra", "(none)"): (7, 1000000 + 16000 + 16000 + 10000 + 3 * 10000),
        ("bandra", "Dev (front desk)"): (1, 10000),
        ("koramangala", "(none)"): (1, 900000),
    }
    by_day = run(story, "sales", by="period", period="day", plan="physio-10")
    assert [(r["period"], r["packages"]) for r in by_day.rows] == [(D(2026, 3, 1), 1), (D(2026, 3, 2), 1)]
    assert run(story, "sales", date_from=D(2026, 4, 1), date_to=D(2026, 4, 30)).rows == []


def test_usage_by_service_centre_and_practitioner(story):
    by_service = run(story, "usage", by="service")
    assert {r["service"]: (r["redemptions"], r["value"]) for r in by_service.rows} == {
        "Physiotherapy": (6, 3 * 100000 + 3 * 90000),
        "Yoga class": (3, 3 * 2000),
        "Chiropractic adjustment": (4, 4 * 8000),
    }
    by_centre = run(story, "usage", by="centre")
    assert {r["centre"]: (r["redemptions"], r["value"]) for r in by_centre.rows} == {
        "bandra": (10, 2 * 100000 + 90000 + 4 * 8000 + 3 * 2000),
        "koramangala": (3, 100000 + 2 * 90000),
    }
    by_practitioner = run(story, "usage", by="practitioner", centre="koramangala")
    assert {r["practitioner"]: r["sessions"] for r in by_practitioner.rows} == {"(none)": 2, "Dev (front desk)": 1}
    detail = run(story, "usage-detail", package_id=story.packages["a1"].id)
    assert [(r["day"].day, r["centre"], r["voided"]) for r in detail.rows] == [
        (5, "bandra", ""),
        (6, "bandra", ""),
        (7, "bandra", "yes"),
        (8, "koramangala", ""),
    ]


def test_liability_roll_forward_balances_to_the_deferred_revenue_account(story):
    march = run(story, "liability")
    money, codes, sessions = march.extra["money"], march.extra["codes"], march.extra["sessions"]
    sold = 1000000 + 900000 + 16000 + 10000 + 16000 + 10000  # the packages sold outright
    recognised = 3 * 100000 + 3 * 90000 + 4 * 8000 + 3 * 2000
    assert (
        money["opening"],
        money["sold"],
        money["claimed"],
        money["recognised"],
        money["breakage"],
        money["refunded"],
        money["closing"],
    ) == (0, sold, 10000, recognised, 0, 8000, sold + 10000 - recognised - 8000)
    assert (codes["opening"], codes["sold"], codes["claimed"], codes["refunded"], codes["closing"]) == (
        0,
        30000,
        -10000,
        10000,
        10000,
    )
    closing = 7 * 100000 + 7 * 90000 + 4 * 2000 + 4 * 2000 + 10000  # a1, b1, k1, n1 unused + code 3
    assert march.extra["closing"] == closing == reports.deferred_balance(story.tenant, D(2026, 3, 31))
    assert march.rows[-1] == {
        "movement": "Closing balance",
        "sessions": 22,
        "packages": closing - 10000,
        "codes": 10000,
        "amount": closing,
    }
    assert (
        sessions["opening"],
        sessions["sold"],
        sessions["claimed"],
        sessions["recognised"],
        sessions["refunded"],
        sessions["closing"],
    ) == (0, 10 + 10 + 2 + 5 + 2 + 5, 5, 13, 4, 22)
    assert march.extra["balanced"]

    april = run(story, "liability", date_from=D(2026, 4, 1), date_to=D(2026, 4, 30))
    assert (april.extra["money"]["opening"] + april.extra["codes"]["opening"]) == closing
    assert april.extra["money"]["breakage"] == 8000 and april.extra["codes"]["breakage"] == 10000
    assert april.extra["closing"] == closing - 18000 == reports.deferred_balance(story.tenant, D(2026, 4, 30))
    assert april.extra["sessions"]["breakage"] == 4 and april.extra["sessions"]["closing"] == 18

    # Filtered by the selling centre, B's liability is b1 alone (wherever it was used).
    only_b = run(story, "liability", centre="koramangala")
    assert only_b.extra["closing"] == 7 * 90000 and only_b.extra["sessions"]["closing"] == 7
    only_yoga = run(story, "liability", plan="yoga-5")
    assert only_yoga.extra["closing"] == 4 * 2000 + 4 * 2000 + 10000


def test_expiry_lists_what_is_about_to_be_and_what_was_lost(story):
    soon = run(story, "expiry", as_of=D(2026, 3, 25), days=10)
    assert [(r["state"], r["package"], r["sessions_left"], r["value"]) for r in soon.rows] == [
        ("expiring", story.packages["k1"].id, 4, 8000)
    ]
    gone = run(story, "expiry", as_of=D(2026, 4, 3), days=10, date_from=D(2026, 4, 1))
    assert [(r["state"], r["package"], r["sessions_left"], r["value"]) for r in gone.rows] == [
        ("expired", story.packages["k1"].id, 4, 8000)
    ]
    assert gone.totals["expired_value"] == 8000


def test_completion(story):
    (row,) = run(story, "completion").rows
    # Bought in March: a1 3/10, b1 3/10, c1 2/2, k1 1/5, c2 2/2, l1 1/5, n1 1/5.
    assert row == {
        "packages": 7,
        "fully_used": 2,
        "fully_used_bp": 2 * 10000 // 7,
        "average_completion_bp": (3000 + 3000 + 10000 + 2000 + 10000 + 2000 + 2000) // 7,
        "median_days_to_completion": (7 + 10) / 2,
        "expired_with_sessions_left": 1,
        "expiry_rate_bp": 10000 // 7,
    }


def test_profit_and_commission(story):
    profit = run(story, "profit")
    p = story.packages
    physio_cost, yoga_cost, chiro_cost = 25000, 625, 2500  # a quarter of list price (tests/clinic.py)
    expected = {
        p["a1"].id: (300000, 3 * physio_cost, 0),
        p["b1"].id: (270000, 3 * physio_cost, 9000),
        p["c1"].id: (16000, 2 * chiro_cost, 0),
        p["c2"].id: (16000, 2 * chiro_cost, 0),
        p["k1"].id: (2000, yoga_cost, 1000),
        p["l1"].id: (2000, yoga_cost, 0),
        p["n1"].id: (2000, yoga_cost, 0),
    }
    assert {r["package"]: (r["revenue"], r["delivery_cost"], r["commission"]) for r in profit.rows} == expected
    assert all(r["profit"] == r["revenue"] - r["delivery_cost"] - r["commission"] for r in profit.rows)
    assert profit.totals["profit"] == sum(a - b - c for a, b, c in expected.values())
    april = run(story, "profit", date_from=D(2026, 4, 1), date_to=D(2026, 4, 30))
    assert [(r["package"], r["revenue"]) for r in april.rows] == [(p["k1"].id, 8000)]  # breakage

    (dev,) = run(story, "commission").rows
    assert dev == {"staff": "Dev (front desk)", "sales": 1000, "redemptions": 9000, "credits": 2, "amount": 10000}


def test_centre_settlement(story):
    settlement = run(story, "settlement")
    assert [(r["owed_by"], r["owed_to"], r["sessions"], r["amount"]) for r in settlement.rows] == [
        ("bandra", "koramangala", 1, 100000),
        ("koramangala", "bandra", 1, 90000),
    ]  # the void is excluded
    assert settlement.extra["net"] == [{"from": "bandra", "to": "koramangala", "amount": 10000}]


def test_the_cli_gives_the_same_figures_as_table_csv_and_json(story, capsys):
    out = io.StringIO()
    call_command(
        "report",
        "settlement",
        "--tenant",
        story.tenant.slug,
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "csv",
        stdout=out,
    )
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["owed_by"], r["owed_to"], r["amount"], r["currency"]) for r in rows] == [
        ("bandra", "koramangala", "1000.00", "INR"),
        ("koramangala", "bandra", "900.00", "INR"),
    ]
    out = io.StringIO()
    call_command(
        "report",
        "liability",
        "--tenant",
        story.tenant.slug,
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "json",
        stdout=out,
    )
    data = json.loads(out.getvalue())
    assert data["extra"]["closing"] == reports.deferred_balance(story.tenant, D(2026, 3, 31))
    out = io.StringIO()
    call_command(
        "report",
        "sales",
        "--tenant",
        story.tenant.slug,
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--plan",
        "physio-10",
        "--by",
        "plan",
        stdout=out,
    )
    assert "physio-10" in out.getvalue() and "₹19,000.00" in out.getvalue()
    from punchcard.cli.base import CliError

    with pytest.raises(CliError):
        call_command("report", "sales", "--tenant", story.tenant.slug, "--centre", "nowhere", stderr=io.StringIO())


def test_reports_run_a_fixed_number_of_queries_however_many_packages(story):
    """Computed in the database: more packages, more redemptions — the same queries (no per-row loop)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    names = ["sales", "usage", "liability", "expiry", "completion", "profit", "commission", "settlement"]

    def counts():
        out = {}
        for name in names:
            with CaptureQueriesContext(connection) as queries:
                run(story, name)
            out[name] = len(queries.captured_queries)
        return out

    before = counts()
    plan = story.plan("extra", price=5000, scope="all", lines=[story.line("yoga", sessions=5)])
    for i in range(6):
        package = story.sell(plan, patient=story.priya, now=local(2026, 3, 10 + i))
        story.redeem(package, "yoga", centre=story.other_centre, now=local(2026, 3, 11 + i))
    assert counts() == before
