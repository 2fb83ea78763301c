"""The README's "A year of memberships on the test clock", request for request (SPEC §10.4): a sandbox sets up
a Gold/Platinum/VIP tier group, subscribes Kabir to Gold with the test provider's card that is declined
once, advances its clock a year over the API, and sees twelve invoices, one failure retried, revenue
recognised month by month, and reconcile clean."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from punchcard import clock
from punchcard.domain.roles import Role
from punchcard.ledger.reconcile import reconcile

from ..api.conftest import Api, api_key
from ..clinic import Clinic, local

pytestmark = pytest.mark.django_db

START = local(2026, 12, 1, 10)  # Tuesday 1 December 2026, 10:00 in Mumbai


def test_a_year_of_a_gold_member_on_the_test_clock():
    clinic = Clinic.open(now=START, sandbox=True)
    clock.set_now(None)  # from here on, the sandbox's own clock is "now"
    admin = Api(api_key(clinic, Role.ADMIN))
    physio = clinic.services["physio"].id

    club = admin.post("/tier-groups", {"code": "club", "name": "Wellness Club"})
    assert club.status == 201, club.body
    for rank, (code, name, monthly, sessions) in enumerate(
        [("gold", "Gold", 300000, 2), ("platinum", "Platinum", 500000, 4), ("vip", "VIP", 900000, 8)], start=1
    ):
        made = admin.post(
            "/membership-plans",
            {
                "code": code,
                "name": name,
                "tier_group_id": club.body["id"],
                "rank": rank,
                "prices": {"monthly": monthly},
                "benefits": [{"service_ids": [physio], "sessions": sessions}],
            },
        )
        assert made.status == 201, made.body
        if code == "gold":
            gold = made.body["id"]
    assert [p["code"] for p in admin.get(f"/tier-groups/{club.body['id']}").body["plans"]] == [
        "gold",
        "platinum",
        "vip",
    ]

    kabir = admin.post("/patients", {"external_ref": "P-2001", "name": "Kabir Shah", "email": "kabir@example.com"})
    card = admin.post(
        f"/patients/{kabir.body['id']}/payment-methods", {"provider": "test", "token": "tok_fail_then_ok"}
    )
    assert card.status == 201, card.body
    member = admin.post(
        "/memberships",
        {
            "patient_id": kabir.body["id"],
            "plan_id": gold,
            "frequency": "monthly",
            "centre_id": clinic.centre.id,
            "payment_method_id": card.body["id"],
        },
    )
    assert member.status == 201, member.body

    # A year less a day: the periods starting 1 December 2026 … 1 November 2027, twelve of them.
    advanced = {"done": False}
    calls = 0
    while not advanced["done"]:
        reply = admin.post("/test-clock/advance", {"to": "2027-11-30"})
        assert reply.status == 200, reply.body
        advanced, calls = reply.body, calls + 1
    assert advanced["now"] == "2027-11-30T06:30:00Z" and calls >= 1

    invoices = admin.get(f"/memberships/{member.body['id']}/invoices", limit=50).body["items"]
    assert len(invoices) == 12 and {i["status"] for i in invoices} == {"paid"}
    assert sorted(i["number"] for i in invoices) == list(range(1, 13))
    shown = admin.get(f"/memberships/{member.body['id']}").body
    assert (shown["status"], shown["next_billing_date"]) == ("active", "2027-12-01")

    # The first charge (the December invoice, tried at the first 00:05 run) was declined; the retry three
    # days later went through, and every later renewal on the first try.
    events = [e["type"] for e in admin.get("/events", limit=500).body["items"]]
    assert events.count("membership.payment_failed") == 1 and events.count("membership.past_due") == 1

    # Recognised by day: ₹3,000 a month, all of December to October earned, November through the 29th
    # (the run on the 30th recognises through the day before): 29 of 30 days = ₹2,900.
    report = admin.get("/reports/membership-revenue", **{"from": "2026-12-01", "to": "2027-11-30"}).body
    rows = {r["month"]: r for r in report["rows"]}
    assert [rows[m]["recognised"] for m in sorted(rows)] == [300000] * 11 + [290000]
    assert (report["totals"]["invoiced"], rows["2027-11"]["deferred"]) == (12 * 300000, 10000)

    out = io.StringIO()
    call_command("reconcile", "--tenant", clinic.tenant.slug, stdout=out)
    assert out.getvalue().rstrip().endswith("All checks passed for 1 tenant(s).")
    assert {r.name: r.checked for r in reconcile(clinic.tenant)}["memberships"] == 12
