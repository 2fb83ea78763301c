"""The clinic's stories, end to end: selling, using, voiding, expiring, extending, closing, sharing,
transferring, plan versions, scope, blackouts, caps, idempotency and holds for future dates.

Every story ends with the ledger reconciled and the journal balanced.
"""

import datetime as dt

import pytest

from punchcard import clock
from punchcard.catalogue.services import PlanTerms, edit_plan
from punchcard.domain.errors import Conflict, DomainError, RuleViolation
from punchcard.domain.posting import Role
from punchcard.domain.roles import SYSTEM
from punchcard.ledger.models import JournalEntry
from punchcard.packages import selectors, services
from punchcard.packages.models import (
    EntryKind,
    ExpiryChange,
    Hold,
    HoldState,
    PackageLine,
    Redemption,
    SessionEntry,
    Transfer,
)
from punchcard.tenancy import services as tenancy
from punchcard.tenancy.models import AuditEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .books import assert_value_conserved, role_total

pytestmark = pytest.mark.django_db

D = dt.date


def refused(call, code: str) -> DomainError:
    with pytest.raises(DomainError) as error:
        call()
    assert error.value.code == code, error.value
    return error.value


def fresh(package):
    package.refresh_from_db()  # services change the row; the test's copy must not go stale
    return selectors.summarize(package)


def status(package):
    view = fresh(package).status
    return view.status if not view.in_grace else (view.status, "in_grace")


def five_physio(clinic, code="five-physio", **terms):
    terms.setdefault("expiry", {"kind": "after_start", "count": 30, "unit": "days"})
    return clinic.plan(code, price=500000, lines=[clinic.line("physio", sessions=5)], **terms)


def ends_reconciled(clinic, *packages):
    for package in packages:
        assert_value_conserved(package)
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- selling and using


def test_a_package_sold_with_a_future_start_is_scheduled_until_its_start_date():
    clinic = Clinic.open(now=local(2026, 2, 20, 10))
    package = clinic.sell(five_physio(clinic), start_date=D(2026, 3, 1))
    assert status(package) == "scheduled"
    assert package.expires_on == D(2026, 3, 30)
    # Booking ahead is fine for a date after the start, not for one before it.
    hold = clinic.hold(package, "physio", D(2026, 3, 2))
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 2, 28)), "not_started")
    assert refused(lambda: clinic.redeem(package, "physio"), "not_started")

    clock.set_now(local(2026, 3, 1, 9))
    assert status(package) == "active"
    services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)
    assert fresh(package).redeemed == 1
    ends_reconciled(clinic, package)


def test_using_every_session_exhausts_the_package_and_a_void_brings_it_back_to_active():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    redemptions = [clinic.redeem(package, "physio") for _ in range(5)]
    assert status(package) == "exhausted"
    assert refused(lambda: clinic.redeem(package, "physio"), "insufficient_sessions")

    services.void_redemption(
        tenant=clinic.tenant,
        actor=clinic.manager,
        redemption_id=redemptions[2].id,
        reason="charged to the wrong package",
    )
    assert status(package) == "active"
    voided = Redemption.objects.get(pk=redemptions[2].id)
    assert voided.voided_at is not None
    assert (voided.void_reason, voided.void_approver_id) == ("charged to the wrong package", clinic.manager.staff_id)
    assert refused(
        lambda: services.void_redemption(
            tenant=clinic.tenant, actor=clinic.manager, redemption_id=voided.id, reason="again"
        ),
        "already_voided",
    )
    # Revenue for the voided session was reversed; the session is usable again at its value.
    assert -role_total(package, Role.PACKAGE_REVENUE) == 400000
    assert clinic.redeem(package, "physio").value == 100000
    assert status(package) == "exhausted"
    history = [e.kind for e in selectors.history(package)]
    assert history == ["grant"] + ["redeem"] * 5 + ["void", "redeem"]
    ends_reconciled(clinic, package)


def test_a_front_desk_user_cannot_void_adjust_or_change_expiry():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    redemption = clinic.redeem(package, "physio")
    line = package.lines.get()
    desk = clinic.front_desk
    refused(
        lambda: services.void_redemption(tenant=clinic.tenant, actor=desk, redemption_id=redemption.id, reason="x"),
        "forbidden",
    )
    refused(
        lambda: services.adjust_sessions(
            tenant=clinic.tenant, actor=desk, package_id=package.id, line_id=line.id, delta=1, reason="x"
        ),
        "forbidden",
    )
    refused(
        lambda: services.change_expiry(
            tenant=clinic.tenant, actor=desk, package_id=package.id, expires_on=None, reason="x"
        ),
        "forbidden",
    )
    ends_reconciled(clinic, package)


def test_manager_adjustments_add_goodwill_sessions_and_remove_sessions_as_breakage():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    line = package.lines.get()
    services.adjust_sessions(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        line_id=line.id,
        delta=1,
        reason="goodwill: therapist ran late",
    )
    summary = fresh(package)
    assert (summary.granted, summary.deferred_value) == (6, 500000)  # no money moves for a free session

    services.adjust_sessions(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        line_id=line.id,
        delta=-2,
        reason="sold one session too many",
    )
    summary = fresh(package)
    assert (summary.granted, summary.remaining) == (4, 4)
    assert (
        -role_total(package, Role.BREAKAGE_REVENUE) == 500000 - summary.deferred_value == 166668
    )  # 2 of 500000 over 6
    assert [e.kind for e in selectors.history(package)] == ["grant", "adjust", "adjust"]
    assert AuditEvent.objects.filter(tenant=clinic.tenant, action="package.adjust").count() == 2
    ends_reconciled(clinic, package)


# ---------------------------------------------------------------- expiry, breakage and extension


def test_the_expiry_sweep_books_breakage_and_an_extension_reinstates_the_package():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    package = clinic.sell(five_physio(clinic))  # valid 1 – 30 March
    clinic.redeem(package, "physio", sessions=2)
    hold = clinic.hold(package, "physio", D(2026, 3, 30))

    clock.set_now(local(2026, 3, 30, 23, 0))
    assert services.expire_due_packages(tenant=clinic.tenant) == 0  # still valid today
    clock.set_now(local(2026, 3, 31, 2, 0))
    assert status(package) == "expired"
    assert services.expire_due_packages(tenant=clinic.tenant) == 1
    assert services.expire_due_packages(tenant=clinic.tenant) == 0  # idempotent

    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED  # the booked session was freed before forfeiting
    expired = SessionEntry.objects.filter(package=package, kind=EntryKind.EXPIRE)
    assert [(e.forfeited, e.value) for e in expired] == [(3, -300000)]
    breakage = JournalEntry.objects.get(tenant=clinic.tenant, kind="breakage")
    assert (breakage.event_type, breakage.total_debit) == ("package_expiry", 300000)
    assert -role_total(package, Role.BREAKAGE_REVENUE) == 300000
    summary = fresh(package)
    assert (summary.remaining, summary.deferred_value, summary.status.status) == (0, 0, "expired")
    assert refused(lambda: clinic.redeem(package, "physio"), "expired")

    services.change_expiry(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        expires_on=D(2026, 4, 30),
        reason="patient was in hospital",
    )
    summary = fresh(package)
    assert (summary.status.status, summary.remaining, summary.deferred_value) == ("active", 3, 300000)
    assert role_total(package, Role.BREAKAGE_REVENUE) == 0  # breakage reversed
    assert JournalEntry.objects.filter(tenant=clinic.tenant, kind="breakage_reversal").count() == 1
    change = ExpiryChange.objects.get(package=package)
    assert (change.old_expires_on, change.new_expires_on, change.reason) == (
        D(2026, 3, 30),
        D(2026, 4, 30),
        "patient was in hospital",
    )
    assert clinic.redeem(package, "physio").value == 100000
    ends_reconciled(clinic, package)


def test_expiring_twice_and_reinstating_twice_keeps_the_books_exact():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    package = clinic.sell(five_physio(clinic))
    clock.set_now(local(2026, 4, 5))
    services.expire_due_packages(tenant=clinic.tenant)
    services.change_expiry(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        expires_on=D(2026, 4, 10),
        reason="first extension",
    )
    clinic.redeem(package, "physio")
    clock.set_now(local(2026, 4, 11))
    services.expire_due_packages(tenant=clinic.tenant)
    assert -role_total(package, Role.BREAKAGE_REVENUE) == 400000
    services.change_expiry(
        tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, expires_on=None, reason="no expiry any more"
    )
    summary = fresh(package)
    assert (summary.status.status, summary.remaining, summary.usable_until) == ("active", 4, None)
    assert role_total(package, Role.BREAKAGE_REVENUE) == 0
    assert ExpiryChange.objects.filter(package=package).count() == 2
    ends_reconciled(clinic, package)


def test_shortening_the_expiry_into_the_past_expires_at_once_but_not_over_a_booked_appointment():
    clinic = Clinic.open(now=local(2026, 3, 10, 10))
    package = clinic.sell(five_physio(clinic), start_date=D(2026, 3, 10))
    hold = clinic.hold(package, "physio", D(2026, 3, 20))
    refused(
        lambda: services.change_expiry(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=package.id,
            expires_on=D(2026, 3, 15),
            reason="policy",
        ),
        "transition_not_allowed",
    )
    services.release_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id, reason="cancelled")
    services.change_expiry(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        expires_on=D(2026, 3, 10),
        reason="sold in error, closing today",
    )
    assert status(package) == "active"  # today is still its last day
    clock.set_now(local(2026, 3, 11, 10))
    services.change_expiry(
        tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, expires_on=D(2026, 3, 10), reason="confirm"
    )
    assert status(package) == "expired"
    assert fresh(package).remaining == 0  # forfeited by the change itself, no sweep needed
    ends_reconciled(clinic, package)


def test_soft_expiry_grace_is_flagged_and_the_sweep_waits_for_the_grace_to_end():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    package = clinic.sell(five_physio(clinic, expiry_mode="soft", grace_days=3))
    clock.set_now(local(2026, 4, 2, 10))  # last day 30 March + 3 grace days = 2 April
    assert status(package) == ("expired", "in_grace")
    assert services.expire_due_packages(tenant=clinic.tenant) == 0
    assert clinic.redeem(package, "physio").in_grace is True
    clock.set_now(local(2026, 4, 3, 10))
    assert services.expire_due_packages(tenant=clinic.tenant) == 1
    assert -role_total(package, Role.BREAKAGE_REVENUE) == 400000
    ends_reconciled(clinic, package)


def test_after_first_use_expiry_starts_counting_at_the_first_redemption():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = five_physio(clinic, "class-pass", expiry={"kind": "after_first_use", "count": 1, "unit": "months"})
    package = clinic.sell(plan)
    assert package.expires_on is None
    clock.set_now(local(2026, 6, 10, 10))
    assert status(package) == "active"
    clinic.redeem(package, "physio")
    package.refresh_from_db()
    assert (package.first_used_on, package.expires_on) == (D(2026, 6, 10), D(2026, 7, 9))
    ends_reconciled(clinic, package)


# ---------------------------------------------------------------- closing


@pytest.mark.parametrize(
    "close, closure, action",
    [
        (services.complete_package, "completed", "package.complete"),
        (services.cancel_package, "cancelled", "package.cancel"),
    ],
)
def test_closing_with_a_reason_forfeits_what_remains_and_refuses_everything_after(close, closure, action):
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    used = clinic.redeem(package, "physio")
    hold = clinic.hold(package, "physio", D(2026, 3, 5))
    refused(lambda: close(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason=""), "invalid")

    close(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="treatment plan changed")
    package.refresh_from_db()
    assert (package.closure, package.closed_reason, package.closed_by) == (
        closure,
        "treatment plan changed",
        clinic.manager.label,
    )
    assert status(package) == closure
    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED
    summary = fresh(package)
    assert (summary.redeemed, summary.remaining, summary.deferred_value) == (1, 0, 0)
    assert -role_total(package, Role.BREAKAGE_REVENUE) == 400000

    assert refused(lambda: clinic.redeem(package, "physio"), "package_closed")
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 6)), "package_closed")
    assert refused(
        lambda: services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id), "hold_resolved"
    )
    assert refused(
        lambda: services.void_redemption(tenant=clinic.tenant, actor=clinic.manager, redemption_id=used.id, reason="x"),
        "not_voidable",
    )
    for again in (services.complete_package, services.cancel_package):
        refused(
            lambda: again(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="again"),
            "transition_not_allowed",
        )
    refused(
        lambda: services.change_expiry(
            tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, expires_on=None, reason="x"
        ),
        "transition_not_allowed",
    )
    refused(
        lambda: services.adjust_sessions(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=package.id,
            line_id=package.lines.get().id,
            delta=1,
            reason="x",
        ),
        "transition_not_allowed",
    )
    assert services.expire_due_packages(tenant=clinic.tenant, as_of=D(2027, 1, 1)) == 0
    audit = AuditEvent.objects.get(tenant=clinic.tenant, action=action, subject_id=package.id)
    assert (audit.actor, audit.reason) == (clinic.manager.label, "treatment plan changed")
    ends_reconciled(clinic, package)


# ---------------------------------------------------------------- sharing and transfer


def test_a_transferable_package_moves_to_the_new_holder_with_history():
    clinic = Clinic.open()
    plan = five_physio(clinic, "gift-pack", transferable=True, shareable=True, max_beneficiaries=2)
    package = clinic.sell(plan, patient=clinic.asha)
    services.add_beneficiary(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.lata.id
    )
    clinic.redeem(package, "physio")

    services.transfer_package(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        to_patient_id=clinic.ravi.id,
        reason="moved abroad, gave it to her brother",
    )
    package.refresh_from_db()
    assert package.holder_id == clinic.ravi.id
    transfer = Transfer.objects.get(package=package)
    assert (transfer.from_patient_id, transfer.to_patient_id) == (clinic.asha.id, clinic.ravi.id)
    assert SessionEntry.objects.filter(package=package, kind=EntryKind.TRANSFER).count() == 1
    assert selectors.beneficiary_ids(package) == frozenset()  # the old family does not come along

    assert clinic.redeem(package, "physio").person_id == clinic.ravi.id
    assert refused(lambda: clinic.redeem(package, "physio", person=clinic.asha), "not_beneficiary")
    assert refused(lambda: clinic.redeem(package, "physio", person=clinic.lata), "not_beneficiary")
    assert selectors.usage_by_person(package) == {clinic.asha.id: 1, clinic.ravi.id: 1}
    assert [p.package.id for p in selectors.packages_of_patient(clinic.tenant, clinic.ravi.id)] == [package.id]
    assert selectors.packages_of_patient(clinic.tenant, clinic.asha.id) == []
    ends_reconciled(clinic, package)


def test_a_non_transferable_package_refuses_to_move():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    error = refused(
        lambda: services.transfer_package(
            tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, to_patient_id=clinic.ravi.id
        ),
        "not_transferable",
    )
    assert isinstance(error, RuleViolation)
    package.refresh_from_db()
    assert package.holder_id == clinic.asha.id
    assert not Transfer.objects.exists()
    ends_reconciled(clinic, package)


def test_a_transfer_waits_for_booked_appointments_and_an_exhausted_package_cannot_move():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic, "gift-pack", transferable=True))
    hold = clinic.hold(package, "physio", D(2026, 3, 3))
    transfer = lambda: services.transfer_package(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        to_patient_id=clinic.ravi.id,
    )
    refused(transfer, "transition_not_allowed")
    services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)
    clinic.redeem(package, "physio", sessions=4)
    refused(transfer, "transition_not_allowed")  # exhausted: nothing left to give
    ends_reconciled(clinic, package)


# ---------------------------------------------------------------- catalogue terms


def test_editing_a_sold_plan_makes_a_new_version_and_the_sold_package_keeps_its_terms():
    clinic = Clinic.open()
    v1 = five_physio(clinic)
    sold = clinic.sell(v1)
    v2 = edit_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        plan_id=v1.plan_id,
        terms=PlanTerms(
            name="Five Physio (2027)",
            price=600000,
            lines=[clinic.line("physio", sessions=6)],
            expiry={"kind": "after_start", "count": 60, "unit": "days"},
        ),
    )
    assert (v2.plan_id, v2.number) == (v1.plan_id, 2)
    assert v2.id != v1.id
    later = clinic.sell(v1)  # selling the plan sells its current version
    assert later.plan_version_id == v2.id
    assert (later.price_net, later.expires_on, fresh(later).granted) == (600000, D(2026, 4, 29), 6)

    sold.refresh_from_db()
    assert sold.plan_version_id == v1.id
    assert (sold.price_net, sold.expires_on, fresh(sold).granted) == (500000, D(2026, 3, 30), 5)
    assert [clinic.redeem(sold, "physio").value for _ in range(5)] == [100000] * 5
    ends_reconciled(clinic, sold, later)


def test_editing_a_never_sold_plan_rewrites_its_draft_version():
    clinic = Clinic.open()
    v1 = five_physio(clinic)
    v1b = edit_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        plan_id=v1.plan_id,
        terms=PlanTerms(name="Renamed", price=450000, lines=[clinic.line("physio", sessions=5)]),
    )
    assert v1b.number == 1
    assert clinic.sell(v1b).price_net == 450000


def _scoped(clinic, scope, **terms):
    return clinic.plan(f"scope-{scope}", price=300000, lines=[clinic.line("physio", sessions=3)], scope=scope, **terms)


def test_a_single_centre_package_is_used_only_where_it_was_bought():
    clinic = Clinic.open()
    package = clinic.sell(_scoped(clinic, "single"))
    assert refused(lambda: clinic.redeem(package, "physio", centre=clinic.other_centre), "out_of_scope")
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 3), centre=clinic.other_centre), "out_of_scope")
    assert clinic.redeem(package, "physio").centre_id == clinic.centre.id
    ends_reconciled(clinic, package)


def test_a_listed_centres_package_is_used_at_the_listed_centres_only():
    clinic = Clinic.open()
    third = tenancy.create_centre(
        tenant=clinic.tenant, actor=SYSTEM, name="Indiranagar", code="indiranagar", timezone="Asia/Kolkata"
    )
    package = clinic.sell(_scoped(clinic, "listed", centre_ids=[clinic.centre.id, third.id]))
    assert clinic.redeem(package, "physio", centre=third).centre_id == third.id
    assert clinic.redeem(package, "physio").centre_id == clinic.centre.id
    assert refused(lambda: clinic.redeem(package, "physio", centre=clinic.other_centre), "out_of_scope")
    ends_reconciled(clinic, package)


def test_an_all_centres_package_is_used_anywhere_in_the_tenant():
    clinic = Clinic.open()
    package = clinic.sell(_scoped(clinic, "all"))
    assert clinic.redeem(package, "physio", centre=clinic.other_centre).centre_id == clinic.other_centre.id
    assert clinic.redeem(package, "physio").centre_id == clinic.centre.id
    ends_reconciled(clinic, package)


def test_blackout_dates_are_refused_in_the_centres_own_time_zone():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    package = clinic.sell(five_physio(clinic, "holi-closed", blackout_dates=["2026-03-04"]))
    # 23:00 UTC on 3 March is 04:30 on 4 March in Mumbai: a blackout day there.
    clock.set_now(dt.datetime(2026, 3, 3, 23, 0, tzinfo=dt.UTC))
    error = refused(lambda: clinic.redeem(package, "physio"), "blackout_date")
    assert "2026-03-04" in str(error)
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 4)), "blackout_date")
    clock.set_now(dt.datetime(2026, 3, 3, 18, 0, tzinfo=dt.UTC))  # 23:30 on 3 March there
    assert clinic.redeem(package, "physio").day == D(2026, 3, 3)
    assert clinic.hold(package, "physio", D(2026, 3, 5)).day == D(2026, 3, 5)
    ends_reconciled(clinic, package)


def test_usage_caps_count_redemptions_and_holds_but_not_voids_or_releases():
    clinic = Clinic.open(now=local(2026, 3, 2, 10))  # a Monday
    plan = clinic.plan(
        "capped",
        price=1000000,
        lines=[clinic.line("physio", sessions=10)],
        cap_per_day=1,
        cap_per_week=2,
        cap_per_month=3,
    )
    package = clinic.sell(plan)
    first = clinic.redeem(package, "physio")
    error = refused(lambda: clinic.redeem(package, "physio"), "usage_cap")
    assert error.context["period"] == "day"
    services.void_redemption(tenant=clinic.tenant, actor=clinic.manager, redemption_id=first.id, reason="no-show")
    clinic.redeem(package, "physio")  # the voided one no longer counts

    hold = clinic.hold(package, "physio", D(2026, 3, 4))
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 6)), "usage_cap").context["period"] == "week"
    services.release_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)
    clinic.hold(package, "physio", D(2026, 3, 6))  # the released hold no longer counts
    clinic.hold(package, "physio", D(2026, 3, 10))  # next week
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 17)), "usage_cap").context["period"] == "month"
    clinic.hold(package, "physio", D(2026, 4, 1))
    ends_reconciled(clinic, package)


def test_a_minimum_gap_between_sessions_is_enforced_both_ways():
    clinic = Clinic.open(now=local(2026, 3, 2, 10))
    package = clinic.sell(five_physio(clinic, "gapped", min_gap_days=3))
    clinic.hold(package, "physio", D(2026, 3, 10))
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 8)), "min_gap")
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 12)), "min_gap")
    clinic.hold(package, "physio", D(2026, 3, 13))
    clinic.redeem(package, "physio")  # 2 March: far from both
    assert refused(lambda: clinic.redeem(package, "physio"), "min_gap")
    ends_reconciled(clinic, package)


# ---------------------------------------------------------------- idempotency and holds


def test_the_same_idempotency_key_returns_the_same_redemption_and_a_different_request_conflicts():
    clinic = Clinic.open()
    package = clinic.sell(
        clinic.plan("mixed", price=600000, lines=[clinic.line("physio", sessions=5), clinic.line("doctor", sessions=1)])
    )
    first = clinic.redeem(package, "physio", idempotency_key="appt-77-arrived")
    again = clinic.redeem(package, "physio", idempotency_key="appt-77-arrived")
    assert again.id == first.id
    assert Redemption.objects.filter(package=package).count() == 1
    assert fresh(package).redeemed == 1

    entries = SessionEntry.objects.count()
    for different in (
        dict(sessions=2),
        dict(service_code="doctor"),
        dict(person=clinic.ravi),
        dict(centre=clinic.other_centre),
    ):
        code = different.pop("service_code", "physio")
        error = refused(
            lambda: clinic.redeem(package, code, idempotency_key="appt-77-arrived", **different), "idempotency_conflict"
        )
        assert isinstance(error, Conflict) and error.field == "idempotency_key"
    assert SessionEntry.objects.count() == entries
    ends_reconciled(clinic, package)


def test_the_same_idempotency_key_returns_the_same_hold_and_a_different_date_conflicts():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    first = clinic.hold(package, "physio", D(2026, 3, 5), idempotency_key="booking-9")
    assert clinic.hold(package, "physio", D(2026, 3, 5), idempotency_key="booking-9").id == first.id
    refused(lambda: clinic.hold(package, "physio", D(2026, 3, 6), idempotency_key="booking-9"), "idempotency_conflict")
    assert fresh(package).held == 1
    ends_reconciled(clinic, package)


def test_a_hold_for_a_future_appointment_is_checked_against_the_appointments_date():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    package = clinic.sell(five_physio(clinic))  # valid 1 – 30 March
    assert status(package) == "active"  # valid today…
    error = refused(lambda: clinic.hold(package, "physio", D(2026, 3, 31)), "expired")  # …but not on the 31st
    assert error.context["expired_after"] == "2026-03-30"
    hold = clinic.hold(package, "physio", D(2026, 3, 30))
    assert hold.day == D(2026, 3, 30)
    # Arrival posts it, once; a second arrival answers with the same redemption; release is then refused.
    clock.set_now(local(2026, 3, 30, 17))
    posted = services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)
    assert services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id).id == posted.id
    assert posted.day == D(2026, 3, 30)
    refused(
        lambda: services.release_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id), "hold_resolved"
    )
    ends_reconciled(clinic, package)


def test_a_released_hold_gives_its_session_back_and_cannot_be_posted():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    hold = clinic.hold(package, "physio", D(2026, 3, 5), sessions=2)
    assert fresh(package).available == 3
    services.release_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id, reason="cancelled")
    services.release_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)  # same answer, once
    assert fresh(package).available == 5
    assert Hold.objects.get(pk=hold.id).state == HoldState.RELEASED
    assert SessionEntry.objects.filter(hold=hold, kind=EntryKind.RELEASE).count() == 1
    refused(lambda: services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id), "hold_resolved")
    ends_reconciled(clinic, package)


def test_package_lines_never_go_below_zero_even_when_written_around_the_services():
    """The database CHECK is the last line of defence against an overdraft."""
    from django.db import IntegrityError, transaction
    from django.db.models import F

    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    with pytest.raises(IntegrityError), transaction.atomic():
        PackageLine.objects.filter(package=package).update(redeemed=F("granted") + 1)
    ends_reconciled(clinic, package)


def test_a_hold_booked_for_a_grace_day_is_flagged_in_grace_when_posted():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    package = clinic.sell(five_physio(clinic, "soft-pack", expiry_mode="soft", grace_days=3))  # last day 30 March
    hold = clinic.hold(package, "physio", D(2026, 4, 1))  # booked today for a grace day
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 4, 3)), "expired")
    clock.set_now(local(2026, 4, 1, 11))
    posted = services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)
    assert (posted.day, posted.in_grace) == (D(2026, 4, 1), True)
    assert refused(lambda: clinic.hold(package, "physio", D(2026, 3, 30)), "backdated")  # the past: refused
    on_time = services.place_hold(  # ...unless a manager back-dates it, with a reason
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        service_id=clinic.services["physio"].id,
        centre_id=clinic.centre.id,
        day=D(2026, 3, 30),
        backdate_reason="seen on 30 March, entered late",
    )
    assert services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=on_time.id).in_grace is False
    ends_reconciled(clinic, package)


def test_a_voided_arrival_no_longer_counts_towards_the_usage_cap():
    clinic = Clinic.open(now=local(2026, 3, 2, 10))
    package = clinic.sell(
        clinic.plan("one-a-day", price=500000, lines=[clinic.line("physio", sessions=5)], cap_per_day=1)
    )
    hold = clinic.hold(package, "physio", D(2026, 3, 2))
    arrival = services.post_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)
    assert refused(lambda: clinic.redeem(package, "physio"), "usage_cap")
    services.void_redemption(
        tenant=clinic.tenant, actor=clinic.manager, redemption_id=arrival.id, reason="posted to the wrong patient"
    )
    assert clinic.redeem(package, "physio").day == D(2026, 3, 2)
    ends_reconciled(clinic, package)


def test_a_removed_beneficiary_keeps_their_history_but_can_no_longer_use_the_package():
    clinic = Clinic.open()
    package = clinic.sell(
        clinic.plan(
            "family", price=400000, lines=[clinic.line("physio", sessions=4)], shareable=True, max_beneficiaries=2
        )
    )
    services.add_beneficiary(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.ravi.id
    )
    refused(
        lambda: services.add_beneficiary(
            tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.ravi.id
        ),
        "already_beneficiary",
    )
    clinic.redeem(package, "physio", person=clinic.ravi)
    hold = clinic.hold(package, "physio", D(2026, 3, 9), person=clinic.ravi)
    remove = lambda: services.remove_beneficiary(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=package.id,
        patient_id=clinic.ravi.id,
    )
    refused(remove, "transition_not_allowed")  # a booked appointment first
    services.release_hold(tenant=clinic.tenant, actor=clinic.front_desk, hold_id=hold.id)
    remove()
    refused(remove, "not_found")
    assert refused(lambda: clinic.redeem(package, "physio", person=clinic.ravi), "not_beneficiary")
    assert selectors.usage_by_person(package) == {clinic.ravi.id: 1}
    # The seat is free again for someone else.
    services.add_beneficiary(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.kiran.id
    )
    assert clinic.redeem(package, "physio", person=clinic.kiran).person_id == clinic.kiran.id
    ends_reconciled(clinic, package)


def test_a_package_that_is_not_shareable_refuses_beneficiaries():
    clinic = Clinic.open()
    package = clinic.sell(five_physio(clinic))
    refused(
        lambda: services.add_beneficiary(
            tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.ravi.id
        ),
        "not_shareable",
    )
    ends_reconciled(clinic, package)
