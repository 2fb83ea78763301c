"""Bulk orders, gifts and transfers by claim code (SPEC §7, §9): the codes, the refusals, the money."""

import datetime as dt
import re

import pytest
from django.db import connection

from punchcard.billing import selectors as money
from punchcard.billing import services as billing
from punchcard.billing.models import OrderStatus
from punchcard.claims import codes
from punchcard.claims import services as claims
from punchcard.claims.models import ClaimCode, ClaimStatus
from punchcard.domain.errors import Conflict, DomainError, InvalidInput, NotFound, RuleViolation
from punchcard.domain.posting import Role
from punchcard.packages import selectors
from punchcard.packages.models import Package, PackageLine
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic, local
from ..promotions.support import balance, deferred
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    return Clinic.open(now=local(2026, 3, 1, 10))


@pytest.fixture
def physio(clinic):
    return clinic.plan(
        "physio-10",
        name="Physiotherapy 10",
        price=800000,
        tax_rate_bp=1800,
        tax_inclusive=True,
        lines=[clinic.line("physio", sessions=10)],
        transferable=True,
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
    )


@pytest.fixture
def acme(clinic):
    return tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="ACME", name="Acme Ltd")


def _bulk(clinic, plan, buyer, quantity=10, **kw):
    return claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=buyer.id,
        centre_id=clinic.centre.id,
        plan_id=plan.plan_id,
        quantity=quantity,
        **kw,
    )


def _pay(clinic, order, now=None):
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="bank_transfer",
        amount=order.due,
        now=now,
    )
    order.refresh_from_db()


def _claim(clinic, code, patient, **kw):
    return claims.claim_code(tenant=clinic.tenant, actor=clinic.front_desk, code=code, patient_id=patient.id, **kw)


def _refused(code_, fn, *args, **kw):
    with pytest.raises(DomainError) as refused:
        fn(*args, **kw)
    assert refused.value.code == code_, refused.value
    return refused.value


def _mistype(code: str) -> str:
    i = 5
    swapped = "X" if code[i] != "X" else "Y"
    return code[:i] + swapped + code[i + 1 :]


def test_code_format_unguessable_with_a_check_symbol_that_catches_typos():
    made = {codes.generate() for _ in range(2000)}
    assert len(made) == 2000 and codes.RANDOM_BITS >= 60
    for code in list(made)[:200]:
        assert codes.normalise(codes.display(code).lower()) == code  # case and hyphens ignored
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z][0-9A-Z*~$=U]", codes.display(code))
        for i in range(len(code) - 1):  # every single-symbol substitution is caught
            for ch in "0Z":
                if ch != code[i]:
                    with pytest.raises(codes.Malformed):
                        codes.normalise(code[:i] + ch + code[i + 1 :])
    assert codes.normalise("O" * 13 + codes.check_symbol("0" * 13)) == "0" * 13 + codes.check_symbol("0" * 13)


def test_bulk_order_of_ten_codes_paid_by_the_company_and_claimed_by_employees(clinic, physio, acme):
    made = _bulk(clinic, physio, acme, 10, expires_on=dt.date(2026, 6, 30))
    order = made.order
    assert order.patient_id == acme.id and order.lines.count() == 10 and order.gross == 10 * 800000
    plaintexts = [c.display for c in made.codes]
    assert len(set(plaintexts)) == 10 and all(p for p in plaintexts)
    assert ClaimCode.objects.filter(order_line__order=order, status=ClaimStatus.UNPAID).count() == 10
    assert not ClaimCode.objects.filter(digest__in=[codes.normalise(p) for p in plaintexts]).exists()  # not stored

    _refused("claim_code_unpaid", _claim, clinic, plaintexts[0], clinic.asha)
    _pay(clinic, order)
    assert order.status == OrderStatus.PAID
    assert not Package.objects.filter(order_line__order=order).exists()  # nobody's package yet
    net = 800000 * 100 // 118 + (1 if 800000 * 100 % 118 * 2 >= 118 else 0)
    assert deferred(clinic.tenant) == 10 * net  # the liability exists from payment, held on the codes
    assert -balance(clinic.tenant, Role.TAX_PAYABLE) == 10 * (800000 - net)
    assert_reconciled(clinic.tenant)

    employees = [
        tenancy.create_patient(
            tenant=clinic.tenant, actor=clinic.front_desk, external_ref=f"EMP-{i}", name=f"Employee {i}"
        )
        for i in range(10)
    ]
    claimed_on = local(2026, 3, 10, 9)
    for code, person in zip(plaintexts, employees):
        claimed = _claim(clinic, code, person, now=claimed_on)
        package = claimed.package
        assert package.holder_id == person.id and package.start_date == dt.date(2026, 3, 10)
        assert package.expires_on == dt.date(2026, 6, 7)  # 90 days from the claim
        assert sum(PackageLine.objects.filter(package=package).values_list("deferred_value", flat=True)) == net
    assert deferred(clinic.tenant) == 10 * net
    assert ClaimCode.objects.filter(status=ClaimStatus.CLAIMED, deferred_value=0).count() == 10
    # Each claimed package is a package like any other: redeem, refund to the claimant's credit.
    package = Package.objects.get(holder=employees[0])
    clinic.redeem(package, "physio", now=local(2026, 3, 11))
    refund = billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="moved away", now=local(2026, 3, 12)
    )
    assert refund.amount == 720000  # 9/10 of the 8,000 paid for this one package, not of the whole order
    assert money.credit_balance(clinic.tenant, employees[0].id) == 720000
    assert_reconciled(clinic.tenant)


def test_every_refusal_has_its_own_code(clinic, physio, acme):
    made = _bulk(clinic, physio, acme, 4, expires_on=dt.date(2026, 3, 31))
    _pay(clinic, made.order)
    used, revoked, expired, good = [c.plaintext for c in made.codes]
    _claim(clinic, used, clinic.asha)
    again = _claim(clinic, used, clinic.asha)  # the same claim again answers the same
    assert again.claimant_id == clinic.asha.id and Package.objects.filter(holder=clinic.asha).count() == 1
    _refused("claim_code_used", _claim, clinic, used, clinic.ravi)

    claims.revoke_claim_code(
        tenant=clinic.tenant, actor=clinic.manager, code_id=made.codes[1].code.id, reason="employee left", refund=True
    )
    _refused("claim_code_revoked", _claim, clinic, revoked, clinic.ravi)
    _refused("claim_code_expired", _claim, clinic, expired, clinic.ravi, now=local(2026, 4, 1, 9))
    error = _refused("claim_code_mistyped", _claim, clinic, _mistype(good), clinic.ravi)
    assert isinstance(error, InvalidInput) and error.field == "code"
    _refused("claim_code_mistyped", _claim, clinic, "hello", clinic.ravi)
    unknown = codes.generate()
    assert isinstance(_refused("claim_code_unknown", _claim, clinic, unknown, clinic.ravi), NotFound)
    assert _claim(clinic, good.lower(), clinic.ravi).status == ClaimStatus.CLAIMED
    assert_reconciled(clinic.tenant)


def test_a_gift_is_bought_by_one_patient_and_claimed_by_another(clinic, physio):
    made = claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        plan_id=physio.plan_id,
        kind="gift",
        recipient="Lata",
        message="Happy birthday!",
    )
    _pay(clinic, made.order)
    assert Package.objects.count() == 0
    (issued,) = made.codes
    assert issued.code.expires_on == dt.date(2027, 2, 28)  # a year by default
    package = _claim(clinic, issued.display, clinic.lata, now=local(2026, 4, 2, 9)).package
    assert package.holder_id == clinic.lata.id and package.start_date == dt.date(2026, 4, 2)
    assert made.order.patient_id == clinic.asha.id  # the giver paid
    assert_reconciled(clinic.tenant)


def test_transfer_by_code_moves_the_package_and_respects_the_rules(clinic, physio):
    package = clinic.sell(physio, patient=clinic.asha)
    clinic.redeem(package, "physio")
    issued = claims.create_transfer_code(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id)
    with pytest.raises(Conflict):
        claims.create_transfer_code(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id)
    claimed = _claim(clinic, issued.plaintext, clinic.kiran)
    package.refresh_from_db()
    assert claimed.package_id == package.id and package.holder_id == clinic.kiran.id
    assert selectors.summarize(package).remaining == 9
    _refused("claim_code_used", _claim, clinic, issued.plaintext, clinic.ravi)

    locked = clinic.plan("locked", price=1000, lines=[clinic.line("yoga", sessions=2)])
    with pytest.raises(RuleViolation):
        claims.create_transfer_code(tenant=clinic.tenant, actor=clinic.manager, package_id=clinic.sell(locked).id)
    assert_reconciled(clinic.tenant)


def test_revoke_refunds_or_forfeits_reissue_replaces_and_unclaimed_codes_expire_as_breakage(clinic, physio, acme):
    made = _bulk(clinic, physio, acme, 4, expires_on=dt.date(2026, 3, 31))
    with pytest.raises(Conflict):  # unpaid: cancel the order instead
        claims.revoke_claim_code(tenant=clinic.tenant, actor=clinic.manager, code_id=made.codes[0].code.id, reason="x")
    _pay(clinic, made.order)
    net = made.codes[0].code.order_line.net
    refunded, forfeited, lost, left = [c.code for c in made.codes]
    claims.revoke_claim_code(
        tenant=clinic.tenant, actor=clinic.manager, code_id=refunded.id, reason="not needed", amount=500000
    )
    assert money.credit_balance(clinic.tenant, acme.id) == 500000
    # A credit note: each code is 8,000.00 with 18 % included, net 6,779.66, tax 1,220.34. Refunding 5,000.00
    # reverses its tax, 5,000 × 1,220.34 / 8,000 = 762.71 (half up); the 3,000.00 kept is 2,542.37 net of
    # income (5,000.00 − 6,779.66 − 762.71 = −2,542.37) and 457.63 of tax still owed.
    assert (net, made.codes[0].code.gross) == (677966, 800000)
    assert balance(clinic.tenant, Role.REFUND_ADJUSTMENTS) == 500000 - net - 76271 == -254237
    assert -balance(clinic.tenant, Role.TAX_PAYABLE) == 4 * 122034 - 76271
    claims.revoke_claim_code(
        tenant=clinic.tenant, actor=clinic.manager, code_id=forfeited.id, reason="leaked", refund=False
    )
    assert -balance(clinic.tenant, Role.BREAKAGE_REVENUE) == net
    with pytest.raises(InvalidInput):
        claims.revoke_claim_code(tenant=clinic.tenant, actor=clinic.manager, code_id=left.id, reason="x", amount=800001)

    fresh = claims.reissue_claim_code(
        tenant=clinic.tenant, actor=clinic.front_desk, code_id=lost.id, reason="the employee lost the email"
    )
    _refused("claim_code_unknown", _claim, clinic, made.codes[2].plaintext, clinic.ravi)
    assert fresh.code.id == lost.id and fresh.code.deferred_value == net
    assert _claim(clinic, fresh.plaintext, clinic.ravi).package.holder_id == clinic.ravi.id

    assert claims.expire_claim_codes(now=local(2026, 4, 1, 1)) == 1
    assert claims.expire_claim_codes(now=local(2026, 4, 2, 1)) == 0  # idempotent
    left.refresh_from_db()
    assert (left.status, left.deferred_value) == (ClaimStatus.EXPIRED, 0)
    assert -balance(clinic.tenant, Role.BREAKAGE_REVENUE) == 2 * net
    assert deferred(clinic.tenant) == net  # only the claimed package's value is still owed
    assert_reconciled(clinic.tenant)


@pytest.mark.django_db(transaction=True)
def test_two_people_claiming_one_code_at_once_get_one_package(run_concurrently):
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan("physio-1", price=100000, lines=[clinic.line("physio", sessions=1)])
    made = claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        plan_id=plan.plan_id,
        kind="gift",
    )
    _pay(clinic, made.order)
    code = made.codes[0].plaintext
    outcomes = run_concurrently(*[(lambda p=p: _claim(clinic, code, p)) for p in (clinic.ravi, clinic.kiran)])
    wins = [o for o in outcomes if isinstance(o, ClaimCode)]
    losses = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(wins) == 1 and [e.code for e in losses] == ["claim_code_used"], outcomes
    assert Package.objects.filter(order_line__order=made.order).count() == 1
    assert_reconciled(clinic.tenant)
    connection.close()
