"""Idempotency-Key: a repeated request answers with the first response and writes nothing more."""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard import clock
from punchcard.billing.models import Order, Payment
from punchcard.kernel.idempotency import RETENTION, purge_expired
from punchcard.kernel.models import IdempotencyRecord
from punchcard.packages.models import Redemption, SessionEntry
from punchcard.tenancy.models import Patient

from .conftest import Api, api_key, seed

pytestmark = pytest.mark.django_db


def redeem_body(clinic, **changes):
    return {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id, **changes}


def test_same_key_same_body_replays_the_first_response_and_writes_once(clinic, data, desk):
    path = f"/packages/{data['package'].id}/redemptions"
    first = desk.post(path, redeem_body(clinic), headers={"Idempotency-Key": "visit-1"})
    entries = SessionEntry.objects.count()
    again = desk.post(path, redeem_body(clinic), headers={"Idempotency-Key": "visit-1"})
    assert first.status == again.status == 201
    assert first.raw == again.raw
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert Redemption.objects.filter(package=data["package"]).count() == 1
    assert SessionEntry.objects.count() == entries


def test_key_order_and_spacing_do_not_make_a_different_request(clinic, data, desk):
    path = f"/packages/{data['package'].id}/redemptions"
    one = desk.post(
        path,
        raw=b'{"service_id": %d, "centre_id": %d}' % (clinic.services["physio"].id, clinic.centre.id),
        headers={"Idempotency-Key": "k"},
    )
    other = desk.post(
        path,
        raw=b'{"centre_id":%d,"service_id":%d}' % (clinic.centre.id, clinic.services["physio"].id),
        headers={"Idempotency-Key": "k"},
    )
    assert (one.status, other.status, one.raw) == (201, 201, other.raw)


def test_same_key_different_body_or_route_is_a_409(clinic, data, desk):
    package = data["package"]
    desk.post(f"/packages/{package.id}/redemptions", redeem_body(clinic), headers={"Idempotency-Key": "visit-2"})
    changed = desk.post(
        f"/packages/{package.id}/redemptions", redeem_body(clinic, sessions=2), headers={"Idempotency-Key": "visit-2"}
    )
    assert (changed.status, changed.body["code"], changed.body["field"]) == (
        409,
        "idempotency_conflict",
        "Idempotency-Key",
    )
    elsewhere = desk.post(
        f"/packages/{package.id}/holds", redeem_body(clinic, day="2026-03-09"), headers={"Idempotency-Key": "visit-2"}
    )
    assert (elsewhere.status, elsewhere.body["code"]) == (409, "idempotency_conflict")
    assert Redemption.objects.filter(package=package).count() == 1


def test_orders_and_payments_are_not_repeated(clinic, data, desk):
    body = {"patient_id": clinic.lata.id, "centre_id": clinic.centre.id, "items": [{"plan_id": data["physio"].plan_id}]}
    order = desk.post("/orders", body, headers={"Idempotency-Key": "order-77"})
    assert desk.post("/orders", body, headers={"Idempotency-Key": "order-77"}).raw == order.raw
    assert Order.objects.filter(patient=clinic.lata).count() == 1
    pay = {"method": "card", "amount": 800000}
    paid = desk.post(f"/orders/{order.body['id']}/payments", pay, headers={"Idempotency-Key": "pay-77"})
    again = desk.post(f"/orders/{order.body['id']}/payments", pay, headers={"Idempotency-Key": "pay-77"})
    assert (paid.status, again.raw) == (201, paid.raw)
    assert Payment.objects.filter(order_id=order.body["id"]).count() == 1


def test_without_a_key_every_request_is_new(clinic, desk):
    desk.post("/patients", {"external_ref": "N-1", "name": "One"})
    assert desk.post("/patients", {"external_ref": "N-1", "name": "One"}).status == 409  # a second attempt
    assert Patient.objects.filter(external_ref="N-1").count() == 1


def test_a_refused_request_is_not_remembered(clinic, data, desk, manager):
    package = data["package"]
    line = package.lines.order_by("id").last()  # doctor: 2 sessions
    body = redeem_body(clinic, service_id=clinic.services["doctor"].id, sessions=3)
    refused = desk.post(f"/packages/{package.id}/redemptions", body, headers={"Idempotency-Key": "retry-me"})
    assert refused.status == 409
    assert not IdempotencyRecord.objects.filter(key="retry-me").exists()
    manager.post(f"/packages/{package.id}/adjustments", {"line_id": line.id, "delta": 1, "reason": "goodwill"})
    assert desk.post(f"/packages/{package.id}/redemptions", body, headers={"Idempotency-Key": "retry-me"}).status == 201


def test_keys_belong_to_a_tenant(clinic, data, desk):
    from ..clinic import Clinic

    other = Clinic.open()
    other_data = seed(other)
    other_desk = Api(api_key(other, "front_desk"))
    mine = desk.post(
        f"/packages/{data['package'].id}/redemptions", redeem_body(clinic), headers={"Idempotency-Key": "shared-key"}
    )
    theirs = other_desk.post(
        f"/packages/{other_data['package'].id}/redemptions",
        redeem_body(other),
        headers={"Idempotency-Key": "shared-key"},
    )
    assert (mine.status, theirs.status) == (201, 201)
    assert theirs.body["package_id"] == other_data["package"].id


@pytest.mark.parametrize("key", ["", "x" * 201, "caf\u00e9"])
def test_malformed_keys_are_422(clinic, data, desk, key):
    reply = desk.call(
        "POST", f"/packages/{data['package'].id}/redemptions", redeem_body(clinic), headers={"Idempotency-Key": key}
    )
    assert (reply.status, reply.body["field"]) == (422, "Idempotency-Key")


def test_records_are_kept_for_a_day_and_purged_after_two(clinic, data, desk):
    path = f"/packages/{data['package'].id}/redemptions"
    first = desk.post(path, redeem_body(clinic), headers={"Idempotency-Key": "old"})
    with clock.frozen_at(clock.now() + dt.timedelta(hours=47)):
        assert desk.post(path, redeem_body(clinic), headers={"Idempotency-Key": "old"}).raw == first.raw
        assert purge_expired() == 0
    with clock.frozen_at(clock.now() + RETENTION + dt.timedelta(minutes=1)):
        assert purge_expired() == 1
    assert not IdempotencyRecord.objects.filter(key="old").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", ["redemption", "order"])
def test_concurrent_duplicates_execute_once(run_concurrently, route):
    from ..clinic import Clinic

    clinic = Clinic.open()
    data = seed(clinic)
    secret = api_key(clinic, "front_desk")
    if route == "redemption":
        path, body = f"/packages/{data['package'].id}/redemptions", redeem_body(clinic)
    else:
        path, body = (
            "/orders",
            {
                "patient_id": clinic.lata.id,
                "centre_id": clinic.centre.id,
                "items": [{"plan_id": data["physio"].plan_id}],
            },
        )

    def attempt():
        return Api(secret).post(path, body, headers={"Idempotency-Key": "double-click"})

    replies = run_concurrently(*[attempt for _ in range(6)])
    assert all(not isinstance(r, BaseException) for r in replies), replies
    assert {r.status for r in replies} == {201}
    assert len({r.raw for r in replies}) == 1
    assert Redemption.objects.filter(package=data["package"]).count() == (1 if route == "redemption" else 0)
    assert Order.objects.filter(patient=clinic.lata).count() == (1 if route == "order" else 0)


def test_the_payment_service_replays_a_key_whose_reference_had_spaces(clinic, data):
    # The API passes its key down; the service's own check must also see a repeat as the same payment.
    from punchcard.billing.services import OrderItem, place_order, record_payment

    order = place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.lata.id,
        centre_id=clinic.centre.id,
        items=[OrderItem(plan_id=data["physio"].plan_id)],
    )
    pay = dict(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="card",
        amount=1000,
        reference=" slip 9 ",
        idempotency_key="pay-9",
    )
    assert record_payment(**pay).id == record_payment(**pay).id
