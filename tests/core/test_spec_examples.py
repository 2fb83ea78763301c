"""SPEC §15: the worked examples that must hold exactly (1, 4, 5 and 6), against the database."""

import datetime as dt

import pytest

from punchcard import clock
from punchcard.domain.errors import RuleViolation
from punchcard.domain.posting import Role
from punchcard.packages import selectors, services
from punchcard.packages.models import PackageLine, Redemption

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .books import assert_value_conserved, role_total

D = dt.date


def refused(call) -> RuleViolation:
    with pytest.raises(RuleViolation) as error:
        call()
    return error.value


@pytest.mark.django_db
def test_spec_example_1_physiotherapy_recovery_pack_allocates_8000_exactly_over_12_sessions():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "physiotherapy-recovery-pack",
        name="Physiotherapy Recovery Pack",
        price=800000,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
    )
    assert plan.total_sessions == 12
    package = clinic.sell(plan)

    physio_line, doctor_line = PackageLine.objects.filter(package=package).order_by("id")
    assert (physio_line.granted, physio_line.deferred_value) == (10, 615385)  # Rs 6,153.85
    assert (doctor_line.granted, doctor_line.deferred_value) == (2, 184615)  # Rs 1,846.15
    assert package.expires_on == D(2026, 5, 29)

    physio = [clinic.redeem(package, "physio").value for _ in range(10)]
    doctor = [clinic.redeem(package, "doctor").value for _ in range(2)]
    assert physio == [61539] * 5 + [61538] * 5  # 615.39 / 615.38 (largest remainder)
    assert doctor == [92308, 92307]  # 923.08 / 923.07
    assert sum(physio + doctor) == 800000  # exactly Rs 8,000.00

    summary = selectors.summarize(package)
    assert (summary.remaining, summary.deferred_value, summary.status.status) == (0, 0, "exhausted")
    assert -role_total(package, Role.PACKAGE_REVENUE) == 800000
    assert_value_conserved(package)
    assert_reconciled(clinic.tenant)


def _future_start_package(clinic, *, soft: bool, sessions: int = 12):
    plan = clinic.plan(
        "ninety-days-" + ("soft" if soft else "hard"),
        price=120000,
        lines=[clinic.line("physio", sessions=sessions)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
        expiry_mode="soft" if soft else "hard",
        grace_days=7 if soft else 0,
    )
    package = clinic.sell(plan, start_date=D(2026, 3, 1))
    assert package.start_date == D(2026, 3, 1)
    assert package.expires_on == D(2026, 5, 29)  # start + 89 days
    return package


@pytest.mark.django_db
def test_spec_example_4_future_start_hard_expiry_refuses_before_start_and_after_the_89th_day():
    clinic = Clinic.open(now=local(2026, 2, 20, 11))
    package = _future_start_package(clinic, soft=False)
    assert selectors.summarize(package).status.status == "scheduled"

    clock.set_now(local(2026, 2, 28, 12))
    assert refused(lambda: clinic.redeem(package, "physio")).code == "not_started"
    clock.set_now(local(2026, 2, 28, 23, 59))
    assert refused(lambda: clinic.redeem(package, "physio")).code == "not_started"

    clock.set_now(local(2026, 5, 29, 23, 59))
    accepted = clinic.redeem(package, "physio")
    assert (accepted.day, accepted.in_grace) == (D(2026, 5, 29), False)
    assert selectors.summarize(package).status.status == "active"

    clock.set_now(local(2026, 5, 30, 0, 0))
    error = refused(lambda: clinic.redeem(package, "physio"))
    assert (error.code, error.context["expired_after"]) == ("expired", "2026-05-29")
    assert selectors.summarize(package).status.status == "expired"
    assert Redemption.objects.filter(package=package).count() == 1
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_spec_example_4_soft_expiry_accepts_and_flags_in_grace_through_5_june_and_refuses_from_6_june():
    clinic = Clinic.open(now=local(2026, 2, 20, 11))
    package = _future_start_package(clinic, soft=True)

    clock.set_now(local(2026, 2, 28, 18))
    assert refused(lambda: clinic.redeem(package, "physio")).code == "not_started"

    clock.set_now(local(2026, 5, 29, 23, 59))
    assert clinic.redeem(package, "physio").in_grace is False

    for day in [D(2026, 5, 30) + dt.timedelta(days=n) for n in range(7)]:  # 30 May … 5 June
        for hh, mm in ((0, 0), (23, 59)):
            clock.set_now(local(day.year, day.month, day.day, hh, mm))
            summary = selectors.summarize(package)
            assert (summary.status.status, summary.status.in_grace) == ("expired", True), day
        redemption = clinic.redeem(package, "physio")
        assert (redemption.day, redemption.in_grace) == (day, True)
    assert summary.usable_until == D(2026, 6, 5)

    clock.set_now(local(2026, 6, 6, 0, 0))
    assert refused(lambda: clinic.redeem(package, "physio")).code == "expired"
    summary = selectors.summarize(package)
    assert (summary.status.status, summary.status.in_grace) == ("expired", False)
    assert list(Redemption.objects.filter(package=package, in_grace=True).values_list("day", flat=True)) == [
        D(2026, 5, 30) + dt.timedelta(days=n) for n in range(7)
    ]

    # The nightly sweep then turns what is left (12 − 8 = 4 sessions) into breakage.
    assert services.expire_due_packages(tenant=clinic.tenant) == 1
    assert selectors.summarize(package).remaining == 0
    assert_value_conserved(package)
    assert -role_total(package, Role.BREAKAGE_REVENUE) == 40000  # 4 × Rs 100 (1,200 over 12)
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db
def test_spec_example_5_shareable_max_4_holder_plus_3_beneficiaries_a_4th_refused_usage_by_person():
    clinic = Clinic.open()
    plan = clinic.plan(
        "family-yoga",
        price=100000,
        lines=[clinic.line("yoga", "pilates", sessions=20)],
        shareable=True,
        max_beneficiaries=4,
    )
    package = clinic.sell(plan, patient=clinic.asha)
    for person in (clinic.ravi, clinic.kiran, clinic.lata):
        services.add_beneficiary(
            tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=person.id
        )
    error = refused(
        lambda: services.add_beneficiary(
            tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.nikhil.id
        )
    )
    assert (error.code, error.context["max_beneficiaries"]) == ("beneficiary_limit", 4)
    assert selectors.beneficiary_ids(package) == {clinic.ravi.id, clinic.kiran.id, clinic.lata.id}

    clinic.redeem(package, "yoga")  # the holder
    clinic.redeem(package, "yoga", person=clinic.ravi, sessions=2)
    clinic.redeem(package, "pilates", person=clinic.kiran)
    mistaken = clinic.redeem(package, "pilates", person=clinic.kiran)
    services.void_redemption(
        tenant=clinic.tenant, actor=clinic.manager, redemption_id=mistaken.id, reason="entered twice"
    )
    assert refused(lambda: clinic.redeem(package, "yoga", person=clinic.nikhil)).code == "not_beneficiary"

    assert selectors.usage_by_person(package) == {clinic.asha.id: 1, clinic.ravi.id: 2, clinic.kiran.id: 1}
    assert selectors.summarize(package).redeemed == 4
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db(transaction=True)
def test_spec_example_6_fifty_concurrent_redemptions_of_the_last_3_sessions_exactly_3_succeed(run_concurrently):
    clinic = Clinic.open()
    plan = clinic.plan("five-physio", price=500000, lines=[clinic.line("physio", sessions=5)])
    package = clinic.sell(plan)
    clinic.redeem(package, "physio", sessions=2)
    assert selectors.summarize(package).available == 3

    outcomes = run_concurrently(*[lambda: clinic.redeem(package, "physio") for _ in range(50)], timeout=120)

    succeeded = [o for o in outcomes if isinstance(o, Redemption)]
    refusals = [o for o in outcomes if isinstance(o, RuleViolation)]
    unexpected = [o for o in outcomes if not isinstance(o, (Redemption, RuleViolation))]
    assert unexpected == []
    assert len(succeeded) == 3
    assert len(refusals) == 47
    assert {r.code for r in refusals} == {"insufficient_sessions"}
    assert sum(r.value for r in succeeded) == 300000

    summary = selectors.summarize(package)
    assert (summary.remaining, summary.available, summary.redeemed, summary.deferred_value) == (0, 0, 5, 0)
    assert summary.status.status == "exhausted"
    assert Redemption.objects.filter(package=package).count() == 4  # the first (2 sessions) + 3
    assert_value_conserved(package)
    assert_reconciled(clinic.tenant)
