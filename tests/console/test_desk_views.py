"""The front desk's pages through Django's test client: what each role sees, what the server refuses."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from punchcard.appointments.models import Appointment, AppointmentStatus
from punchcard.domain.roles import cli_actor
from punchcard.notifications.models import OutboxEvent
from punchcard.packages.models import Redemption
from punchcard.promotions.services import create_promotion
from tests.scenario import assert_reconciled

pytestmark = pytest.mark.django_db


def appointment_of(demo, patient: str) -> Appointment:
    return Appointment.objects.get(tenant=demo.tenant, patient=demo.patients[patient])


def test_the_day_lists_the_centres_appointments_with_the_package_covering_each(as_role, demo):
    page = as_role("dev").get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Bandra, 20 May 2026" in text
    for name in ("Sanjay Gupta", "Ravi Rao", "Arjun Mehta", "Lata Menon"):
        assert name in text
    assert "Buy 3 Free 1 Chiropractic #" in text and "(session held)" in text
    assert 'name="csrfmiddlewaretoken"' in text
    assert "Undo arrival" not in text  # a front-desk user is not shown the manager's action


def test_arriving_redeems_the_held_session(as_role, demo):
    sanjay = appointment_of(demo, "sanjay")
    response = as_role("dev").post(f"/visits/{sanjay.id}/arrive/")
    assert response.status_code == 302
    sanjay.refresh_from_db()
    assert sanjay.status == AppointmentStatus.ARRIVED
    assert Redemption.objects.filter(appointment=sanjay, voided_at__isnull=True).count() == 1
    page = as_role("dev").get("/").content.decode()
    assert "Print receipt" in page and "(session used)" in page
    assert_reconciled(demo.tenant)


def test_a_front_desk_users_forged_post_to_a_managers_action_is_refused_and_changes_nothing(as_role, demo):
    sanjay = appointment_of(demo, "sanjay")
    as_role("dev").post(f"/visits/{sanjay.id}/arrive/")
    forged = as_role("dev").post(f"/visits/{sanjay.id}/undo-arrival/", {"reason": "oops"})
    assert forged.status_code == 403
    assert "cannot do this; ask a manager" in forged.content.decode()
    sanjay.refresh_from_db()
    assert sanjay.status == AppointmentStatus.ARRIVED
    assert Redemption.objects.filter(appointment=sanjay, voided_at__isnull=True).count() == 1
    manager = as_role("meera")
    assert "Undo arrival" in manager.get("/").content.decode()
    assert manager.post(f"/visits/{sanjay.id}/undo-arrival/", {"reason": "arrived by mistake"}).status_code == 302
    sanjay.refresh_from_db()
    assert sanjay.status == AppointmentStatus.BOOKED


def test_an_accountant_reads_but_may_not_act_at_the_desk(as_role, demo):
    ritu = as_role("ritu")
    assert ritu.get("/").status_code == 200
    lata = appointment_of(demo, "lata")
    assert ritu.post(f"/visits/{lata.id}/arrive/").status_code == 403
    assert ritu.get(f"/patients/{demo.patients['asha'].id}/sell/").status_code == 403
    assert ritu.get(f"/patients/{demo.patients['asha'].id}/book/").status_code == 403
    lata.refresh_from_db()
    assert lata.status == AppointmentStatus.BOOKED


def test_a_refusal_is_shown_on_the_row_next_to_its_field_and_writes_nothing(as_role, demo):
    lata = appointment_of(demo, "lata")  # no package: a redeemed no-show is refused
    response = as_role("dev").post(f"/visits/{lata.id}/no-show/", {"option": "redeem"})
    assert response.status_code == 409
    text = response.content.decode()
    assert "No package is applied to this appointment: apply one, or choose a no-show fee." in text
    assert re.search(r'id="option-\d+" name="option" aria-describedby="refusal-\d+" aria-invalid="true"', text)
    lata.refresh_from_db()
    assert lata.status == AppointmentStatus.BOOKED


def test_a_reschedule_past_the_expiry_is_refused_in_the_clinics_words(as_role, demo):
    arjun = appointment_of(demo, "arjun")  # his class pass expires before the end of the month
    later = f"{(demo.packages['arjun-classes'].expires_on + dt.timedelta(days=1)).isoformat()}T15:00"
    response = as_role("dev").post(f"/visits/{arjun.id}/reschedule/", {"start": later})
    assert response.status_code == 409
    expires = demo.packages["arjun-classes"].expires_on.strftime("%-d %b %Y")
    assert f"The package expires on {expires}; remove it or change its expiry first." in response.content.decode()
    before = arjun.start
    arjun.refresh_from_db()
    assert arjun.start == before


def test_the_patient_page_reads_packages_history_and_family_use(as_role, demo):
    page = as_role("dev").get(f"/patients/{demo.patients['asha'].id}/").content.decode()
    assert "Physiotherapy 4 of 10 used, 6 remaining, expires" in page
    assert "Who in the family used what" in page and "Ravi Rao (holder)" in page
    assert "Use voided" in page and "Wrong patient selected at the front desk" in page
    assert "order No." in page and "Usable at Bandra only" in page
    assert "Sell a package" in page and "Book an appointment" in page


def test_booking_pre_selects_the_eligible_package_and_holds_it(as_role, demo):
    asha, physio = demo.patients["asha"], demo.services["physio"]
    client = as_role("dev")
    form = client.get(f"/patients/{asha.id}/book/", {"service_id": physio.id}).content.decode()
    own = demo.packages["asha-physio"].id
    # Her own pack expires before the family pack: it is the one pre-selected.
    assert re.search(rf'<option value="{own}" selected>Physiotherapy Recovery Pack #{own}', form)
    response = client.post(
        f"/patients/{asha.id}/book/",
        {"service_id": physio.id, "package_id": own, "start": "2026-05-20T16:00", "key": "k1"},
    )
    assert response.status_code == 302 and response.url == "/"
    booked = Appointment.objects.get(tenant=demo.tenant, patient=asha)
    assert booked.package_id == own and booked.status == AppointmentStatus.BOOKED
    assert_reconciled(demo.tenant)


def test_a_sale_with_a_promotion_code_and_a_wrong_code_next_to_its_field(as_role, demo):
    create_promotion(
        tenant=demo.tenant, actor=cli_actor(), name="Spring", kind="percent", code="SPRING10", percent_bp=1000
    )
    client = as_role("dev")
    kiran, plan = demo.patients["kiran"], demo.plans["facials-6"]
    before = kiran.packages.count()
    wrong = client.post(
        f"/patients/{kiran.id}/sell/",
        {"plan_id": plan.plan_id, "promotion_code": "NOPE", "payment": "now", "method": "cash", "key": "s1"},
    )
    assert wrong.status_code == 409
    assert re.search(r'id="code-error" role="alert">No promotion has the code &#x27;NOPE&#x27;', wrong.content.decode())
    assert kiran.packages.count() == before
    sold = client.post(
        f"/patients/{kiran.id}/sell/",
        {"plan_id": plan.plan_id, "promotion_code": "SPRING10", "payment": "now", "method": "cash", "key": "s2"},
    )
    assert sold.status_code == 302
    package = kiran.packages.order_by("-id").first()
    assert package.price_gross == 405000  # ₹4,500 less 10 %
    assert_reconciled(demo.tenant)


def test_the_patient_page_leads_to_the_managers_work_and_a_receipt_is_emailed_on_request(as_role, demo):
    asha = demo.patients["asha"]
    package = demo.packages["asha-physio"]
    desk_page = as_role("dev").get(f"/patients/{asha.id}/").content.decode()
    assert f'href="/manage/packages/{package.id}/"' in desk_page
    assert "Ask a manager to void" in desk_page  # the desk asks; a manager approves with their own login
    manager_page = as_role("meera").get(f"/patients/{asha.id}/").content.decode()
    assert ">Void</a>" in manager_page
    redemption = Redemption.objects.filter(package=package, voided_at__isnull=True).order_by("id").first()
    issued = as_role("dev").post(f"/receipts/redemption/{redemption.id}/issue/")
    receipt_url = issued["Location"]
    emailed = as_role("dev").post(f"{receipt_url}email/", follow=True)
    assert "on its way to the patient" in emailed.content.decode()
    event = OutboxEvent.objects.get(tenant=demo.tenant, type="receipt.email_requested")
    assert event.payload["patient_id"] == asha.id
