"""Sell → redeem → void → reconcile, the shortest story the core must tell."""

import pytest

from punchcard.packages import selectors, services
from punchcard.packages.models import PackageLine

from .clinic import Clinic

pytestmark = pytest.mark.django_db


def test_sell_redeem_void_keeps_ledger_and_cache_equal():
    clinic = Clinic.open()
    plan = clinic.plan(
        "physio-pack",
        price=800000,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
    )
    package = clinic.sell(plan)
    redemption = clinic.redeem(package, "physio")
    assert redemption.value in (61538, 61539)
    summary = selectors.summarize(package)
    assert (summary.granted, summary.redeemed, summary.remaining) == (12, 1, 11)
    assert summary.status.status == "active"
    services.void_redemption(
        tenant=clinic.tenant, actor=clinic.manager, redemption_id=redemption.id, reason="wrong patient"
    )
    assert sum(line.redeemed for line in PackageLine.objects.filter(package=package)) == 0
    assert selectors.ledger_mismatches(clinic.tenant) == []
