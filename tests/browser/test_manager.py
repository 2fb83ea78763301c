"""The manager's work in a real browser: a refund with an override (and one out of range refused), a void
the desk asks for and the manager approves with their own login, the liability chart."""

from __future__ import annotations

import re

import pytest

from punchcard.billing.models import Refund
from punchcard.packages.models import Redemption

from ..scenario import assert_reconciled
from .conftest import PASSWORD, assert_accessible, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_refunds_with_an_override_after_an_out_of_range_one_is_refused(page, demo):
    package = demo.packages["asha-physio"]
    log_in(page, demo, "meera")
    page.goto(f"{demo.url}/manage/packages/{package.id}/")
    assert_accessible(page)
    screenshot(page, "manage-package")
    page.get_by_role("link", name="Refund").click()
    dialog = page.get_by_role("region", name="Refund to the patient's credit")
    assert "Suggested refund ₹" in dialog.inner_text()
    page.get_by_label("Amount to refund").fill("90000")
    page.get_by_label("Reason").fill("Moving to another city")
    page.get_by_role("button", name="Refund").click()
    assert "A refund must be between ₹0.00 and the ₹8,000.00 collected." in page.locator("#amount-error").inner_text()
    assert not Refund.objects.filter(package=package).exists()
    assert_accessible(page)
    screenshot(page, "manage-refund-refused")
    page.get_by_label("Amount to refund").fill("2,500")
    page.get_by_role("button", name="Refund").click()
    page.wait_for_url(re.compile(rf".*/manage/packages/{package.id}/$"))
    assert "Refunded to the patient's credit." in page.get_by_role("status").inner_text()
    assert Refund.objects.get(package=package).amount == 250000
    assert_reconciled()


def test_the_desk_asks_for_a_void_and_the_manager_approves_it_with_their_own_login(page, demo):
    package = demo.packages["asha-physio"]
    log_in(page, demo, "dev")
    page.goto(f"{demo.url}/manage/packages/{package.id}/")
    assert page.get_by_role("link", name=re.compile("^Void ")).count() == 0  # no void button for the desk
    page.get_by_role("link", name=re.compile("^Ask a manager to void")).first.click()
    assert page.get_by_role("button", name="Void", exact=True).count() == 0
    assert_accessible(page)
    screenshot(page, "manage-void-approval")
    page.get_by_label("Reason").fill("Booked for the wrong patient")
    page.get_by_role("button", name="Void with the manager's approval").click()  # no manager login typed
    assert "a manager must approve" in page.locator("#approver-error").inner_text().lower()
    page.get_by_label("Manager's username").fill("meera")
    page.get_by_label("Manager's password").fill(PASSWORD)
    page.get_by_role("button", name="Void with the manager's approval").click()
    page.wait_for_url(re.compile(rf".*/manage/packages/{package.id}/$"))
    voided = Redemption.objects.filter(package=package, void_reason="Booked for the wrong patient").get()
    assert voided.void_approver.name == "Meera Iyer"
    assert "approved by Meera Iyer" in page.get_by_role("region", name="Redemptions").inner_text()
    assert_reconciled()


def test_a_forged_void_post_from_the_desk_is_refused(page, demo):
    redemption = Redemption.objects.filter(package=demo.packages["asha-physio"], voided_at__isnull=True).first()
    log_in(page, demo, "dev")
    page.goto(f"{demo.url}/manage/redemptions/{redemption.id}/void/")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    answer = page.request.post(
        f"{demo.url}/manage/redemptions/{redemption.id}/void/",
        form={"csrfmiddlewaretoken": token, "reason": "forged"},
        headers={"Referer": page.url},
    )
    assert answer.status == 403
    redemption.refresh_from_db()
    assert redemption.voided_at is None


def test_the_manager_sees_the_liability_chart(page, demo):
    log_in(page, demo, "meera")
    page.get_by_role("link", name="Reports").click()
    assert_accessible(page)
    page.get_by_role("link", name="Liability").click()
    chart = page.get_by_role("img", name=re.compile("Liability roll-forward"))
    assert chart.count() == 1 and "Closing balance" in chart.text_content()
    # The chart is drawn with its own stylesheet (allowed by its hash), not as a black box: a bar is coloured.
    fill = chart.locator("rect.rect.reactive").first.evaluate("node => getComputedStyle(node).fill")
    assert fill not in ("rgb(0, 0, 0)", "none", ""), fill
    assert_accessible(page)
    screenshot(page, "manage-liability")
    page.goto(f"{demo.url}/manage/catalogue/")
    assert_accessible(page)
    screenshot(page, "manage-catalogue")


def test_every_manager_page_passes_the_accessibility_check(page, demo):
    """One login that may see every page (the demo's manager, made an admin) walks through them all."""
    from punchcard.tenancy.models import StaffMember

    StaffMember.objects.filter(tenant=demo.tenant, user__username="meera").update(role="admin")
    package = demo.packages["asha-physio"]
    redemption = Redemption.objects.filter(package=package, voided_at__isnull=True).first()
    plan = package.plan_version.plan
    log_in(page, demo, "meera")
    pages = {
        "manage-expiry": f"/manage/packages/{package.id}/expiry/",
        "manage-adjust": f"/manage/packages/{package.id}/adjust/",
        "manage-close": f"/manage/packages/{package.id}/close/",
        "manage-transfer": f"/manage/packages/{package.id}/transfer/",
        "manage-beneficiaries": f"/manage/packages/{package.id}/beneficiaries/",
        "manage-void": f"/manage/redemptions/{redemption.id}/void/",
        "manage-reports": "/manage/reports/",
        "manage-sales": "/manage/reports/sales/",
        "manage-expiry-forecast": "/manage/reports/expiry/?days=90",
        "manage-completion": "/manage/reports/completion/",
        "manage-usage": "/manage/reports/usage/",
        "manage-journal": "/manage/reports/journal/",
        "manage-plan-edit": f"/manage/catalogue/{plan.id}/",
        "manage-plan-new": "/manage/catalogue/new/",
        "manage-promotions": "/manage/promotions/",
        "manage-claim-codes": "/manage/claim-codes/",
        "manage-staff": "/manage/staff/",
        "manage-no-show-fees": "/manage/no-show-fees/",
    }
    for name, url in pages.items():
        page.goto(f"{demo.url}{url}")
        assert page.get_by_role("heading", level=1).count() == 1, url
        assert_accessible(page)
        screenshot(page, name)


def test_the_admin_adds_a_webhook_endpoint_and_the_accountant_closes_a_month(page, demo):
    """The settings pages in the browser: the secret shown once, the deliveries page, a period closed."""
    log_in(page, demo, "sameer")
    page.goto(f"{demo.url}/manage/webhooks/")
    assert_accessible(page)
    page.get_by_label("URL (https://…)").fill("https://hooks.example.com/clinic")
    page.get_by_label("Every event").check()
    page.get_by_role("button", name="Add the endpoint").click()
    page.get_by_text("Copy it now").wait_for()
    secret = page.locator("section[role=status] code").inner_text()
    assert secret.startswith("whsec_")
    assert_accessible(page)
    screenshot(page, "manage-webhooks")
    page.get_by_role("link", name="Deliveries to https://hooks.example.com/clinic").click()
    page.get_by_role("heading", level=1).wait_for()
    assert_accessible(page)
    page.goto(f"{demo.url}/manage/webhooks/")
    assert secret not in page.content()
    page.goto(f"{demo.url}/manage/staff/")
    assert_accessible(page)
    screenshot(page, "manage-staff-admin")

    page.context.clear_cookies()
    log_in(page, demo, "ritu")
    page.goto(f"{demo.url}/manage/reports/")
    assert_accessible(page)
    buttons = page.get_by_role("button", name=re.compile(r"^Close "))
    assert buttons.count() >= 1
    last = buttons.first.inner_text()  # the latest ended month: the list is newest first
    buttons.first.click()
    page.get_by_text(re.compile("nothing more posts into")).wait_for()
    assert page.get_by_role("button", name=last).count() == 0
    assert_accessible(page)
    screenshot(page, "manage-periods")
