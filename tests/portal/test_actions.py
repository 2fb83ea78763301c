"""What a patient does in the portal: claim a gift code (the claims rules and guessing limit, as the API), as
themself and only for themself."""

from __future__ import annotations

import pytest

from punchcard.billing import services as billing
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
