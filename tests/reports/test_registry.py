"""The registry of reports: every report module registers itself, and run_report finds it by name."""

import pytest

from punchcard.domain.errors import InvalidInput
from punchcard.reports import registry
from punchcard.reports import services as report_services
from punchcard.reports.registry import Column, Report

from ..clinic import Clinic, local

pytestmark = pytest.mark.django_db


def test_every_report_module_is_registered_in_a_stable_order():
    assert registry.names() == [
        "sales",
        "usage",
        "usage-detail",
        "liability",
        "expiry",
        "completion",
        "profit",
        "commission",
        "settlement",
        "membership-revenue",
    ]
    assert all(d.description for d in registry.definitions())


def test_a_registered_report_is_run_by_name_with_its_checked_period(monkeypatch):
    monkeypatch.setattr(registry, "_definitions", dict(registry._definitions))
    seen = []

    @registry.register("periods", description="The period asked for", order=1)
    def periods(params):
        seen.append(params)
        row = {"from": params.date_from, "to": params.date_to}
        return Report("periods", "Periods", [Column("from", "From", "date"), Column("to", "To", "date")], [row])

    assert registry.names()[0] == "periods"
    clinic = Clinic.open(now=local(2026, 3, 1, 9))
    report = report_services.run_report(
        tenant=clinic.tenant, actor=clinic.manager, name="periods", now=local(2026, 3, 17)
    )
    assert (report.currency, seen[0].date_from.isoformat(), seen[0].date_to.isoformat()) == (
        "INR",
        "2026-03-01",
        "2026-03-17",
    )
    with pytest.raises(InvalidInput, match="from is after to"):
        report_services.run_report(
            tenant=clinic.tenant, actor=clinic.manager, name="periods", date_from="2026-03-18", now=local(2026, 3, 17)
        )
    with pytest.raises(RuntimeError, match="registered already"):
        registry.register("sales", description="another", order=99)(periods)
