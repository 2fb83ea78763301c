"""Statement budgets of the hot writes: how many statements each sends after BEGIN (COMMIT counted), on
the same used package, with the tenant object of the request (its chart of accounts already read).

On PostgreSQL a redemption, a hold placed, posted or released is the locking read, the one write statement
and COMMIT (README rule 16). A void, a sale and a payment are counted as they stand: lowering them is
welcome, raising them fails here. Inside a test the service's transaction is a savepoint: SAVEPOINT
stands for BEGIN and RELEASE SAVEPOINT for COMMIT.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from punchcard.billing import services as billing
from punchcard.billing.services.orders import OrderItem
from punchcard.packages import services

from ..clinic import Clinic, local

pytestmark = pytest.mark.django_db

BUDGETS = {  # write → statements after BEGIN, COMMIT included
    "postgresql": {"redeem": 3, "hold": 3, "post": 3, "release": 3, "void": 22, "sell": 50, "payment": 33},
    # SQLite keeps the ORM path: each row its own statement, the side reads separate.
    "sqlite": {"redeem": 14, "hold": 10, "post": 18, "release": 10, "void": 22, "sell": 50, "payment": 33},
}


def _count(call) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        call()
    sql = [q["sql"] for q in captured.captured_queries]
    assert sql[0].startswith("SAVEPOINT") and sql[-1].startswith("RELEASE SAVEPOINT"), sql
    return len(sql) - 1, sql


@pytest.fixture
def used():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan("ten", price=1000000, lines=[clinic.line("physio", sessions=10)])
    package = clinic.sell(plan)
    clinic.redeem(package, "physio")  # used before: its first use is behind it, as most redemptions' is
    return clinic, plan, package


def _measured(clinic, plan, package) -> dict[str, tuple[int, list[str]]]:
    c, desk = clinic, clinic.front_desk
    counts = {"redeem": _count(lambda: c.redeem(package, "physio"))}
    holds = []
    counts["hold"] = _count(lambda: holds.append(c.hold(package, "physio", dt.date(2026, 3, 2))))
    c.hold(package, "physio", dt.date(2026, 3, 3))
    second = services.place_hold(
        tenant=c.tenant,
        actor=desk,
        package_id=package.id,
        service_id=c.services["physio"].id,
        centre_id=c.centre.id,
        day=dt.date(2026, 3, 4),
    )
    counts["post"] = _count(lambda: services.post_hold(tenant=c.tenant, actor=desk, hold_id=holds[0].id))
    counts["release"] = _count(
        lambda: services.release_hold(tenant=c.tenant, actor=desk, hold_id=second.id, reason="cancelled")
    )
    wrong = c.redeem(package, "physio")
    counts["void"] = _count(
        lambda: services.void_redemption(tenant=c.tenant, actor=c.manager, redemption_id=wrong.id, reason="wrong")
    )
    counts["sell"] = _count(lambda: c.sell(plan, patient=c.ravi))
    order = billing.place_order(
        tenant=c.tenant, actor=desk, patient_id=c.kiran.id, centre_id=c.centre.id, items=[OrderItem(plan.plan_id)]
    )
    counts["payment"] = _count(
        lambda: billing.record_payment(
            tenant=c.tenant, actor=desk, order_id=order.id, amount=order.gross, method="card"
        )
    )
    return counts


def test_each_hot_write_stays_within_its_statement_budget(used):
    budgets = BUDGETS[connection.vendor]
    counts = _measured(*used)
    print("statements:", {write: n for write, (n, _) in counts.items()})  # shown with -s, to lower a budget
    over = {write: (n, budgets[write], sql) for write, (n, sql) in counts.items() if n > budgets[write]}
    assert not over, "over budget (statements, budget, what was sent):\n" + "\n".join(
        f"{write}: {n} > {budget}\n  " + "\n  ".join(s[:160] for s in sql) for write, (n, budget, sql) in over.items()
    )
    if connection.vendor == "postgresql":
        # The locking read, the one write statement, COMMIT.
        n, sql = counts["redeem"]
        assert n == 3 and [s.split()[0] for s in sql[1:3]] == ["WITH", "WITH"], sql
        assert "FOR NO KEY UPDATE" in sql[1] and "INSERT INTO" in sql[2], sql
