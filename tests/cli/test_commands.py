"""plans, sell, redeem, hold/post/release, void, show, expire: output, and one-line refusals that write nothing."""

from __future__ import annotations

import pytest
from django.db.models import F

from punchcard.billing.models import Order, Payment
from punchcard.domain.roles import cli_actor
from punchcard.ledger.models import JournalEntry
from punchcard.packages.models import Hold, Package, PackageLine, Redemption, SessionEntry
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.models import AuditEvent

from .conftest import run

pytestmark = pytest.mark.django_db

WRITES = (Order, Payment, Package, Redemption, Hold, SessionEntry, JournalEntry)


def counts():
    return {model.__name__: model.objects.count() for model in WRITES}


def refused(result, code: str, exit_code: int, message: str | None = None):
    assert result.code == exit_code, (result.out, result.err)
    assert len(result.error_lines) == 1, result.err
    line = result.error_lines[0]
    assert line.startswith(f"error [{code}]: "), line
    if message is not None:
        assert line == f"error [{code}]: {message}"
    assert "Traceback" not in result.err


def test_plans_lists_the_catalogue_in_rupees(demo):
    result = run("plans")
    assert result.code == 0, result.err
    for text in (
        "physio-recovery",
        "Physiotherapy Recovery Pack",
        "₹8,000.00",
        "90 days after the start date",
        "10-Class Package",
        "60 days after the first use",
        "4 (3 + 1 bonus)",
        "₹7,080.00 incl. 18% tax",
        "soft, 14 grace days",
        "shareable (up to 4)",
    ):
        assert text in result.out, text


def test_sell_prints_the_package_and_is_idempotent(demo):
    before = Order.objects.count()
    args = (
        "sell",
        "P-1013",
        "physio-recovery",
        "--centre",
        "koramangala",
        "--method",
        "card",
        "--reference",
        "CARD AUTH 1",
        "--idempotency-key",
        "sale-ananya-1",
    )
    first = run(*args)
    assert first.code == 0, first.err
    package = Package.objects.get(holder__external_ref="P-1013")
    assert f"package {package.id}, 12 sessions, starts 20 May 2026, expires 17 Aug 2026" in first.out
    assert "₹8,000.00 paid by card" in first.out
    assert package.sold_at.code == "koramangala"
    assert run(*args).code == 0
    assert Order.objects.count() == before + 1 and Package.objects.filter(holder__external_ref="P-1013").count() == 1
    shown = run("show", "P-1013")
    assert "Physiotherapy 0 of 10 used, 10 remaining, expires 17 Aug 2026" in shown.out


def test_sell_future_dated_and_by_patient_id(demo):
    patient = demo.patients["nikhil"]
    result = run("sell", str(patient.id), "facials-6", "--start", "2026-06-01", "--staff", str(demo.staff["sneha"].id))
    assert result.code == 0, result.err
    assert "starts 1 Jun 2026" in result.out and "credited to Sneha Pillai" in result.out
    assert "scheduled" in run("show", "P-1006").out


@pytest.mark.parametrize(
    "args, code, exit_code, message",
    [
        (("sell", "P-9999", "physio-recovery"), "not_found", 2, "no patient with reference or id 'P-9999'"),
        (("sell", "P-1001", "no-such-plan"), "not_found", 2, "no plan with code 'no-such-plan'"),
        (
            ("sell", "P-1001", "physio-recovery", "--centre", "andheri"),
            "not_found",
            2,
            "no centre 'andheri' (centres: bandra, dubai, koramangala)",
        ),
        (("sell", "P-1001", "physio-recovery", "--method", "cheque"), "invalid", 2, None),
        (
            ("sell", "P-1001", "physio-recovery", "--start", "2026-05-01"),
            "invalid",
            2,
            "a package cannot start before today",
        ),
        (
            ("sell", "P-1001", "physio-recovery", "--start", "tomorrow"),
            "invalid",
            2,
            "start 'tomorrow' is not an ISO date (YYYY-MM-DD)",
        ),
        (("sell", "P-1001", "physio-recovery", "--staff", "x"), "invalid", 2, "staff must be a whole number, not 'x'"),
    ],
)
def test_bad_sales_are_one_line_refusals_that_write_nothing(demo, args, code, exit_code, message):
    before = counts()
    refused(run(*args), code, exit_code, message)
    assert counts() == before


def test_redeem_and_over_redeem(demo):
    package = demo.packages["asha-physio"]
    result = run("redeem", str(package.id), "physio", "--sessions", "2")
    assert result.code == 0, result.err
    assert "Redeemed 2 × Physiotherapy 45 min" in result.out and "for Asha Rao at Bandra" in result.out
    assert "Physiotherapy 6 of 10 used, 4 remaining, expires 8 Jul 2026" in result.out
    before = counts()
    refused(
        run("redeem", str(package.id), "physio", "--sessions", "5"),
        "insufficient_sessions",
        1,
        "5 session(s) asked, 4 available",
    )
    assert counts() == before
    line = PackageLine.objects.get(package=package, label="Physiotherapy")
    assert (line.redeemed, line.available) == (6, 4)


def test_a_beneficiary_redeems_the_family_pack_at_another_centre(demo):
    family = demo.packages["rao-family"]
    result = run(
        "redeem",
        str(family.id),
        "massage",
        "--person",
        "P-1003",
        "--centre",
        "bandra",
        "--practitioner",
        str(demo.staff["imran"].id),
        "--idempotency-key",
        "visit-77",
    )
    assert result.code == 0, result.err
    assert "for Meena Rao at Bandra" in result.out
    again = run(
        "redeem", str(family.id), "massage", "--person", "P-1003", "--centre", "bandra", "--idempotency-key", "visit-77"
    )
    assert again.code == 0
    assert Redemption.objects.filter(idempotency_key="visit-77").count() == 1


@pytest.mark.parametrize(
    "key, args, code, exit_code, message",
    [
        (
            "rao-family",
            ("massage", "--person", "P-1004"),
            "not_beneficiary",
            1,
            "this person is neither the holder nor a beneficiary of the package",
        ),
        ("asha-physio", ("facial",), "service_not_eligible", 1, "the package does not cover this service"),
        (
            "asha-physio",
            ("physio", "--centre", "koramangala"),
            "out_of_scope",
            1,
            "the package cannot be used at this centre",
        ),
        ("lata-physio", ("physio", "--centre", "koramangala"), "package_closed", 1, "the package is completed"),
        ("divya-physio", ("physio",), "not_started", 1, None),
        ("asha-physio", ("physio", "--sessions", "lots"), "invalid", 2, "sessions must be a whole number, not 'lots'"),
        ("asha-physio", ("physio", "--sessions", "0"), "invalid", 2, None),
        ("asha-physio", ("yoga-nidra",), "not_found", 2, "no service with code 'yoga-nidra'"),
        ("asha-physio", ("physio", "--person", "P-0000"), "not_found", 2, "no patient with reference or id 'P-0000'"),
    ],
)
def test_refused_redemptions(demo, key, args, code, exit_code, message):
    before = counts()
    refused(run("redeem", str(demo.packages[key].id), *args), code, exit_code, message)
    assert counts() == before


def test_priya_expired_chiro_pack_is_refused_as_expired(demo):
    # Past its hard expiry (the sweep already turned the unused bonus session into breakage).
    result = run("redeem", str(demo.packages["priya-chiro"].id), "chiro")
    assert result.code == 1 and result.error_lines[0].startswith("error [expired]: ")


def test_unknown_package_and_other_tenants_package(demo):
    refused(run("redeem", "999999", "physio"), "not_found", 2, "no package 999999")
    refused(run("redeem", "abc", "physio"), "invalid", 2, "package_id must be a whole number, not 'abc'")


def test_void_restores_the_session_once(demo):
    package = demo.packages["asha-physio"]
    run("redeem", str(package.id), "physio")
    redemption = Redemption.objects.filter(package=package, voided_at__isnull=True).latest("id")
    refused(run("void", str(redemption.id)), "invalid", 2, "--reason TEXT is required")
    result = run("void", str(redemption.id), "--reason", "entered twice")
    assert result.code == 0, result.err
    assert "approved by Meera Iyer" in result.out
    assert "Physiotherapy 4 of 10 used" in result.out
    redemption.refresh_from_db()
    assert redemption.void_approver_id == demo.staff["meera"].id and redemption.voided_by.endswith("Meera Iyer")
    before = counts()
    refused(run("void", str(redemption.id), "--reason", "again"), "already_voided", 1)
    refused(
        run("void", str(redemption.id), "--reason", "x", "--approver", str(demo.staff["dev"].id)),
        "forbidden",
        1,
        "Dev Shah is not an active manager and cannot approve a void",
    )
    assert counts() == before


def test_hold_post_and_release(demo):
    package = demo.packages["asha-physio"]
    held = run("hold", str(package.id), "physio", "--day", "2026-05-25")
    assert held.code == 0, held.err
    hold = Hold.objects.filter(package=package).latest("id")
    assert f"hold {hold.id}" in held.out and "status active, 6 available, 1 held" in held.out
    released = run("release", str(hold.id), "--reason", "appointment cancelled")
    assert released.code == 0 and "7 available, 0 held" in released.out
    second = Hold.objects.get(
        pk=int(run("hold", str(package.id), "physio", "--day", "2026-05-26").out.split("hold ")[1].split(".")[0])
    )
    posted = run("post", str(second.id))
    assert posted.code == 0 and "Physiotherapy 5 of 10 used" in posted.out
    refused(run("release", str(second.id)), "hold_resolved", 1)
    refused(run("hold", str(package.id), "physio"), "invalid", 2, "--day DATE is required: the appointment's date")
    refused(run("hold", str(package.id), "physio", "--day", "2026-08-01"), "expired", 1)


def test_a_hold_before_today_needs_a_backdate_reason(demo):
    package = demo.packages["asha-physio"]
    before = counts()
    refused(run("hold", str(package.id), "physio", "--day", "2026-05-19"), "backdated", 1)
    assert counts() == before
    late = run("hold", str(package.id), "physio", "--day", "2026-05-19", "--backdate-reason", "entered a day late")
    assert late.code == 0, late.err
    hold = Hold.objects.filter(package=package).latest("id")
    assert AuditEvent.objects.get(action="hold.backdate", subject_id=hold.id).reason == "entered a day late"


def test_show_as_of_a_later_date_and_unknown_patient(demo):
    later = run("show", "P-1001", "--as-of", "2026-07-09")
    assert later.code == 0
    assert "expired after 8 Jul 2026" in later.out
    refused(run("show", "nobody"), "not_found", 2, "no patient with reference or id 'nobody'")
    refused(run("show", "P-1001", "--as-of", "next week"), "invalid", 2)


def test_show_a_patient_without_packages(demo):
    result = run("show", "P-1013")
    assert result.code == 0 and "No packages." in result.out


def test_expire_sweeps_as_of_a_date_and_stays_reconciled(demo):
    result = run("expire", "--as-of", "2027-06-01", "--allow-future")
    assert result.code == 0, result.err
    count = int(result.out.split("Expired ")[1].split(" ")[0])
    assert count >= 5
    assert run("expire", "--as-of", "2027-06-01", "--allow-future").out.startswith("Expired 0 package(s)")
    assert run("reconcile").code == 0


def test_expire_refuses_a_future_as_of_date_without_allow_future(demo):
    before = SessionEntry.objects.count()
    refused(run("expire", "--as-of", "2027-06-01"), "invalid", 2)
    assert "is after today (2026-05-20)" in run("expire", "--as-of", "2027-06-01").err
    refused(run("expire", "--as-of", "2026-05-21T09:00+05:30"), "invalid", 2)
    assert SessionEntry.objects.count() == before
    assert run("expire", "--as-of", "2026-05-20").code == 0  # today is fine, and so is the past
    assert run("expire", "--as-of", "2026-04-01").code == 0


def test_tenant_selection(demo):
    tenancy.create_tenant(name="Other Clinic", slug="other")
    refused(run("plans"), "invalid", 2, "there are several tenants (demo, other); pass --tenant SLUG")
    assert "No plans yet." in run("plans", "--tenant", "other").out
    assert "physio-recovery" in run("plans", "--tenant", "demo").out
    refused(run("plans", "--tenant", "nope"), "not_found", 2, "no tenant 'nope'")
    # Another tenant's package answers exactly like a missing one.
    refused(run("redeem", str(demo.packages["asha-physio"].id), "physio", "--tenant", "other"), "not_found", 2)


def test_argument_errors_exit_2(demo):
    result = run("redeem")
    assert result.code == 2 and "the following arguments are required" in result.exc.message


def test_cli_actor_is_recorded(demo):
    package = demo.packages["asha-physio"]
    run("redeem", str(package.id), "physio")
    entry = SessionEntry.objects.filter(package=package).latest("id")
    assert (entry.actor, entry.source) == (cli_actor().label, "cli")


def test_reconcile_reports_a_cache_mismatch(demo):
    line = PackageLine.objects.get(package=demo.packages["asha-physio"], label="Physiotherapy")
    PackageLine.objects.filter(pk=line.pk).update(redeemed=F("redeemed") + 1)
    result = run("reconcile")
    refused(result, "reconcile_failed", 1)
    assert "MISMATCH" in result.out and f"package {line.package_id} line {line.id}" in result.out
    assert "redeemed: cached 5, ledger 4" in result.out
    assert run("reconcile", "--all").code == 1
