"""Email through a real SMTP server (aiosmtpd): the expiring-soon reminder arrives with the right package,
date and balance in the tenant's locale; a patient who opted out gets nothing; each send happens once."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import transaction

from punchcard import clock
from punchcard.notifications.emails import sends
from punchcard.notifications.models import EmailSend, OutboxEvent
from punchcard.packages import services as packages
from punchcard.tenancy.models import Patient

from ..api.conftest import Api, api_key
from ..clinic import Clinic
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db(transaction=True)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks its own port, so not 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


def _expiring_package(clinic: Clinic, *, price: int):
    plan = clinic.plan(
        "rehab-6",
        price=price,
        lines=[clinic.line("physio", sessions=6)],
        expiry={"kind": "after_start", "count": 30, "unit": "days"},
        name="Shoulder Rehab 6",
    )
    package = clinic.sell(plan)
    for _ in range(2):
        clinic.redeem(package, "physio")
    Patient.objects.filter(id=clinic.asha.id).update(email="asha@example.com")
    return package


def _parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    ("locale", "currency", "price", "date_text", "money_text"),
    [
        ("en_IN", "INR", 12000000, "30 Mar 2026", "₹80,000.00"),  # 4 of 6 sessions left of ₹1,20,000
        ("en_US", "USD", 60000, "Mar 30, 2026", "$400.00"),
    ],
)
def test_the_expiring_soon_email_arrives_in_the_tenants_locale(smtp, locale, currency, price, date_text, money_text):
    clinic = Clinic.open(currency=currency)
    clinic.tenant.locale = locale
    clinic.tenant.save(update_fields=["locale"])
    package = _expiring_package(clinic, price=price)
    assert package.expires_on == dt.date(2026, 3, 30)
    clock.set_now(clinic.now + dt.timedelta(days=16))  # 17 March: 13 days before the last day
    assert packages.tell_due_notices(tenant=clinic.tenant) == 1
    call_command("worker", batch=True, interval="0", verbosity=0)

    ((to, message),) = smtp.messages
    assert to == ["asha@example.com"]
    assert message["Subject"] == f"Your package “Shoulder Rehab 6” expires on {date_text}"
    text, html = _parts(message)
    for part in (text, html):
        assert "Shoulder Rehab 6" in part
        assert date_text in part
        assert "4 sessions" in part and money_text in part
    event = OutboxEvent.objects.get(type="package.expiring_soon")
    assert event.payload["days_left"] == 13 and event.payload["reminder_days"] == 14
    assert message["X-Punchcard-Event"] == event.event_id
    assert EmailSend.objects.get().state == "sent"
    assert_reconciled(clinic.tenant)


def test_each_send_happens_once_and_an_opted_out_patient_gets_nothing(smtp):
    clinic = Clinic.open()
    _expiring_package(clinic, price=600000)
    Patient.objects.filter(id=clinic.ravi.id).update(email="ravi@example.com")
    desk = Api(api_key(clinic, "front_desk"))
    reply = desk.post(f"/patients/{clinic.ravi.id}/notification-preferences", {"reminders": False})
    assert reply.status == 200 and reply.body == {
        "patient_id": clinic.ravi.id,
        "reminders": False,
        "receipts": True,
        "billing": True,
    }
    other = clinic.plan(
        "ravi-6",
        price=600000,
        lines=[clinic.line("physio", sessions=6)],
        expiry={"kind": "after_start", "count": 30, "unit": "days"},
    )
    clinic.sell(other, patient=clinic.ravi)
    clock.set_now(clinic.now + dt.timedelta(days=27))
    assert packages.tell_due_notices(tenant=clinic.tenant) == 2  # both told: webhooks and the feed hear both
    call_command("worker", batch=True, interval="0", verbosity=0)
    assert [to for to, _ in smtp.messages] == [["asha@example.com"]]
    assert dict(EmailSend.objects.values_list("recipient", "state")) == {
        "asha@example.com": "sent",
        "ravi@example.com": "skipped",
    }
    for row in OutboxEvent.objects.filter(type="package.expiring_soon"):
        assert sends.send_for_event(row.event_id) == "nothing to send"  # again: nothing
    assert len(smtp.messages) == 1
    assert packages.tell_due_notices(tenant=clinic.tenant) == 0  # told once per package and reminder day


def test_email_is_never_sent_inside_a_transaction(smtp):
    clinic = Clinic.open()
    _expiring_package(clinic, price=600000)
    clock.set_now(clinic.now + dt.timedelta(days=27))
    packages.tell_due_notices(tenant=clinic.tenant)
    event_id = OutboxEvent.objects.get(type="package.expiring_soon").event_id
    with pytest.raises(RuntimeError, match="never sent from inside a transaction"), transaction.atomic():
        sends.send_for_event(event_id)
    assert smtp.messages == []


def test_without_an_smtp_url_mail_is_written_under_the_data_dir(settings, tmp_path):
    settings.EMAIL_URL = ""
    settings.DATA_DIR = tmp_path
    clinic = Clinic.open()
    _expiring_package(clinic, price=600000)
    clock.set_now(clinic.now + dt.timedelta(days=27))
    packages.tell_due_notices(tenant=clinic.tenant)
    call_command("worker", batch=True, interval="0", verbosity=0)
    (path,) = (tmp_path / "mail").glob("*.eml")
    assert "Shoulder Rehab 6" in path.read_text()


def test_a_receipt_is_emailed_on_request_with_its_pdf(smtp):
    from punchcard.billing.receipts import issue_receipt

    clinic = Clinic.open()
    package = _expiring_package(clinic, price=600000)
    receipt = issue_receipt(
        tenant=clinic.tenant, actor=clinic.manager, kind="sale", subject_id=package.order_line.order_id
    )
    desk = Api(api_key(clinic, "front_desk"))
    desk.post(f"/patients/{clinic.asha.id}/notification-preferences", {"receipts": False})  # automatic ones
    reply = desk.post(f"/receipts/{receipt.id}/email")
    assert reply.status == 202 and reply.body["patient_id"] == clinic.asha.id
    call_command("worker", batch=True, interval="0", verbosity=0)
    ((to, message),) = smtp.messages
    assert to == ["asha@example.com"] and f"{receipt.number:06d}" in message["Subject"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert "Shoulder Rehab 6" in message.get_body(("html",)).get_content()
    assert OutboxEvent.objects.get(type="receipt.email_requested").event_id == reply.body["event_id"]

    Patient.objects.filter(id=clinic.asha.id).update(email="")
    refused = desk.post(f"/receipts/{receipt.id}/email")
    assert (refused.status, refused.body["field"]) == (422, "receipt_id")
