"""The patient portal on a phone (375 × 812): Asha opens the clinic's link, reads her balances and claims a gift
code; a revoked or expired link is refused; changing an id in the address never shows another patient's page."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard import clock
from punchcard.billing import receipts
from punchcard.billing import services as billing
from punchcard.billing.models import Order, ReceiptKind
from punchcard.claims import services as claims
from punchcard.domain.roles import cli_actor
from punchcard.tenancy import portal_links
from punchcard.tenancy.models import PortalLink
from tests.scenario import assert_reconciled

from .conftest import assert_accessible, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def open_link(phone, demo, key: str, **kw):
    link = portal_links.create_portal_link(
        tenant=demo.tenant, actor=cli_actor(), patient_id=demo.patients[key].id, **kw
    )
    phone.goto(f"{demo.url}{portal_links.path(link)}")
    return link


def fits_the_phone(phone) -> bool:
    return phone.evaluate("document.scrollingElement.scrollWidth") <= 375


def gift_code(demo) -> str:
    made = claims.place_claim_order(
        tenant=demo.tenant,
        actor=cli_actor(),
        buyer_id=demo.patients["kiran"].id,
        centre_id=demo.centres["bandra"].id,
        plan_id=demo.plans["classes-10"].plan_id,
        kind="gift",
    )
    billing.record_payment(
        tenant=demo.tenant, actor=cli_actor(), order_id=made.order.id, method="card", amount=made.order.due
    )
    return made.codes[0].plaintext


def test_asha_opens_her_link_on_a_phone_reads_her_balances_and_claims_a_gift(phone, demo):
    open_link(phone, demo, "asha")
    phone.wait_for_url(f"{demo.url}/portal/")
    assert phone.get_by_role("heading", level=1).inner_text() == "Hello, Asha Rao"
    packages = phone.get_by_role("region", name="Your packages")
    assert "Physiotherapy 4 of 10 used, 6 remaining, expires" in packages.inner_text()
    assert "Shared with you by Ravi Rao" in packages.inner_text()
    assert fits_the_phone(phone)
    assert_accessible(phone)
    screenshot(phone, "portal-home")

    code = gift_code(demo)
    phone.get_by_role("link", name="Claim a code").click()
    phone.get_by_label("Code").fill(code[:-1] + ("A" if code[-1] != "A" else "B"))
    phone.get_by_role("button", name="Claim it").click()
    assert "That code has a typo" in phone.get_by_role("alert").inner_text()
    assert_accessible(phone)
    screenshot(phone, "portal-claim-refused")
    phone.get_by_label("Code").fill(code)
    phone.get_by_role("button", name="Claim it").click()
    phone.wait_for_url(f"{demo.url}/portal/")
    assert "Code claimed: 10-Class Package is now yours" in phone.get_by_role("status").inner_text()
    assert "Classes (yoga / pilates / spin) 0 of 10 used, 10 remaining" in phone.content()
    assert fits_the_phone(phone)
    assert_reconciled(demo.tenant)


def test_a_revoked_or_expired_link_is_refused_and_another_patients_ids_show_nothing(phone, demo):
    kirans_order = Order.objects.filter(patient=demo.patients["kiran"]).order_by("id").first()
    kirans = receipts.issue_receipt(
        tenant=demo.tenant, actor=cli_actor(), kind=ReceiptKind.SALE, subject_id=kirans_order.id
    )
    open_link(phone, demo, "asha")
    phone.wait_for_url(f"{demo.url}/portal/")
    answer = phone.goto(f"{demo.url}/portal/receipts/{kirans.id}/pdf/")
    assert answer.status == 404 and "There is no such page among yours." in phone.content()
    assert "Kiran" not in phone.content()
    assert_accessible(phone)

    portal_links.revoke_portal_links(tenant=demo.tenant, actor=cli_actor(), patient_id=demo.patients["asha"].id)
    answer = phone.goto(f"{demo.url}/portal/")
    assert answer.status == 403 and "opens with the link your clinic sent you" in phone.content()
    assert_accessible(phone)
    screenshot(phone, "portal-refused")

    link = open_link(phone, demo, "asha", days=1)
    assert phone.get_by_role("heading", level=1).inner_text() == "Hello, Asha Rao"
    PortalLink.objects.filter(pk=link.pk).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    phone.goto(f"{demo.url}{portal_links.path(link)}")
    assert "This link has expired" in phone.get_by_role("alert").inner_text()
    assert fits_the_phone(phone)


def test_asha_buys_a_plan_a_declined_card_first_then_tok_ok(phone, demo):
    open_link(phone, demo, "asha")
    phone.wait_for_url(f"{demo.url}/portal/")
    phone.get_by_role("link", name="Buy a plan").click()
    phone.get_by_label("6-Pack Facials").check()
    phone.get_by_label("Test card").select_option("tok_declined")
    assert fits_the_phone(phone)
    assert_accessible(phone)
    screenshot(phone, "portal-buy")
    phone.get_by_role("button", name="Continue to payment").click()
    assert "Your card was declined." in phone.get_by_role("alert").inner_text()
    assert_accessible(phone)
    screenshot(phone, "portal-declined")
    phone.get_by_label("Test card").select_option("tok_ok")
    phone.get_by_role("button", name="Try another card").click()
    phone.wait_for_url(f"{demo.url}/portal/")
    assert "6-Pack Facials is yours" in phone.get_by_role("status").inner_text()
    assert "Facial 0 of 6 used, 6 remaining" in phone.get_by_role("region", name="Your packages").inner_text()
    assert_reconciled(demo.tenant)
