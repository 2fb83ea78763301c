"""Statement budgets of the hot HTTP writes: a test fails when a change adds a round trip.

Counted with CaptureQueriesContext around one request of a steady state (the API key already seen by
this process, the package used before). Inside the test's own transaction the request's BEGIN/COMMIT
show as SAVEPOINT/RELEASE and are counted; in production they are the transaction's BEGIN and COMMIT.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

# Where the redemption's statements go (no Idempotency-Key), 17 in all:
#   BEGIN; centre; service; package FOR NO KEY UPDATE; lines; INSERT redemption; INSERT session entry;
#   UPDATE line; chart of accounts (once per request's tenant object); closed periods; INSERT journal
#   entry; INSERT postings; INSERT outbox event; webhook endpoints of the event; reminder settings; COMMIT.
# The API key is remembered (tenancy.keycache) and the answer is the service's row: no read around it.
REDEEM_BUDGET = 16
# With a key: + the stored response's lookup, + SAVEPOINT/RELEASE around the service, + the service's own
# lookup of the key on its redemptions, + the record's INSERT.
REDEEM_WITH_KEY_BUDGET = REDEEM_BUDGET + 5
# POST /orders then POST /orders/{id}/payments (the package opens), both requests: 61 today, of which
# each answer's re-read of the order with its lines, packages and payments is 4.
SALE_BUDGET = 61


def _count(call) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        reply = call()
    assert 200 <= reply.status < 300, reply.body
    return len(ctx.captured_queries), [q["sql"][:120] for q in ctx.captured_queries]


def _redeem(clinic, data, desk, **headers):
    path = f"/packages/{data['package'].id}/redemptions"
    body = {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id}
    return lambda: desk.post(path, body, headers=headers or None)


def test_a_redemption_over_http_keeps_its_statement_budget(clinic, data, desk):
    _redeem(clinic, data, desk)()  # the key is now remembered; the package used before
    count, sql = _count(_redeem(clinic, data, desk))
    assert count <= REDEEM_BUDGET, "\n".join(sql)
    assert not any('"tenancy_apikey"' in s for s in sql), "the API key was read again"
    assert sql[-1].startswith("RELEASE"), "the answer re-read the redemption after the write"


def test_a_redemption_with_an_idempotency_key_keeps_its_statement_budget(clinic, data, desk):
    _redeem(clinic, data, desk)()
    count, sql = _count(_redeem(clinic, data, desk, **{"Idempotency-Key": "visit-9"}))
    assert count <= REDEEM_WITH_KEY_BUDGET, "\n".join(sql)
    stored = [s for s in sql if '"api_idempotencyrecord"' in s]
    assert [s.split()[0] for s in stored] == ["SELECT", "INSERT"]  # the lookup, then one INSERT, no savepoint


def test_the_answer_is_what_a_read_shows(clinic, data, desk):
    made = _redeem(clinic, data, desk)()
    assert made.status == 201
    read = desk.get(f"/packages/{data['package'].id}/redemptions").body["items"][0]
    assert made.body == read


def test_a_sale_over_http_keeps_its_statement_budget(clinic, data, desk):
    body = {"patient_id": clinic.lata.id, "centre_id": clinic.centre.id, "items": [{"plan_id": data["physio"].plan_id}]}
    desk.get("/me")
    with CaptureQueriesContext(connection) as ctx:
        order = desk.post("/orders", body)
        paid = desk.post(
            f"/orders/{order.body['id']}/payments", {"method": "card", "amount": order.body["due"]["amount"]}
        )
    assert (order.status, paid.status, paid.body["order"]["status"]) == (201, 201, "paid")
    assert len(ctx.captured_queries) <= SALE_BUDGET, "\n".join(q["sql"][:120] for q in ctx.captured_queries)
