"""Webhooks against a real receiver: Standard Webhooks signatures, retries with backoff, 410, timeouts,
order per endpoint, secret rotation, replay and the SSRF refusals (SPEC §12)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from punchcard import clock
from punchcard.notifications import delivery
from punchcard.notifications.models import Attempt, Delivery, OutboxEvent, WebhookEndpoint

from ..scenario import assert_reconciled


def register(admin, url, types=("redemption.created",)) -> dict:
    reply = admin.post("/webhook-endpoints", {"url": url, "event_types": list(types), "description": "test"})
    assert reply.status == 201, reply.body
    return reply.body


def later(seconds: float) -> None:
    clock.set_now(clock.now() + dt.timedelta(seconds=seconds))


def test_a_redemption_is_delivered_signed_and_verifiable(clinic, data, admin, receiver, allow_private):
    hook = receiver()
    endpoint = register(admin, hook.url)
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in admin.get(f"/webhook-endpoints/{endpoint['id']}").body  # shown once
    redemption = clinic.redeem(data["package"], "physio")

    assert delivery.deliver_due() == 1
    (got,) = hook.requests
    event = got.verify(endpoint["secret"])  # the outside verifier accepts it
    assert event["type"] == "redemption.created"
    assert event["data"]["redemption_id"] == redemption.id
    assert got.headers["webhook-id"] == event["id"]
    assert OutboxEvent.objects.get(event_id=event["id"]).type == "redemption.created"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(got.body, got.headers)
    assert Delivery.objects.get().state == "delivered"
    assert delivery.deliver_due() == 0  # nothing twice
    assert_reconciled(clinic.tenant)


def test_500_then_200_is_retried_after_the_first_backoff(clinic, data, admin, receiver, allow_private):
    hook = receiver(500)
    endpoint = register(admin, hook.url)
    clinic.redeem(data["package"], "physio")
    assert delivery.deliver_due() == 1
    d = Delivery.objects.get()
    assert (d.state, d.attempts, d.last_status_code) == ("pending", 1, 500)
    assert d.next_attempt_at == clock.now() + dt.timedelta(seconds=5)
    later(4)
    assert delivery.deliver_due() == 0  # not yet
    later(1)
    assert delivery.deliver_due() == 1
    d.refresh_from_db()
    assert (d.state, d.attempts, d.last_status_code) == ("delivered", 2, 204)
    assert [r.verify(endpoint["secret"])["id"] for r in hook.requests] == [d.event.event_id] * 2
    log = admin.get(f"/webhook-endpoints/{endpoint['id']}/deliveries").body["items"]
    assert [(a["number"], a["outcome"], a["status_code"]) for a in log] == [(2, "delivered", 204), (1, "retry", 500)]
    assert log[1]["next_retry_at"] is not None and log[0]["duration_ms"] >= 0


def test_the_backoff_schedule_ends_in_failure(clinic, data, admin, receiver, allow_private):
    hook = receiver(then=503)
    register(admin, hook.url)
    clinic.redeem(data["package"], "physio")
    waits = []
    for _ in range(10):
        assert delivery.deliver_due() == 1
        d = Delivery.objects.get()
        if d.state == "pending":
            waits.append(int((d.next_attempt_at - clock.now()).total_seconds()))
            clock.set_now(d.next_attempt_at)
    assert waits == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    assert Delivery.objects.get().state == "failed" and len(hook.requests) == 10


def test_410_disables_the_endpoint(clinic, data, admin, receiver, allow_private):
    hook = receiver(410)
    endpoint = register(admin, hook.url)
    clinic.redeem(data["package"], "physio")
    delivery.deliver_due()
    shown = admin.get(f"/webhook-endpoints/{endpoint['id']}").body
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]
    clinic.redeem(data["package"], "physio")
    later(3600)
    assert delivery.deliver_due() == 0 and len(hook.requests) == 1  # a disabled endpoint gets nothing
    assert admin.patch(f"/webhook-endpoints/{endpoint['id']}", {"enabled": True}).body["enabled"] is True
    assert delivery.deliver_due() == 1  # what it missed goes out once re-enabled
    assert hook.requests[-1].verify(endpoint["secret"])["type"] == "redemption.created"


def test_a_receiver_that_hangs_past_the_timeout_is_retried(clinic, data, admin, receiver, allow_private, settings):
    settings.WEBHOOK_TIMEOUT = 0.3
    hook = receiver("hang", hang_seconds=1.0)
    register(admin, hook.url)
    clinic.redeem(data["package"], "physio")
    delivery.deliver_due()
    attempt = Attempt.objects.get()
    assert attempt.outcome == "retry" and attempt.status_code is None and "0.3 s" in attempt.error
    later(5)
    delivery.deliver_due()
    assert Delivery.objects.get().state == "delivered" and len(hook.wait_for(2)) == 2


def test_deliveries_for_one_endpoint_keep_event_order(clinic, data, admin, receiver, allow_private):
    hook = receiver(500)
    endpoint = register(admin, hook.url)
    first = clinic.redeem(data["package"], "physio")
    second = clinic.redeem(data["package"], "physio")
    assert delivery.deliver_due() == 1  # the first fails; the second waits behind it
    later(5)
    assert delivery.deliver_due() == 2
    ids = [r.verify(endpoint["secret"])["data"]["redemption_id"] for r in hook.requests]
    assert ids == [first.id, first.id, second.id]


def test_rotation_signs_with_both_secrets_for_a_day(clinic, data, admin, receiver, allow_private):
    hook = receiver()
    endpoint = register(admin, hook.url)
    rotated = admin.post(f"/webhook-endpoints/{endpoint['id']}/rotate-secret").body
    assert rotated["secret"] != endpoint["secret"] and rotated["rotating_until"]
    clinic.redeem(data["package"], "physio")
    delivery.deliver_due()
    got = hook.requests[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.verify(endpoint["secret"]) == got.verify(rotated["secret"])  # old and new both verify
    later(24 * 3600 + 1)
    clinic.redeem(data["package"], "physio")
    delivery.deliver_due()
    got = hook.requests[-1]
    assert got.verify(rotated["secret"])
    with pytest.raises(WebhookVerificationError):
        got.verify(endpoint["secret"])


def test_replay_sends_a_delivered_event_again(clinic, data, admin, desk, receiver, allow_private):
    hook = receiver()
    register(admin, hook.url)
    clinic.redeem(data["package"], "physio")
    delivery.deliver_due()
    d = Delivery.objects.get()
    assert desk.post(f"/deliveries/{d.id}/replay").status == 403
    reply = admin.post(f"/deliveries/{d.id}/replay")
    assert reply.status == 202 and reply.body["state"] == "pending"
    delivery.deliver_due()
    assert len(hook.requests) == 2 and hook.requests[0].body == hook.requests[1].body


def test_endpoints_list_update_delete(clinic, admin, manager):
    made = register(admin, "https://hooks.example.com/a", types=["*"])
    assert manager.post("/webhook-endpoints", {"url": "https://x.example.com", "event_types": ["*"]}).status == 403
    assert [e["id"] for e in admin.get("/webhook-endpoints").body["items"]] == [made["id"]]
    changed = admin.patch(f"/webhook-endpoints/{made['id']}", {"event_types": ["package.sold", "refund.created"]})
    assert changed.body["event_types"] == ["package.sold", "refund.created"]
    bad = admin.patch(f"/webhook-endpoints/{made['id']}", {"event_types": ["package.bogus"]})
    assert (bad.status, bad.body["field"]) == (422, "event_types[0]")  # refused by the schema, naming the item
    assert admin.delete(f"/webhook-endpoints/{made['id']}").status == 204
    assert admin.get(f"/webhook-endpoints/{made['id']}").status == 404
    assert WebhookEndpoint.objects.get().deleted_at is not None  # its attempts stay in the log


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.5/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "ftp://example.com/x",
        "https://user:pw@example.com/x",
    ],
)
def test_private_and_odd_targets_are_refused(clinic, admin, url):
    reply = admin.post("/webhook-endpoints", {"url": url, "event_types": ["*"]})
    assert reply.status == 422, reply.body
    assert (reply.body["code"], reply.body["field"]) == ("webhook_url_refused", "url")
    assert not WebhookEndpoint.objects.exists()


def test_a_sandbox_tenant_may_target_loopback(clinic, admin):
    clinic.tenant.sandbox = True
    clinic.tenant.save(update_fields=["sandbox"])
    assert admin.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/x", "event_types": ["*"]}).status == 201


def test_a_host_name_is_checked_again_when_sending(clinic, data, admin):
    register(admin, "http://unresolvable.invalid/hooks")  # saved: a name is resolved only when sending
    clinic.redeem(data["package"], "physio")
    delivery.deliver_due()
    attempt = Attempt.objects.get()
    assert attempt.outcome == "retry" and attempt.error.startswith("refused:")


def test_payload_is_versioned_json(clinic, data, admin, receiver, allow_private):
    hook = receiver()
    register(admin, hook.url, types=["*"])
    clinic.redeem(data["package"], "physio")
    delivery.deliver_due()
    body = json.loads(hook.requests[0].body)
    assert set(body) == {"id", "type", "timestamp", "version", "data"} and body["version"] == 1
