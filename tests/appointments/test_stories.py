"""Appointments drive the package (SPEC §5), told as the front desk lives it.

Every story ends with the books check: the session cache equals its ledger, money agrees with
sessions (billing.selectors.money_problems), and the journal balances.
"""

import datetime as dt

import pytest

from punchcard.appointments import selectors
from punchcard.appointments import services as appointments
from punchcard.appointments.models import (
    Appointment,
    AppointmentCharge,
    AppointmentStatus,
    CommissionCredit,
)
from punchcard.domain.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from punchcard.domain.posting import Role
from punchcard.packages import services as packages
from punchcard.packages.models import Hold, HoldState, Redemption, SessionEntry
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic
from ..scenario import assert_reconciled
from .story import at, balance, book, role_total

pytestmark = pytest.mark.django_db

D = dt.date
THIRTY_DAYS = {"kind": "after_start", "count": 30, "unit": "days"}


def _practitioner(clinic, name="Dr Rao"):
    return tenancy.create_staff_member(
        tenant=clinic.tenant, actor=clinic_admin(clinic), name=name, is_practitioner=True
    )


def clinic_admin(clinic):
    from punchcard.domain.roles import Actor

    return Actor(label="test-admin", role="admin", source="tests")


def _physio_pack(clinic, *, code="physio-5", sessions=5, price=500000, patient_pays=20000, expiry=THIRTY_DAYS, **terms):
    return clinic.plan(
        code,
        price=price,
        lines=[clinic.line("physio", sessions=sessions, patient_pays=patient_pays)],
        expiry=expiry,
        **terms,
    )


# ---------------------------------------------------------------- book → arrive


def test_booking_holds_on_the_local_date_and_arrival_redeems_bills_and_credits_the_practitioner():
    clinic = Clinic.open()
    rao = _practitioner(clinic)
    package = clinic.sell(_physio_pack(clinic))  # 5 × 1,000.00, patient pays 200.00 a visit

    # 00:30 in Mumbai is still the previous day in UTC: the hold is for the centre's local date.
    appointment = book(clinic, start=at(2026, 3, 10, 0, 30), practitioner=rao)

    hold = Hold.objects.get(appointment=appointment)
    assert (hold.day, hold.state, hold.package_id, hold.practitioner_id) == (
        D(2026, 3, 10),
        HoldState.PENDING,
        package.id,
        rao.id,
    )
    assert appointment.package_id == package.id
    assert balance(package) == (0, 1, 4)
    assert selectors.view(appointment).package_state == "held"

    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)

    appointment.refresh_from_db()
    view = selectors.view(appointment)
    assert appointment.status == AppointmentStatus.ARRIVED
    assert view.package_state == "redeemed"
    assert view.redemption.appointment_id == appointment.id and view.redemption.hold_id == hold.id
    assert view.redemption.value == 100000
    assert balance(package) == (1, 0, 4)
    # Patient pays: the line's 200.00 is the visit's bill, on the appointment and in the patient's account.
    assert [(c.kind, c.amount) for c in view.charges] == [("copay", 20000)]
    assert view.amount_to_collect == 20000
    assert selectors.patient_charges_total(clinic.tenant, clinic.asha.id) == 20000
    assert role_total(clinic.tenant, Role.RECEIVABLE, patient=clinic.asha, entry__kind="copay") == 20000
    assert role_total(clinic.tenant, Role.FEE_REVENUE) == -20000
    # Commission: nobody was credited with the sale, so the practitioner earns 10 % of the session's value.
    credit = CommissionCredit.objects.get(tenant=clinic.tenant)
    assert (credit.staff_id, credit.event_type, credit.event_id, credit.base_amount, credit.amount) == (
        rao.id,
        "redemption",
        view.redemption.id,
        100000,
        10000,
    )
    assert role_total(clinic.tenant, Role.COMMISSION_EXPENSE) == 10000

    # Arriving twice is the same arrival.
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    assert Redemption.objects.filter(appointment=appointment).count() == 1
    assert AppointmentCharge.objects.filter(appointment=appointment).count() == 1
    assert_reconciled(clinic.tenant)


def test_a_zero_patient_pays_line_leaves_nothing_to_collect():
    clinic = Clinic.open()
    package = clinic.sell(_physio_pack(clinic, patient_pays=0))
    appointment = book(clinic)
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    view = selectors.view(appointment)
    assert view.package_state == "redeemed" and view.charges == [] and view.amount_to_collect == 0
    assert CommissionCredit.objects.filter(tenant=clinic.tenant).count() == 0  # no practitioner to credit
    assert balance(package) == (1, 0, 4)
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- pre-selection, choosing, applying later


def test_the_package_is_preselected_soonest_expiry_first_none_last_then_oldest_at_the_appointments_date():
    clinic = Clinic.open()
    forever = clinic.sell(_physio_pack(clinic, code="forever", expiry={"kind": "none"}))
    ninety = clinic.sell(
        _physio_pack(clinic, code="ninety", expiry={"kind": "after_start", "count": 90, "unit": "days"})
    )
    thirty_old = clinic.sell(_physio_pack(clinic, code="thirty-a"))
    thirty_new = clinic.sell(_physio_pack(clinic, code="thirty-b"))
    # Ravi's family pack, shared with Asha, runs 60 days.
    family_plan = _physio_pack(
        clinic,
        code="family",
        expiry={"kind": "after_start", "count": 60, "unit": "days"},
        shareable=True,
        max_beneficiaries=3,
    )
    family = clinic.sell(family_plan, patient=clinic.ravi)
    packages.add_beneficiary(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=family.id, patient_id=clinic.asha.id
    )

    order = [
        s.package.id
        for s in selectors.candidate_packages(
            clinic.tenant, person_id=clinic.asha.id, service_id=clinic.services["physio"].id
        )
    ]
    assert order == [thirty_old.id, thirty_new.id, family.id, ninety.id, forever.id]

    # Each appointment gets the first candidate that passes every check on ITS date.
    picks = {day: book(clinic, start=at(2026, *day)).package_id for day in [(3, 10), (4, 15), (5, 15), (6, 15)]}
    assert picks == {
        (3, 10): thirty_old.id,  # 30-day packs end 30 Mar
        (4, 15): family.id,  # as a beneficiary, until 29 Apr
        (5, 15): ninety.id,  # until 29 May
        (6, 15): forever.id,
    }
    # Choosing another package, or none, is possible.
    chosen = book(clinic, package_id=ninety.id)
    assert chosen.package_id == ninety.id and Hold.objects.get(appointment=chosen).package_id == ninety.id
    without = book(clinic, package_id=None)
    assert without.package_id is None and not Hold.objects.filter(appointment=without).exists()
    # A chosen package that cannot cover the date refuses the booking, which leaves nothing behind.
    with pytest.raises(RuleViolation) as refused:
        book(clinic, start=at(2026, 4, 15), package_id=thirty_new.id, external_id="APT-REFUSED")
    assert refused.value.code == "expired"
    assert not Appointment.objects.filter(external_id="APT-REFUSED").exists()
    # A patient with no package books without one.
    assert book(clinic, patient=clinic.kiran).package_id is None
    assert_reconciled(clinic.tenant)


def test_a_package_can_be_applied_later_and_swapped_before_arrival():
    clinic = Clinic.open()
    short = clinic.sell(_physio_pack(clinic, code="short"))
    long = clinic.sell(_physio_pack(clinic, code="long", expiry={"kind": "none"}))
    appointment = book(clinic, package_id=None)

    appointments.apply_package(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    assert Hold.objects.get(appointment=appointment, state=HoldState.PENDING).package_id == short.id

    appointments.apply_package(
        tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, package_id=long.id
    )
    assert Hold.objects.get(appointment=appointment, state=HoldState.PENDING).package_id == long.id
    assert balance(short) == (0, 0, 5) and balance(long) == (0, 1, 4)

    # Swapping to a package that cannot cover the date changes nothing.
    late = book(clinic, start=at(2026, 4, 20), package_id=long.id)
    with pytest.raises(RuleViolation) as refused:
        appointments.apply_package(
            tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=late.id, package_id=short.id
        )
    assert refused.value.code == "expired"
    assert Hold.objects.get(appointment=late, state=HoldState.PENDING).package_id == long.id

    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    with pytest.raises(Conflict) as after:
        appointments.apply_package(
            tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, package_id=short.id
        )
    assert after.value.code == "package_not_removable"
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- book → remove


def test_removing_the_package_before_arrival_releases_the_hold_and_after_arrival_points_to_a_void():
    clinic = Clinic.open()
    package = clinic.sell(_physio_pack(clinic))
    appointment = book(clinic)
    assert balance(package) == (0, 1, 4)

    appointments.remove_package(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        appointment_id=appointment.id,
        reason="patient pays cash this time",
    )
    appointment.refresh_from_db()
    assert appointment.package_id is None and balance(package) == (0, 0, 5)
    assert Hold.objects.get(appointment=appointment).state == HoldState.RELEASED
    # Arriving without the package redeems nothing.
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    assert balance(package) == (0, 0, 5) and not Redemption.objects.filter(appointment=appointment).exists()

    second = book(clinic)
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=second.id)
    with pytest.raises(Conflict) as refused:
        appointments.remove_package(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=second.id)
    redemption = Redemption.objects.get(appointment=second)
    assert refused.value.code == "package_not_removable"
    assert "void" in refused.value.message and refused.value.context["redemption_id"] == redemption.id
    assert balance(package) == (1, 0, 4)
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- book → reschedule


def _entries(package) -> int:
    return SessionEntry.objects.filter(package=package).count()


def test_rescheduling_past_expiry_is_refused_and_changes_nothing_until_the_expiry_is_changed():
    clinic = Clinic.open()
    package = clinic.sell(_physio_pack(clinic))  # last valid day 30 Mar 2026
    appointment = book(clinic, start=at(2026, 3, 28))
    before = _entries(package)

    with pytest.raises(Conflict) as refused:
        appointments.reschedule_appointment(
            tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, start=at(2026, 4, 2)
        )
    error = refused.value
    assert error.code == "reschedule_refused" and error.context["rule"] == "expired"
    assert "remove the package" in error.message.lower() and "expiry" in error.message
    appointment.refresh_from_db()
    assert appointment.start == at(2026, 3, 28) and _entries(package) == before
    assert Hold.objects.get(appointment=appointment).day == D(2026, 3, 28)
    assert balance(package) == (0, 1, 4)

    # Same day, another time: the hold stays as it is.
    appointments.reschedule_appointment(
        tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, start=at(2026, 3, 28, 16)
    )
    assert _entries(package) == before

    # The manager extends the package: now the move goes through and the hold moves with it.
    packages.change_expiry(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=package.id,
        expires_on=D(2026, 4, 30),
        reason="patient was unwell",
    )
    appointments.reschedule_appointment(
        tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, start=at(2026, 4, 2)
    )
    holds = list(Hold.objects.filter(appointment=appointment).order_by("id"))
    assert [(h.day, h.state) for h in holds] == [
        (D(2026, 3, 28), HoldState.RELEASED),
        (D(2026, 4, 2), HoldState.PENDING),
    ]
    assert balance(package) == (0, 1, 4)
    assert_reconciled(clinic.tenant)


@pytest.mark.parametrize(
    "move, rule",
    [
        ("other_centre", "out_of_scope"),
        ("blackout", "blackout_date"),
        ("capped_day", "usage_cap"),
    ],
)
def test_rescheduling_out_of_scope_onto_a_blackout_or_over_a_cap_is_refused(move, rule):
    clinic = Clinic.open()
    package = clinic.sell(_physio_pack(clinic, blackout_dates=["2026-03-20"], cap_per_day=1))
    appointment = book(clinic, start=at(2026, 3, 10))
    book(clinic, start=at(2026, 3, 12), patient=clinic.asha)  # holds the only session allowed on 12 Mar
    before = _entries(package)
    kwargs = {
        "other_centre": {"start": at(2026, 3, 10), "centre_id": clinic.other_centre.id},
        "blackout": {"start": at(2026, 3, 20)},
        "capped_day": {"start": at(2026, 3, 12, 15)},
    }[move]

    with pytest.raises(Conflict) as refused:
        appointments.reschedule_appointment(
            tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, **kwargs
        )
    assert refused.value.code == "reschedule_refused" and refused.value.context["rule"] == rule
    appointment.refresh_from_db()
    assert (appointment.start, appointment.centre_id) == (at(2026, 3, 10), clinic.centre.id)
    assert _entries(package) == before and balance(package) == (0, 2, 3)
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- no-shows


def _no_show_fees(clinic, default_option="redeem"):
    appointments.configure_no_show_fees(
        tenant=clinic.tenant,
        actor=clinic_admin(clinic),
        default_option=default_option,
        default_fee_code="no-show",
        fees=[
            {"code": "late", "name": "Late cancellation", "amount": 30000},
            {"code": "no-show", "name": "Missed appointment", "amount": 50000},
        ],
    )


def test_no_show_redeem_then_undo_then_fee_then_undo_then_redo():
    clinic = Clinic.open()
    rao = _practitioner(clinic)
    _no_show_fees(clinic)
    package = clinic.sell(_physio_pack(clinic))
    appointment = book(clinic, practitioner=rao)
    desk, manager, tenant = clinic.front_desk, clinic.manager, clinic.tenant

    # Option 1: redeem a session for the no-show — billed exactly like an arrival.
    appointments.record_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id, option="redeem")
    appointment.refresh_from_db()
    view = selectors.view(appointment)
    assert (appointment.status, appointment.no_show_choice) == ("noshow", "redeem")
    assert balance(package) == (1, 0, 4)
    assert [(c.kind, c.amount) for c in view.charges] == [("copay", 20000)]
    assert [c.amount for c in view.commissions] == [10000]

    # Undoing a redeemed no-show voids the redemption: a manager's decision.
    with pytest.raises(Forbidden):
        appointments.undo_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id)
    appointments.undo_no_show(tenant=tenant, actor=manager, appointment_id=appointment.id, reason="clicked by mistake")
    appointment.refresh_from_db()
    view = selectors.view(appointment)
    assert (appointment.status, appointment.no_show_choice, view.package_state) == ("booked", "", "held")
    assert balance(package) == (0, 1, 4)
    assert Redemption.objects.get(appointment=appointment).voided_at is not None
    assert all(c.reversed_at for c in view.charges) and all(c.reversed_at for c in view.commissions)
    assert view.amount_to_collect == 0

    # Option 2: release the hold and charge one of the configured fees.
    appointments.record_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id, option="fee", fee_code="late")
    appointment.refresh_from_db()
    assert (appointment.status, appointment.no_show_choice) == ("noshow", "fee")
    assert balance(package) == (0, 0, 5)
    assert selectors.view(appointment).amount_to_collect == 30000
    # Choosing again without undoing first is refused; the same choice again is harmless.
    with pytest.raises(Conflict) as again:
        appointments.record_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id, option="redeem")
    assert again.value.code == "appointment_state"

    appointments.undo_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id)
    appointment.refresh_from_db()
    assert appointment.status == "booked" and balance(package) == (0, 1, 4)
    assert selectors.view(appointment).amount_to_collect == 0

    # The default fee when none is named.
    appointments.record_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id, option="fee")
    assert selectors.view(appointment).amount_to_collect == 50000
    appointments.undo_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id)

    # Redo option 1: one live redemption, one live co-pay, one live commission.
    appointments.record_no_show(tenant=tenant, actor=desk, appointment_id=appointment.id, option="redeem")
    view = selectors.view(appointment)
    assert balance(package) == (1, 0, 4)
    assert view.amount_to_collect == 20000
    assert sum(c.amount for c in view.commissions if c.reversed_at is None) == 10000
    assert role_total(tenant, Role.FEE_REVENUE) == -20000
    assert role_total(tenant, Role.COMMISSION_EXPENSE) == 10000
    assert selectors.patient_charges_total(tenant, clinic.asha.id) == 20000
    assert_reconciled(tenant)


def test_no_show_without_a_package_and_fee_configuration_rules():
    clinic = Clinic.open()
    appointment = book(clinic)  # Asha has no package
    with pytest.raises(Conflict) as refused:
        appointments.record_no_show(
            tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, option="redeem"
        )
    assert refused.value.code == "appointment_state"
    with pytest.raises(InvalidInput) as no_fee:
        appointments.record_no_show(
            tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, option="fee"
        )
    assert no_fee.value.field == "fee_code"
    with pytest.raises(InvalidInput):
        appointments.configure_no_show_fees(
            tenant=clinic.tenant, actor=clinic_admin(clinic), default_option="fee", fees=[]
        )
    with pytest.raises(InvalidInput):
        appointments.configure_no_show_fees(
            tenant=clinic.tenant, actor=clinic_admin(clinic), fees=[{"code": "x", "name": "X", "amount": -1}]
        )
    with pytest.raises(Forbidden):
        appointments.configure_no_show_fees(tenant=clinic.tenant, actor=clinic.front_desk, fees=[])
    _no_show_fees(clinic)
    appointments.record_no_show(
        tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, option="fee", fee_code="late"
    )
    assert selectors.view(appointment).amount_to_collect == 30000
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- cancellation


def test_cancellation_releases_the_hold_and_after_arrival_needs_the_arrival_undone():
    clinic = Clinic.open()
    package = clinic.sell(_physio_pack(clinic))
    first, second = book(clinic), book(clinic)
    appointments.cancel_appointment(
        tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=first.id, reason="patient called"
    )
    first.refresh_from_db()
    assert first.status == "cancelled" and balance(package) == (0, 1, 4)

    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=second.id)
    with pytest.raises(Conflict) as refused:
        appointments.cancel_appointment(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=second.id)
    assert refused.value.code == "package_not_removable"
    appointments.undo_arrival(
        tenant=clinic.tenant, actor=clinic.manager, appointment_id=second.id, reason="arrived the wrong appointment"
    )
    assert balance(package) == (0, 1, 4)
    appointments.cancel_appointment(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=second.id)
    second.refresh_from_db()
    assert second.status == "cancelled" and balance(package) == (0, 0, 5)
    with pytest.raises(Conflict):
        appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=second.id)
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- commission: the sale or the sessions, never both


def test_a_sale_credited_to_staff_earns_commission_once_and_its_sessions_earn_none():
    clinic = Clinic.open()
    rao, seller = _practitioner(clinic), _practitioner(clinic, "Sana (sales)")
    appointments.set_commission_rate(tenant=clinic.tenant, actor=clinic_admin(clinic), rate_bp=500)
    package = clinic.sell(_physio_pack(clinic), credited_staff_id=seller.id)
    sale = CommissionCredit.objects.get(tenant=clinic.tenant)
    assert (sale.staff_id, sale.event_type, sale.event_id, sale.base_amount, sale.amount) == (
        seller.id,
        "sale",
        package.id,
        500000,
        25000,
    )

    appointment = book(clinic, practitioner=rao)
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    assert list(CommissionCredit.objects.filter(tenant=clinic.tenant)) == [sale]
    assert role_total(clinic.tenant, Role.COMMISSION_EXPENSE) == 25000
    assert_reconciled(clinic.tenant)


def test_a_void_made_directly_on_the_package_reverses_the_visits_copay_and_commission():
    clinic = Clinic.open()
    rao = _practitioner(clinic)
    clinic.sell(_physio_pack(clinic))
    appointment = book(clinic, practitioner=rao)
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    redemption = Redemption.objects.get(appointment=appointment)

    packages.void_redemption(
        tenant=clinic.tenant, actor=clinic.manager, redemption_id=redemption.id, reason="wrong patient"
    )
    view = selectors.view(appointment)
    assert view.package_state == "none" and view.amount_to_collect == 0
    assert all(c.reversed_at for c in view.commissions)
    assert role_total(clinic.tenant, Role.FEE_REVENUE) == 0
    assert role_total(clinic.tenant, Role.COMMISSION_EXPENSE) == 0
    # With the redemption voided, nothing stops the cancellation.
    appointments.cancel_appointment(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    assert_reconciled(clinic.tenant)


# ---------------------------------------------------------------- family bookings and late arrivals


def test_a_family_heads_booking_for_a_beneficiary_uses_the_shared_package_and_bills_the_head():
    clinic = Clinic.open()
    family = clinic.sell(_physio_pack(clinic, code="family", shareable=True, max_beneficiaries=3), patient=clinic.ravi)
    packages.add_beneficiary(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=family.id, patient_id=clinic.asha.id
    )
    appointment = book(clinic, patient=clinic.ravi, beneficiary_id=clinic.asha.id)
    assert Hold.objects.get(appointment=appointment).person_id == clinic.asha.id
    appointments.arrive(tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id)
    assert Redemption.objects.get(appointment=appointment).person_id == clinic.asha.id
    assert selectors.patient_charges_total(clinic.tenant, clinic.ravi.id) == 20000
    assert selectors.patient_charges_total(clinic.tenant, clinic.asha.id) == 0
    assert_reconciled(clinic.tenant)


def test_an_arrival_recorded_after_the_expiry_sweep_released_the_hold_arrives_without_the_package():
    clinic = Clinic.open()
    package = clinic.sell(_physio_pack(clinic))  # last valid day 30 Mar
    appointment = book(clinic, start=at(2026, 3, 30))
    packages.expire_due_packages(as_of=D(2026, 3, 31), now=at(2026, 3, 31, 1))
    assert Hold.objects.get(appointment=appointment).state == HoldState.RELEASED
    appointments.arrive(
        tenant=clinic.tenant, actor=clinic.front_desk, appointment_id=appointment.id, now=at(2026, 3, 31, 9)
    )
    appointment.refresh_from_db()
    assert appointment.status == "arrived" and appointment.package_id is None
    assert balance(package) == (0, 0, 0)
    assert_reconciled(clinic.tenant)
