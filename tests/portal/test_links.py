"""Portal links: made by the CLI, the API and the console; expiring, revoked, forged, guessed; one patient's
link never reaches another patient's pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.test import Client

from punchcard import clock
from punchcard.billing import receipts
from punchcard.billing.models import Order, Receipt, ReceiptKind
from punchcard.domain.roles import cli_actor
from punchcard.notifications.emails import render
from punchcard.notifications.models import OutboxEvent
from punchcard.tenancy import portal_links
from punchcard.tenancy.models import AuditEvent, PortalLink, PortalLinkFailure
from tests.portal.conftest import NOW

pytestmark = pytest.mark.django_db


def test_the_cli_prints_a_link_that_opens_ashas_page_with_her_balances(demo, capsys):
    call_command("portal-link", "P-1001")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Portal link for Asha Rao (P-1001), opens until 27 May 2026")  # 7 days
    url = lines[-1]
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/portal/open/[\w:.-]+/", url)
    client = Client()
    opened = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert opened.status_code == 302
    cookie = opened.cookies["punchcard_portal"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/portal/"
    assert cookie["max-age"] == 7 * 24 * 3600
    page = client.get("/portal/")
    text = page.content.decode()
    assert page.status_code == 200 and "Hello, Asha Rao" in text
    assert "Physiotherapy 4 of 10 used, 6 remaining, expires" in text
    assert "Shared with you by Ravi Rao" in text and "Who in the family used what" in text
    assert "no-store" in page["Cache-Control"]
    assert PortalLink.objects.get().created_by == "cli"


def test_an_expired_link_is_refused_and_so_is_the_visit_it_opened(demo, link_for, visit):
    link = link_for("asha", days=1)
    client = visit("asha")  # a second link, 7 days
    clock.set_now(NOW + dt.timedelta(days=1, seconds=1))
    refused = Client().get(portal_links.path(link))
    assert refused.status_code == 403 and "This link has expired" in refused.content.decode()
    assert client.get("/portal/").status_code == 200  # the 7-day one still opens
    clock.set_now(NOW + dt.timedelta(days=7, seconds=1))
    later = client.get("/portal/")
    assert later.status_code == 403 and "ask the clinic for a new one" in later.content.decode()


def test_revoking_stops_every_link_of_the_patient_at_the_next_page(demo, link_for, visit):
    client = visit("asha")
    other = link_for("asha")
    kiran = visit("kiran")
    call_command("portal-link", "P-1001", "--revoke", "--reason", "phone lost")
    assert client.get("/portal/").status_code == 403
    refused = Client().get(portal_links.path(other))
    assert refused.status_code == 403 and "withdrawn by the clinic" in refused.content.decode()
    assert kiran.get("/portal/").status_code == 200  # another patient's links are untouched
    audit = AuditEvent.objects.get(action="portal_link.revoke")
    assert audit.data == {"links": 2} and audit.reason == "phone lost"


def test_a_forged_or_tampered_token_is_refused_and_counted_per_address(demo, link_for):
    link = link_for("asha")
    token = portal_links.token(link)
    # Another link's id under this link's signature: the signature no longer matches.
    tampered = token.replace(token.split(":")[0], "WzIsIngiXQ")
    for bad in (tampered, "nonsense", token[:-2]):
        answer = Client().get(f"/portal/open/{bad}/")
        assert answer.status_code == 403 and "not one the clinic sent" in answer.content.decode()
    assert PortalLinkFailure.objects.get(address="127.0.0.1").attempts == 3
    PortalLinkFailure.objects.filter(address="127.0.0.1").update(attempts=portal_links.FAILURE_LIMIT)
    limited = Client().get(portal_links.path(link))  # even the right link, while the address is limited
    assert limited.status_code == 429 and "try again in 900 seconds" in limited.content.decode()
    elsewhere = Client(REMOTE_ADDR="10.0.0.9").get(portal_links.path(link))
    assert elsewhere.status_code == 302


def test_a_link_of_another_database_under_the_same_key_does_not_open_this_row(demo, link_for):
    link = link_for("asha")
    other = PortalLink(pk=link.pk, nonce="0" * 16)  # same id, another nonce: e.g. a rebuilt demo
    answer = Client().get(portal_links.path(other))
    assert answer.status_code == 403


def test_one_patients_visit_cannot_reach_another_patients_receipts_or_invoices(demo, visit):
    asha, kiran = demo.patients["asha"], demo.patients["kiran"]
    kirans_order = Order.objects.filter(patient=kiran).first()
    kirans_receipt = receipts.issue_receipt(
        tenant=demo.tenant, actor=cli_actor(), kind=ReceiptKind.SALE, subject_id=kirans_order.id
    )
    client = visit("asha")
    missing = client.get("/portal/receipts/999999/pdf/")
    theirs = client.get(f"/portal/receipts/{kirans_receipt.id}/pdf/")
    assert theirs.status_code == missing.status_code == 404
    # The same answer (less the form's CSRF token): nothing says the receipt exists.
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", theirs.content) == token.sub(b"", missing.content)
    before = Receipt.objects.count()
    assert client.post(f"/portal/orders/{kirans_order.id}/invoice/").status_code == 404
    assert Receipt.objects.count() == before  # and no invoice was issued for it
    own = Order.objects.filter(patient=asha, status="paid").order_by("id").first()
    issued = client.post(f"/portal/orders/{own.id}/invoice/")
    receipt = Receipt.objects.get(kind=ReceiptKind.SALE, subject_id=own.id)
    assert issued.status_code == 302 and issued["Location"] == f"/portal/receipts/{receipt.id}/pdf/"
    assert receipt.issued_by == f"patient:{asha.id} Asha Rao"
    pdf = client.get(issued["Location"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert f'href="/portal/receipts/{receipt.id}/pdf/"' in client.get("/portal/").content.decode()  # listed now


def test_without_a_link_no_portal_page_opens(demo):
    for url in ("/portal/", "/portal/claim/", "/portal/receipts/1/pdf/"):
        answer = Client().get(url)
        assert answer.status_code == 403 and "opens with the link your clinic sent you" in answer.content.decode()


def test_the_api_makes_and_revokes_links_for_integrators(demo):
    asha = demo.patients["asha"]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {demo.api_key}")
    made = api.post(f"/api/v1/patients/{asha.id}/portal-links", {"days": 3}, content_type="application/json")
    assert made.status_code == 201
    body = made.json()
    assert body["patient_id"] == asha.id and body["url"].startswith("http://127.0.0.1:8000/portal/open/")
    assert dt.datetime.fromisoformat(body["expires_at"]) == NOW + dt.timedelta(days=3)
    too_long = api.post(f"/api/v1/patients/{asha.id}/portal-links", {"days": 91}, content_type="application/json")
    assert too_long.status_code == 422
    missing = api.post("/api/v1/patients/999999/portal-links", {}, content_type="application/json")
    assert missing.status_code == 404
    revoked = api.post(f"/api/v1/patients/{asha.id}/portal-links/revoke", {}, content_type="application/json")
    assert revoked.status_code == 200 and revoked.json() == {"patient_id": asha.id, "revoked": 1}
    assert Client().get(body["url"].removeprefix("http://127.0.0.1:8000")).status_code == 403


def test_the_desk_sends_a_link_by_email_through_the_outbox_and_revokes_them(demo):
    asha = demo.patients["asha"]
    desk = Client()
    desk.force_login(demo.staff["dev"].user)
    page = desk.get(f"/patients/{asha.id}/").content.decode()
    assert "Send portal link" in page and "Revoke portal links" in page
    sent = desk.post(f"/patients/{asha.id}/portal-link/", follow=True)
    assert "A portal link is on its way to asha.rao@example.com; it opens until 27 May 2026" in sent.content.decode()
    event = OutboxEvent.objects.get(tenant=demo.tenant, type="portal_link.email_requested")
    link = PortalLink.objects.get(pk=event.payload["link_id"])
    assert event.payload["patient_id"] == asha.id and "url" not in event.payload  # webhooks never see the link
    email = render.render(event, tenant=demo.tenant, patient=asha)
    assert portal_links.url(link) in email.text and "opens until 27 May 2026" in email.text
    assert link.created_by == f"staff:{demo.staff['dev'].id} Dev Shah"
    desk.post(f"/patients/{asha.id}/portal-links/revoke/")
    link.refresh_from_db()
    assert link.revoked_at == NOW and link.revoked_by.startswith("staff:")


def test_an_accountant_cannot_send_or_revoke_links(demo):
    asha = demo.patients["asha"]
    accountant = Client()
    accountant.force_login(demo.staff["ritu"].user)
    assert "Send portal link" not in accountant.get(f"/patients/{asha.id}/").content.decode()
    assert accountant.post(f"/patients/{asha.id}/portal-link/").status_code == 403
    assert PortalLink.objects.count() == 0


def test_a_manager_chooses_which_plans_are_sold_online(demo):
    plan = demo.plans["chiro-b3f1"]
    manager = Client()
    manager.force_login(demo.staff["meera"].user)
    listed = manager.get("/manage/catalogue/").content.decode()
    assert "Sell Buy 3 Free 1 Chiropractic online" in listed  # the demo sells it at the desk only
    done = manager.post(f"/manage/catalogue/{plan.plan_id}/online/", {"online": "1"}, follow=True)
    assert "chiro-b3f1 is sold online in the patient portal." in done.content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {demo.api_key}")
    off = api.post(f"/api/v1/plans/{plan.plan_id}/online", {"online": False}, content_type="application/json")
    assert off.status_code == 200 and off.json()["sold_online"] is False
    assert [a.data for a in AuditEvent.objects.filter(action="plan.online", subject_id=plan.plan_id)] == [
        {"online": True},
        {"online": False},
    ]
    desk = Client()
    desk.force_login(demo.staff["dev"].user)
    assert desk.post(f"/manage/catalogue/{plan.plan_id}/online/", {"online": "1"}).status_code == 403
