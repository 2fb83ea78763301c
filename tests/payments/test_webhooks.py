"""Provider webhooks: signed by the test provider with the tenant's secret, verified, stored once,
settling an attempt left pending, and heard by the apps above billing as payment.webhook_received."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from punchcard import clock, events
from punchcard.billing.models import AttemptOutcome, PaymentAttempt, ProviderEvent
from punchcard.billing.providers.test import sign_event
from punchcard.billing.services import connect_provider
from punchcard.domain.roles import Actor

from ..api.conftest import Api
from .conftest import card

pytestmark = pytest.mark.django_db
ADMIN = Actor(label="test-admin", role="admin")
URL = "/providers/test/webhooks"


@pytest.fixture
def account(clinic):
    return connect_provider(tenant=clinic.tenant, actor=ADMIN, provider="test")


@pytest.fixture
def heard():
    seen = []

    def listen(event):
        seen.append(event)

    events.on("payment.webhook_received", listen, when=events.RECORDED)
    yield seen
    events.off("payment.webhook_received", listen, when=events.RECORDED)


def post(body: bytes, headers: dict):
    return Api(None).post(URL, raw=body, headers=headers)


def event(account, type="charge.succeeded", secret=None, **kw):
    return sign_event(secret=secret or account.webhook_secret, account=account.account, type=type, **kw)


def test_a_signed_event_is_stored_once_and_heard_once(clinic, account, heard):
    body, headers = event(account, data={"reference": "ca_test_1", "amount": 1000}, event_id="evt_1")

    first = post(body, headers)
    assert (first.status, first.body) == (200, {"event_id": "evt_1", "type": "charge.succeeded", "duplicate": False})
    replayed = post(body, headers)  # the provider sends it again
    assert (replayed.status, replayed.body["duplicate"]) == (200, True)

    stored = ProviderEvent.objects.get()
    assert (stored.tenant, stored.provider, stored.type, stored.data["amount"]) == (
        clinic.tenant,
        "test",
        "charge.succeeded",
        1000,
    )
    assert len(heard) == 1 and heard[0].payload["provider_event_id"] == "evt_1"
    assert heard[0].payload["type"] == "charge.succeeded" and heard[0].tenant_id == clinic.tenant.id


def test_a_wrong_signature_is_401_and_stores_nothing(clinic, account, heard):
    other = connect_provider(tenant=clinic.tenant, actor=ADMIN, provider="manual")  # another secret
    body, headers = event(account, secret=other.webhook_secret, data={})
    assert (post(body, headers).status, post(body, headers).body["code"]) == (401, "webhook_signature_invalid")
    good_body, good_headers = event(account, data={"amount": 1})
    tampered = good_body.replace(b'"amount":1', b'"amount":9')
    assert post(tampered, good_headers).status == 401
    unknown = sign_event(secret=account.webhook_secret, account="acct_nobody", type="charge.succeeded", data={})
    assert post(*unknown).status == 401
    assert not ProviderEvent.objects.exists() and heard == []


def test_an_old_or_future_timestamp_is_400(clinic, account):
    for minutes in (-6, 6):
        body, headers = event(account, data={}, at=clock.wall() + dt.timedelta(minutes=minutes))
        reply = post(body, headers)
        assert (reply.status, reply.body["code"]) == (400, "webhook_timestamp_out_of_range")
    body, headers = event(account, data={}, at=clock.wall() - dt.timedelta(minutes=4))
    assert post(body, headers).status == 200  # within five minutes
    assert ProviderEvent.objects.count() == 1


def test_malformed_webhooks_are_400(clinic, account):
    body, headers = event(account, data={})
    assert (
        post(body, {k: v for k, v in headers.items() if k != "webhook-signature"}).body["code"] == "webhook_malformed"
    )
    assert post(body, {**headers, "webhook-timestamp": "soon"}).status == 400
    not_an_event = json.dumps([1, 2]).encode()
    assert post(not_an_event, headers).status == 400
    assert Api(None).post("/providers/paypal/webhooks", raw=body, headers=headers).status == 404
    assert not ProviderEvent.objects.exists()


def test_a_webhook_settles_a_charge_left_pending_and_the_first_answer_stands(clinic, account):
    method = card(clinic)
    # The process died after asking the provider and before recording its answer.
    pending = PaymentAttempt.objects.create(
        tenant=clinic.tenant, method=method, amount=2500, currency="INR", idempotency_key="renewal-7", at=clock.now()
    )
    body, headers = event(
        account, type="charge.failed", data={"idempotency_key": "renewal-7", "failure_code": "card_declined"}
    )
    assert post(body, headers).status == 200
    pending.refresh_from_db()
    assert (pending.outcome, pending.failure_code) == (AttemptOutcome.FAILED, "card_declined")
    assert ProviderEvent.objects.get().attempt == pending
    # A later, contradictory event does not overturn it.
    body, headers = event(account, type="charge.succeeded", data={"idempotency_key": "renewal-7", "reference": "x"})
    assert post(body, headers).status == 200
    pending.refresh_from_db()
    assert pending.outcome == AttemptOutcome.FAILED


def test_connecting_twice_keeps_one_account(clinic, account):
    assert connect_provider(tenant=clinic.tenant, actor=ADMIN, provider="test") == account
    assert account.account.startswith("acct_") and account.webhook_secret.startswith("whsec_")
