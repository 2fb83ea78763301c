"""What a patient does in the portal: claim a gift code (the claims rules and guessing limit, as the API), as
themself and only for themself."""

from __future__ import annotations

import pytest

from punchcard.billing import services as billing
from punchcard.billing.models import Order
from punchcard.claims import services as claims
from punchcard.claims.models import ClaimCode, ClaimGuessCounter, ClaimStatus
from punchcard.domain.errors import Forbidden
from punchcard.domain.roles import Actor, Perm, cli_actor
from punchcard.packages.models import Package
from punchcard.tenancy.models import AuditEvent
from tests.scenario import assert_reconciled

pytestmark = pytest.mark.django_db


@pytest.fixture
def gift(demo):
    """Kiran's paid gift of the 10-Class Package: the code, in plain text as it was handed over."""
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


def test_asha_claims_a_gift_code_and_sees_the_package_in_her_name(demo, visit, gift):
    asha = demo.patients["asha"]
    client = visit("asha")
    form = client.get("/portal/claim/")
    assert form.status_code == 200 and 'name="csrfmiddlewaretoken"' in form.content.decode()
    claimed = client.post("/portal/claim/", {"code": gift.lower()}, follow=True)  # capitals do not matter
    text = claimed.content.decode()
    assert "Code claimed: 10-Class Package is now yours" in text
    package = Package.objects.get(holder=asha, plan_version__plan__code="classes-10")
    assert "Classes (yoga / pilates / spin) 0 of 10 used, 10 remaining" in text
    code = ClaimCode.objects.get(package=package)
    assert code.status == ClaimStatus.CLAIMED and code.claimed_by == f"patient:{asha.id} Asha Rao"
    audit = AuditEvent.objects.get(action="claim_code.claim")
    assert (audit.actor, audit.source) == (f"patient:{asha.id} Asha Rao", "portal")
    assert_reconciled(demo.tenant)


def test_a_mistyped_code_is_refused_in_words_counted_against_the_patient_and_writes_nothing(demo, visit, gift):
    asha = demo.patients["asha"]
    client = visit("asha")
    before = Package.objects.count()
    typo = gift[:-1] + ("A" if gift[-1] != "A" else "B")
    refused = client.post("/portal/claim/", {"code": typo})
    assert refused.status_code == 422
    assert 'id="code-error" class="field-error" role="alert">That code has a typo' in refused.content.decode()
    assert Package.objects.count() == before
    counter = ClaimGuessCounter.objects.get(tenant=demo.tenant, bucket=f"caller:patient:{asha.id}")
    assert counter.attempts == 1
    ClaimGuessCounter.objects.filter(pk=counter.pk).update(attempts=10)
    limited = client.post("/portal/claim/", {"code": gift})
    assert limited.status_code == 429 and "too many failed claim attempts" in limited.content.decode().lower()
    # Another patient is not held back by Asha's guesses.
    assert visit("kiran").post("/portal/claim/", {"code": gift}).status_code == 302


def test_portal_forms_need_the_csrf_token(demo, visit, gift):
    client = visit("asha", enforce_csrf_checks=True)
    assert client.post("/portal/claim/", {"code": gift}).status_code == 403
    assert not ClaimCode.objects.filter(claimant=demo.patients["asha"]).exists()


def test_a_patient_actor_may_act_only_for_themself(demo, gift):
    asha, ravi = demo.patients["asha"], demo.patients["ravi"]
    patient = Actor.patient(asha.id, asha.name)
    with pytest.raises(Forbidden):
        claims.claim_code(tenant=demo.tenant, actor=patient, code=gift, patient_id=ravi.id)
    with pytest.raises(Forbidden):
        billing.sell_package(
            tenant=demo.tenant,
            actor=patient,
            patient_id=ravi.id,
            centre_id=demo.centres["bandra"].id,
            plan_id=demo.plans["classes-10"].plan_id,
            method="card",
        )
    with pytest.raises(Forbidden):  # a patient never refunds, voids or edits the catalogue
        patient.require(Perm.REFUND)


def through_checkout(client, started):
    """Our redirect to the provider's page, its 303 back to the portal, and the page it returns to."""
    assert started.status_code == 302 and started["Location"].startswith("/api/v1/providers/test/checkout/cs_test_")
    back = client.get(started["Location"])
    assert back.status_code == 303 and back["Location"].startswith("/portal/buy/paid/?checkout=")
    return client.get(back["Location"], follow=True)


def test_asha_buys_a_plan_sold_online_and_a_declined_card_leaves_the_order_to_pay_again(demo, visit):
    asha, plan = demo.patients["asha"], demo.plans["facials-6"]
    client = visit("asha")
    page = client.get("/portal/buy/").content.decode()
    assert "6-Pack Facials" in page and "₹4,500.00" in page
    assert "Buy 3 Free 1 Chiropractic" not in page  # sold at the desk only
    bandra = demo.centres["bandra"].id
    declined = through_checkout(
        client,
        client.post(
            "/portal/buy/", {"plan_id": plan.plan_id, "centre_id": bandra, "key": "b1", "test_card": "tok_declined"}
        ),
    )
    assert declined.status_code == 402
    assert "Your card was declined. Nothing was charged; ₹4,500.00 is still to pay" in declined.content.decode()
    order = Order.objects.get(patient=asha, status="open")
    assert not Package.objects.filter(order_line__order=order).exists()
    paid = through_checkout(client, client.post(f"/portal/orders/{order.id}/pay/", {"test_card": "tok_ok"}))
    assert "Paid ₹4,500.00: 6-Pack Facials is yours." in paid.content.decode()
    order.refresh_from_db()
    assert order.status == "paid"
    package = Package.objects.get(order_line__order=order)
    assert package.holder == asha and package.sold_at_id == bandra
    assert AuditEvent.objects.get(action="order.place", subject_id=order.id).actor == f"patient:{asha.id} Asha Rao"
    assert_reconciled(demo.tenant)


def test_a_plan_not_sold_online_or_another_patients_order_cannot_be_bought_or_paid(demo, visit):
    client = visit("asha")
    chiro = demo.plans["chiro-b3f1"].plan_id
    refused = client.post("/portal/buy/", {"plan_id": chiro, "centre_id": demo.centres["bandra"].id, "key": "b2"})
    assert refused.status_code == 422 and "choose one of the plans sold online" in refused.content.decode()
    kirans = Order.objects.filter(patient=demo.patients["kiran"]).first()
    assert client.post(f"/portal/orders/{kirans.id}/pay/").status_code == 404
    assert client.get("/portal/buy/paid/", {"checkout": "cs_test_nothing"}).status_code == 404
