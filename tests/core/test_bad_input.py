"""Bad input of any shape: a clear DomainError naming its rule and field, and nothing written (SPEC §13).

Another tenant's ids answer exactly like ids that do not exist.
"""

import datetime as dt
import re

import pytest

from punchcard.billing import services as billing
from punchcard.billing.models import Order, Payment
from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.catalogue.services import LineSpec, PlanTerms, create_plan, edit_plan
from punchcard.domain.errors import DomainError, InvalidInput, NotFound
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages import services
from punchcard.packages.models import Beneficiary, ExpiryChange, Hold, Package, Redemption, SessionEntry, Transfer
from punchcard.tenancy.models import AuditEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db

D = dt.date
MISSING = 987_654_321
WATCHED = (
    SessionEntry,
    Redemption,
    Hold,
    JournalEntry,
    Posting,
    AuditEvent,
    Package,
    Order,
    Payment,
    Plan,
    PlanVersion,
    ExpiryChange,
    Transfer,
    Beneficiary,
)


def counts():
    return {model.__name__: model.objects.count() for model in WATCHED}


def refused(call, *, code: str, field: str | None, kind: type[DomainError] = InvalidInput) -> DomainError:
    """The call raises `kind` with this code and field, and writes nothing at all."""
    before = counts()
    with pytest.raises(DomainError) as error:
        call()
    assert isinstance(error.value, kind), error.value
    assert (error.value.code, error.value.field) == (code, field), error.value
    assert str(error.value)  # a message a person can read
    assert counts() == before
    return error.value


def same_answer(foreign: DomainError, missing: DomainError) -> None:
    """Another tenant's object is indistinguishable from a missing one (ids aside)."""

    def shape(e):
        return type(e), e.code, e.field, re.sub(r"\d+", "N", str(e)), e.context

    assert shape(foreign) == shape(missing)


@pytest.fixture
def clinic():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "physio-pack",
        price=800000,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
        transferable=True,
        shareable=True,
        max_beneficiaries=3,
    )
    clinic.package = clinic.sell(plan)
    clinic.redemption = clinic.redeem(clinic.package, "physio")
    clinic.plan_version = plan
    return clinic


@pytest.fixture
def other(clinic):
    """A second tenant with the same shapes of data; its ids must mean nothing to the first."""
    other = Clinic.open(now=local(2026, 3, 1, 10))
    plan = other.plan("their-pack", price=100000, lines=[other.line("physio", sessions=5)], transferable=True)
    other.package = other.sell(plan)
    other.redemption = other.redeem(other.package, "physio")
    other.hold_ = other.hold(other.package, "physio", D(2026, 3, 5))
    other.plan_version = plan
    return other


def redeem(clinic, **changes):
    kwargs = dict(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=clinic.package.id,
        service_id=clinic.services["physio"].id,
        centre_id=clinic.centre.id,
    )
    kwargs.update(changes)
    return lambda: services.redeem_session(**kwargs)


def hold(clinic, **changes):
    kwargs = dict(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        package_id=clinic.package.id,
        service_id=clinic.services["physio"].id,
        centre_id=clinic.centre.id,
        day=D(2026, 3, 5),
    )
    kwargs.update(changes)
    return lambda: services.place_hold(**kwargs)


# ---------------------------------------------------------------- sessions


@pytest.mark.parametrize("sessions", [0, -1, -(10**9), 101, 10**30, True, "1", 1.0, None])
def test_redeem_refuses_zero_negative_absurd_or_non_integer_sessions(clinic, sessions):
    refused(redeem(clinic, sessions=sessions), code="invalid", field="sessions")


@pytest.mark.parametrize("sessions", [0, -3, 10**12, "2"])
def test_hold_refuses_bad_session_counts(clinic, sessions):
    refused(hold(clinic, sessions=sessions), code="invalid", field="sessions")


def test_redeeming_more_than_available_is_refused_as_insufficient(clinic):
    error = refused(redeem(clinic, sessions=10), code="insufficient_sessions", field=None, kind=DomainError)
    assert error.context == {"available": 9, "requested": 10}


@pytest.mark.parametrize("delta", [0, 10**9, -(10**9), True, "1", 1.5])
def test_adjust_refuses_zero_absurd_or_non_integer_deltas(clinic, delta):
    line = clinic.package.lines.first()
    refused(
        lambda: services.adjust_sessions(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=clinic.package.id,
            line_id=line.id,
            delta=delta,
            reason="goodwill",
        ),
        code="invalid",
        field="delta",
    )


def test_adjust_cannot_remove_more_than_is_available(clinic):
    line = clinic.package.lines.first()
    refused(
        lambda: services.adjust_sessions(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=clinic.package.id,
            line_id=line.id,
            delta=-10,
            reason="typo",
        ),
        code="adjustment_too_large",
        field="delta",
        kind=DomainError,
    )


# ---------------------------------------------------------------- unknown and foreign ids


@pytest.mark.parametrize("field", ["service_id", "centre_id", "person_id", "practitioner_id", "package_id"])
def test_redeem_with_another_tenants_id_answers_exactly_like_a_missing_one(clinic, other, field):
    foreign_ids = {
        "service_id": other.services["physio"].id,
        "centre_id": other.centre.id,
        "person_id": other.asha.id,
        "practitioner_id": other.front_desk.staff_id,
        "package_id": other.package.id,
    }
    foreign = refused(redeem(clinic, **{field: foreign_ids[field]}), code="not_found", field=field, kind=NotFound)
    missing = refused(redeem(clinic, **{field: MISSING}), code="not_found", field=field, kind=NotFound)
    same_answer(foreign, missing)


def test_unknown_service_is_not_found(clinic):
    refused(redeem(clinic, service_id=MISSING), code="not_found", field="service_id", kind=NotFound)


@pytest.mark.parametrize("value", ["abc", "", None, [1], 2**70, -5, 0])
def test_malformed_or_impossible_ids_are_refused_naming_the_field(clinic, value):
    before = counts()
    with pytest.raises((InvalidInput, NotFound)) as error:
        redeem(clinic, service_id=value)()
    assert error.value.field == "service_id"
    assert counts() == before


def test_another_tenants_hold_redemption_and_line_are_not_found(clinic, other):
    t, manager = clinic.tenant, clinic.manager
    for call_foreign, call_missing, field in [
        (
            lambda: services.post_hold(tenant=t, actor=manager, hold_id=other.hold_.id),
            lambda: services.post_hold(tenant=t, actor=manager, hold_id=MISSING),
            "hold_id",
        ),
        (
            lambda: services.release_hold(tenant=t, actor=manager, hold_id=other.hold_.id),
            lambda: services.release_hold(tenant=t, actor=manager, hold_id=MISSING),
            "hold_id",
        ),
        (
            lambda: services.void_redemption(tenant=t, actor=manager, redemption_id=other.redemption.id, reason="x"),
            lambda: services.void_redemption(tenant=t, actor=manager, redemption_id=MISSING, reason="x"),
            "redemption_id",
        ),
        (
            lambda: services.adjust_sessions(
                tenant=t,
                actor=manager,
                package_id=clinic.package.id,
                line_id=other.package.lines.first().id,
                delta=1,
                reason="x",
            ),
            lambda: services.adjust_sessions(
                tenant=t, actor=manager, package_id=clinic.package.id, line_id=MISSING, delta=1, reason="x"
            ),
            "line_id",
        ),
        (
            lambda: services.change_expiry(
                tenant=t, actor=manager, package_id=other.package.id, expires_on=None, reason="x"
            ),
            lambda: services.change_expiry(tenant=t, actor=manager, package_id=MISSING, expires_on=None, reason="x"),
            "package_id",
        ),
        (
            lambda: services.transfer_package(
                tenant=t, actor=manager, package_id=clinic.package.id, to_patient_id=other.ravi.id
            ),
            lambda: services.transfer_package(
                tenant=t, actor=manager, package_id=clinic.package.id, to_patient_id=MISSING
            ),
            "to_patient_id",
        ),
        (
            lambda: services.add_beneficiary(
                tenant=t, actor=manager, package_id=clinic.package.id, patient_id=other.ravi.id
            ),
            lambda: services.add_beneficiary(tenant=t, actor=manager, package_id=clinic.package.id, patient_id=MISSING),
            "patient_id",
        ),
        (
            lambda: services.cancel_package(tenant=t, actor=manager, package_id=other.package.id, reason="x"),
            lambda: services.cancel_package(tenant=t, actor=manager, package_id=MISSING, reason="x"),
            "package_id",
        ),
    ]:
        same_answer(
            refused(call_foreign, code="not_found", field=field, kind=NotFound),
            refused(call_missing, code="not_found", field=field, kind=NotFound),
        )
    # The other tenant's objects are untouched.
    other.hold_.refresh_from_db()
    other.redemption.refresh_from_db()
    assert other.hold_.state == "pending" and other.redemption.voided_at is None


def test_selling_another_tenants_plan_or_to_their_patient_is_not_found(clinic, other):
    sell = lambda **kw: (
        lambda: billing.sell_package(
            tenant=clinic.tenant,
            actor=clinic.front_desk,
            **{
                "patient_id": clinic.asha.id,
                "centre_id": clinic.centre.id,
                "plan_id": clinic.plan_version.plan_id,
                **kw,
            },
        )
    )
    same_answer(
        refused(sell(plan_id=other.plan_version.plan_id), code="not_found", field="items[0].plan_id", kind=NotFound),
        refused(sell(plan_id=MISSING), code="not_found", field="items[0].plan_id", kind=NotFound),
    )
    same_answer(
        refused(sell(patient_id=other.asha.id), code="not_found", field="patient_id", kind=NotFound),
        refused(sell(patient_id=MISSING), code="not_found", field="patient_id", kind=NotFound),
    )
    same_answer(
        refused(sell(centre_id=other.centre.id), code="not_found", field="centre_id", kind=NotFound),
        refused(sell(centre_id=MISSING), code="not_found", field="centre_id", kind=NotFound),
    )


@pytest.mark.parametrize("patient_id", ["abc", 2**70, None, -1])
def test_removing_a_beneficiary_with_a_malformed_or_absurd_id_is_refused_naming_the_field(clinic, patient_id):
    services.add_beneficiary(
        tenant=clinic.tenant, actor=clinic.front_desk, package_id=clinic.package.id, patient_id=clinic.ravi.id
    )
    before = counts()
    with pytest.raises((InvalidInput, NotFound)) as error:
        services.remove_beneficiary(
            tenant=clinic.tenant, actor=clinic.front_desk, package_id=clinic.package.id, patient_id=patient_id
        )
    assert error.value.field == "patient_id"
    assert counts() == before


def test_removing_someone_who_is_not_a_beneficiary_is_not_found(clinic, other):
    same_answer(
        refused(
            lambda: services.remove_beneficiary(
                tenant=clinic.tenant, actor=clinic.front_desk, package_id=clinic.package.id, patient_id=other.ravi.id
            ),
            code="not_found",
            field="patient_id",
            kind=NotFound,
        ),
        refused(
            lambda: services.remove_beneficiary(
                tenant=clinic.tenant, actor=clinic.front_desk, package_id=clinic.package.id, patient_id=MISSING
            ),
            code="not_found",
            field="patient_id",
            kind=NotFound,
        ),
    )


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "day",
    ["2026-02-30", "2026-03-05", "next tuesday", None, 20260305, dt.datetime(2026, 3, 5, 10, tzinfo=dt.UTC)],
)
def test_hold_refuses_a_day_that_is_not_a_date(clinic, day):
    refused(hold(clinic, day=day), code="invalid", field="day")


@pytest.mark.parametrize("at", ["2026-03-01T10:00", "yesterday", dt.date(2026, 3, 1), dt.datetime(2026, 3, 1, 10)])
def test_redeem_refuses_an_instant_that_is_not_an_aware_datetime(clinic, at):
    refused(redeem(clinic, at=at), code="invalid", field="at")


@pytest.mark.parametrize("expires_on", ["2026-02-30", "never", 5, dt.datetime(2026, 6, 1, tzinfo=dt.UTC)])
def test_change_expiry_refuses_malformed_dates(clinic, expires_on):
    refused(
        lambda: services.change_expiry(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=clinic.package.id,
            expires_on=expires_on,
            reason="patient travelled",
        ),
        code="invalid",
        field="expires_on",
    )


@pytest.mark.parametrize("expires_on", [dt.date.max, D(9999, 12, 31), D(2036, 2, 27)])
def test_change_expiry_refuses_an_absurdly_distant_date(clinic, expires_on):
    refused(
        lambda: services.change_expiry(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=clinic.package.id,
            expires_on=expires_on,
            reason="typo",
        ),
        code="invalid",
        field="expires_on",
    )


def test_change_expiry_accepts_up_to_ten_years_after_the_start(clinic):
    services.change_expiry(
        tenant=clinic.tenant,
        actor=clinic.manager,
        package_id=clinic.package.id,
        expires_on=D(2026, 3, 1) + dt.timedelta(days=3649),
        reason="lifetime member",
    )
    clinic.package.refresh_from_db()
    assert clinic.package.expires_on == D(2036, 2, 26)


@pytest.mark.parametrize("as_of", ["2026-04-01", "tomorrow", dt.datetime(2026, 4, 1, tzinfo=dt.UTC)])
def test_the_expiry_sweep_refuses_an_as_of_that_is_not_a_date(clinic, as_of):
    refused(lambda: services.expire_due_packages(tenant=clinic.tenant, as_of=as_of), code="invalid", field="as_of")


def test_change_expiry_refuses_a_date_before_the_start(clinic):
    refused(
        lambda: services.change_expiry(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=clinic.package.id,
            expires_on=D(2026, 2, 1),
            reason="typo",
        ),
        code="invalid",
        field="expires_on",
    )


@pytest.mark.parametrize("reason", ["", "   ", None, 42, "x" * 2001])
def test_changes_that_need_a_reason_refuse_a_missing_or_absurd_one(clinic, reason):
    refused(
        lambda: services.change_expiry(
            tenant=clinic.tenant,
            actor=clinic.manager,
            package_id=clinic.package.id,
            expires_on=D(2026, 7, 1),
            reason=reason,
        ),
        code="invalid",
        field="reason",
    )
    refused(
        lambda: services.void_redemption(
            tenant=clinic.tenant, actor=clinic.manager, redemption_id=clinic.redemption.id, reason=reason
        ),
        code="invalid",
        field="reason",
    )
    refused(
        lambda: services.cancel_package(
            tenant=clinic.tenant, actor=clinic.manager, package_id=clinic.package.id, reason=reason
        ),
        code="invalid",
        field="reason",
    )


@pytest.mark.parametrize(
    "start_date, field",
    [
        ("2026-02-30", "items[0].start_date"),
        (dt.datetime(2026, 3, 5, tzinfo=dt.UTC), "items[0].start_date"),
        (D(2026, 2, 28), "items[0].start_date"),  # before today
        (D(2027, 3, 5), "items[0].start_date"),  # more than a year ahead
    ],
)
def test_selling_with_a_malformed_or_impossible_start_date_is_refused(clinic, start_date, field):
    refused(lambda: clinic.sell(clinic.plan_version, start_date=start_date), code="invalid", field=field)


# ---------------------------------------------------------------- money and big numbers


@pytest.mark.parametrize("amount", [0, -100, 10**20, 1.5, "100"])
def test_payment_amounts_must_be_positive_sane_integers(clinic, amount):
    order = billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.ravi.id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=clinic.plan_version.plan_id)],
    )
    refused(
        lambda: billing.record_payment(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="cash", amount=amount
        ),
        code="invalid",
        field="amount",
    )


def test_payment_method_must_be_known(clinic):
    order = billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.ravi.id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=clinic.plan_version.plan_id)],
    )
    refused(
        lambda: billing.record_payment(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="bitcoin", amount=100
        ),
        code="invalid",
        field="method",
    )


@pytest.mark.parametrize("key", ["k" * 201, "", 42])
def test_redemption_idempotency_keys_are_one_to_200_characters(clinic, key):
    refused(redeem(clinic, idempotency_key=key), code="invalid", field="idempotency_key")
    refused(hold(clinic, idempotency_key=key), code="invalid", field="idempotency_key")


# ---------------------------------------------------------------- plans


def terms(clinic, **changes) -> PlanTerms:
    base = dict(name="Pack", price=100000, lines=[LineSpec(service_ids=[clinic.services["physio"].id], sessions=5)])
    base.update(changes)
    return PlanTerms(**base)


def create(clinic, **changes):
    return lambda: create_plan(
        tenant=clinic.tenant, actor=clinic.manager, code="new-pack", terms=terms(clinic, **changes)
    )


def test_an_empty_plan_is_refused_as_plan_empty(clinic):
    refused(create(clinic, lines=[]), code="plan_empty", field="lines")
    refused(
        create(clinic, lines=[LineSpec(service_ids=[], sessions=5)]), code="plan_empty", field="lines[0].service_ids"
    )


def test_editing_a_plan_into_an_empty_one_is_refused_and_keeps_the_old_terms(clinic):
    refused(
        lambda: edit_plan(
            tenant=clinic.tenant,
            actor=clinic.manager,
            plan_id=clinic.plan_version.plan_id,
            terms=terms(clinic, lines=[]),
        ),
        code="plan_empty",
        field="lines",
    )
    assert Plan.objects.get(pk=clinic.plan_version.plan_id).current.id == clinic.plan_version.id


@pytest.mark.parametrize("sessions", [0, -5, 10**9, 2.5, "5"])
def test_plan_lines_need_a_sane_positive_whole_number_of_sessions(clinic, sessions):
    physio = clinic.services["physio"].id
    refused(
        create(clinic, lines=[LineSpec(service_ids=[physio], sessions=sessions)]),
        code="invalid",
        field="lines[0].sessions",
    )


def test_plan_line_bonus_sessions_cannot_be_negative(clinic):
    physio = clinic.services["physio"].id
    refused(
        create(clinic, lines=[LineSpec(service_ids=[physio], sessions=3, bonus_sessions=-1)]),
        code="invalid",
        field="lines[0].bonus_sessions",
    )


def test_plan_lines_with_unknown_or_foreign_services_are_not_found(clinic, other):
    foreign = refused(
        create(clinic, lines=[LineSpec(service_ids=[other.services["physio"].id], sessions=5)]),
        code="not_found",
        field="lines[0].service_ids",
        kind=NotFound,
    )
    missing = refused(
        create(clinic, lines=[LineSpec(service_ids=[MISSING], sessions=5)]),
        code="not_found",
        field="lines[0].service_ids",
        kind=NotFound,
    )
    same_answer(foreign, missing)


@pytest.mark.parametrize("price", [-1, 10**16, 1.5, "100000", None])
def test_plan_price_must_be_a_sane_integer_amount(clinic, price):
    refused(create(clinic, price=price), code="invalid", field="price")


@pytest.mark.parametrize(
    "changes, code, field",
    [
        ({"expiry": {"kind": "bogus"}}, "invalid", "expiry.kind"),
        ({"expiry": {"kind": "fixed_date", "fixed_date": "2026-02-30"}}, "invalid", "expiry.fixed_date"),
        ({"expiry": {"kind": "fixed_date", "fixed_date": "9999-12-31"}}, "invalid", "expiry.fixed_date"),
        ({"expiry": {"kind": "fixed_date", "fixed_date": 20261231}}, "invalid", "expiry.fixed_date"),
        ({"expiry": {"kind": "after_start", "count": 0}}, "invalid", "expiry.count"),
        ({"expiry": {"kind": "after_start", "count": 10**9}}, "invalid", "expiry.count"),
        ({"expiry": {"kind": "after_start", "count": 3, "unit": "weeks"}}, "invalid", "expiry.unit"),
        ({"expiry": {"kind": "none", "extra": 1}}, "invalid", "expiry"),
        ({"expiry": "90 days"}, "invalid", "expiry"),
        ({"expiry_mode": "gentle"}, "invalid", "expiry_mode"),
        ({"grace_days": 7}, "invalid", "grace_days"),  # hard expiry has no grace
        ({"expiry_mode": "soft", "grace_days": -1}, "invalid", "grace_days"),
        ({"blackout_dates": ["2026-02-30"]}, "invalid", "blackout_dates"),
        ({"blackout_dates": ["Diwali"]}, "invalid", "blackout_dates"),
        ({"scope": "galaxy"}, "invalid", "scope"),
        ({"scope": "listed", "centre_ids": []}, "invalid", "centre_ids"),
        ({"tax_rate_bp": 20_000}, "invalid", "tax_rate_bp"),
        ({"currency": "USD"}, "currency_mismatch", "currency"),
        ({"max_beneficiaries": 4}, "invalid", "max_beneficiaries"),  # not shareable
        ({"shareable": True, "max_beneficiaries": 10**6}, "invalid", "max_beneficiaries"),
        ({"cap_per_day": 0}, "invalid", "cap_per_day"),
        ({"sale_from": "2026-05-01", "sale_to": "2026-04-01"}, "invalid", "sale_to"),
        ({"sale_from": "someday"}, "invalid", "sale_from"),
        ({"name": ""}, "invalid", "name"),
        ({"name": "x" * 500}, "invalid", "name"),
    ],
)
def test_malformed_plan_terms_are_refused_naming_the_field(clinic, changes, code, field):
    refused(create(clinic, **changes), code=code, field=field)


def test_the_books_are_untouched_by_every_refusal(clinic, other):
    for call in (
        redeem(clinic, sessions=0),
        redeem(clinic, service_id=other.services["physio"].id),
        hold(clinic, day="2026-13-01"),
        create(clinic, lines=[]),
    ):
        with pytest.raises(DomainError):
            call()
    assert_reconciled()
