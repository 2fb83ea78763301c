"""The front desk in a real browser: the desk's stories, each page checked for accessibility and shot."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from punchcard import clock
from punchcard.appointments.models import Appointment, AppointmentStatus
from punchcard.domain.roles import cli_actor
from punchcard.packages.models import Redemption
from punchcard.promotions.services import create_promotion
from tests.scenario import assert_reconciled

from .conftest import assert_accessible, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def row(page, patient: str):
    return page.locator("tr", has=page.get_by_role("link", name=patient))


def test_asha_books_arrives_and_takes_her_receipt_and_the_desk_cannot_undo_it(page, demo):
    log_in(page, demo, "dev")
    assert_accessible(page)
    screenshot(page, "today")
    page.get_by_label("Find a patient").fill("P-1001")
    page.get_by_role("button", name="Search").click()
    assert_accessible(page)
    page.get_by_role("link", name="Asha Rao").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Asha Rao")
    packages = page.get_by_role("region", name="Packages")
    assert "Physiotherapy 4 of 10 used, 6 remaining" in packages.inner_text()
    assert_accessible(page)
    screenshot(page, "patient")

    # Book physiotherapy today: her own pack is pre-selected once the service is chosen.
    page.get_by_role("link", name="Book an appointment").click()
    page.get_by_label("Service").select_option(label="Physiotherapy 45 min")
    page.get_by_role("button", name="Show the packages for it").click()
    own = demo.packages["asha-physio"].id
    chosen = page.get_by_label("Package").locator("option:checked").inner_text()
    assert chosen.startswith(f"Physiotherapy Recovery Pack #{own}: Physiotherapy 4 of 10 used")
    assert_accessible(page)
    screenshot(page, "book")
    today = clock.now().astimezone(demo.centres["bandra"].zone).date()
    page.get_by_label("Date and time at Bandra").fill(f"{today.isoformat()}T12:00")
    page.get_by_role("button", name="Book", exact=True).click()

    # The day: her row shows the package holding a session; arrive her (htmx swaps the row).
    page.wait_for_url(f"{demo.url}/")
    asha = row(page, "Asha Rao")
    assert f"Physiotherapy Recovery Pack #{own} (session held)" in asha.inner_text()
    asha.get_by_role("button", name="Arrive").click()
    expect(asha.locator(".status")).to_have_text("Arrived")
    assert "(session used)" in asha.inner_text()
    assert asha.get_by_role("button", name="Undo arrival").count() == 0  # a manager's action: not shown
    screenshot(page, "today-arrived")

    # A forged POST to the manager's undo is refused by the server, and nothing changes.
    appointment = Appointment.objects.get(tenant=demo.tenant, patient=demo.patients["asha"])
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    forged = page.request.post(
        f"{demo.url}/visits/{appointment.id}/undo-arrival/",
        form={"reason": "forged", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{demo.url}/"},
    )
    assert forged.status == 403 and "ask a manager" in forged.text()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED
    assert Redemption.objects.filter(appointment=appointment, voided_at__isnull=True).count() == 1

    # Her page reads 5 of 10 used; the receipt's PDF says so too.
    page.get_by_role("link", name="Asha Rao").click()
    assert "Physiotherapy 5 of 10 used, 5 remaining" in page.get_by_role("region", name="Packages").inner_text()
    page.goto(f"{demo.url}/")
    row(page, "Asha Rao").get_by_role("button", name="Print receipt").click()
    page.get_by_role("heading", name="Receipt No.").wait_for()
    assert_accessible(page)
    screenshot(page, "receipt")
    href = page.get_by_role("link", name="Download the PDF").get_attribute("href")
    pdf = page.request.get(f"{demo.url}{href}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "5 of 10 used" in text
    assert_reconciled(demo.tenant)


def test_a_no_show_handled_with_each_option_and_undone(page, demo):
    log_in(page, demo, "meera")
    # Option 1: the held session is redeemed, billed like an arrival.
    sanjay = row(page, "Sanjay Gupta")
    sanjay.get_by_text("More").click()
    sanjay.get_by_label("No-show").select_option(label="Redeem a session (billed like an arrival)")
    sanjay.get_by_role("button", name="Record no-show").click()
    expect(sanjay.locator(".status")).to_have_text("No-show")
    screenshot(page, "today-no-show")
    chiro = Appointment.objects.get(tenant=demo.tenant, patient=demo.patients["sanjay"])
    assert Redemption.objects.filter(appointment=chiro, voided_at__isnull=True).count() == 1
    sanjay.get_by_role("button", name="Undo no-show").click()
    expect(sanjay.locator(".status")).to_have_text("Booked")
    assert Redemption.objects.filter(appointment=chiro, voided_at__isnull=True).count() == 0
    assert "(session held)" in sanjay.inner_text()

    # Option 2: the session is released and one of the clinic's fees charged.
    ravi = row(page, "Ravi Rao")
    ravi.get_by_text("More").click()
    ravi.get_by_label("No-show").select_option(label="Release the session, charge Missed appointment (₹1,000.00)")
    assert_accessible(page)
    ravi.get_by_role("button", name="Record no-show").click()
    expect(ravi.locator(".status")).to_have_text("No-show")
    assert "Release the hold and charge a no-show fee" in ravi.inner_text()
    massage = Appointment.objects.get(tenant=demo.tenant, patient=demo.patients["ravi"])
    assert [c.amount for c in massage.charges.filter(reversed_at__isnull=True)] == [100000]
    ravi.get_by_role("button", name="Undo no-show").click()
    expect(ravi.locator(".status")).to_have_text("Booked")
    assert not massage.charges.filter(reversed_at__isnull=True).exists()
    assert "(session held)" in ravi.inner_text()

    # A refusal in the clinic's words, next to the field: Lata's visit has no package to redeem.
    lata = row(page, "Lata Menon")
    lata.get_by_text("More").click()
    lata.get_by_label("No-show").select_option(value="redeem")
    lata.get_by_role("button", name="Record no-show").click()
    alert = lata.get_by_role("alert")
    alert.wait_for()
    assert "No package is applied to this appointment: apply one, or choose a no-show fee." in alert.inner_text()
    assert lata.get_by_label("No-show").get_attribute("aria-invalid") == "true"
    assert_accessible(page)
    assert_reconciled(demo.tenant)


def test_a_sale_with_a_promotion_code_then_a_walk_in_visit(page, demo):
    create_promotion(
        tenant=demo.tenant, actor=cli_actor(), name="Spring", kind="percent", code="SPRING10", percent_bp=1000
    )
    log_in(page, demo, "dev")
    page.goto(f"{demo.url}/patients/{demo.patients['kiran'].id}/")
    page.get_by_role("link", name="Sell a package").click()
    page.get_by_label("6-Pack Facials", exact=False).check()
    page.get_by_label("Promotion code").fill("SPRNG10")
    page.get_by_role("button", name="Check the price").click()
    assert "No promotion has the code 'SPRNG10'." in page.get_by_role("alert").inner_text()
    page.get_by_label("Promotion code").fill("SPRING10")
    page.get_by_role("button", name="Check the price").click()
    assert "With SPRING10: ₹4,050.00 to pay (₹450.00 off ₹4,500.00)." in page.get_by_role("status").inner_text()
    page.get_by_label("Staff credited").select_option(label="Sneha Pillai")
    page.get_by_label("Payment reference").fill("CARD AUTH 900001")
    page.get_by_label("Method").select_option(label="Card")
    assert_accessible(page)
    screenshot(page, "sell")
    page.get_by_role("button", name="Sell", exact=True).click()
    assert "sold, paid" in page.get_by_role("status").first.inner_text()
    sold = demo.patients["kiran"].packages.order_by("-id").first()
    assert (sold.price_gross, sold.credited_staff_id) == (405000, demo.staff["sneha"].id)
    assert f"#{sold.id}" in page.get_by_role("region", name="Packages").inner_text()

    page.get_by_role("link", name="Walk-in visit").click()
    page.get_by_label("Service").select_option(label="Facial")
    page.get_by_role("button", name="Show the packages for it").click()
    assert page.get_by_label("Package").locator("option:checked").inner_text().startswith(f"6-Pack Facials #{sold.id}")
    assert_accessible(page)
    page.get_by_role("button", name="Use a session").click()
    cards = page.get_by_role("region", name="Packages").inner_text()
    assert "Facial 1 of 6 used, 5 remaining" in cards
    assert_reconciled(demo.tenant)


def test_a_wrong_password_is_refused_with_a_message_and_no_session(page, demo):
    page.goto(f"{demo.url}/login/")
    page.get_by_label("Username").fill("dev")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert "correct username and password" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    page.goto(f"{demo.url}/")
    assert page.url.startswith(f"{demo.url}/login/")
