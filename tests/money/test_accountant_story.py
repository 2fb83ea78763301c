"""The accountant's story (SPEC §8.3, §8.6): sell → pay by cash and card → redeem at the other centre →
void → expiry sweep, and the trial balance by account role equals figures worked out by hand."""

import datetime as dt

import pytest
from django.db.models import Sum

from punchcard.billing import selectors as money
from punchcard.billing import services as billing
from punchcard.billing.models import OrderStatus
from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry, Posting
from punchcard.packages import selectors
from punchcard.packages import services as packages

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import trial_balance


def _by_centre(tenant, role):
    rows = Posting.objects.filter(tenant=tenant, account__role=role).values("centre__code").annotate(s=Sum("amount"))
    return {row["centre__code"]: row["s"] for row in rows if row["s"]}


@pytest.mark.django_db
def test_sell_pay_split_redeem_elsewhere_void_expire_and_the_trial_balance_by_role():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    plan = clinic.plan(
        "physio-recovery",
        name="Physiotherapy Recovery Pack",
        price=944000,
        tax_rate_bp=1800,
        tax_inclusive=True,
        scope="all",
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
    )
    bandra, koramangala = clinic.centre, clinic.other_centre

    # Worked out by hand (SPEC §15 example 1 plus 18 % GST included in the price):
    gross = 944000
    net = gross * 100 // 118  # 800,000.00 exactly
    tax = gross - net  # 144,000.00
    physio_line, doctor_line = 615385, net - 615385  # 10,000/13,000 and 3,000/13,000 of the net
    first_physio = 61539  # 615,385 over 10: five sessions of 615.39, five of 615.38
    first_doctor = 92308  # 184,615 over 2: 923.08 and 923.07
    cash, card = 400000, gross - 400000

    # 1 March, Bandra: the order, paid partly in cash and partly by card.
    order = billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        centre_id=bandra.id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
    )
    billing.record_payment(tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="cash", amount=cash)
    assert not order.lines.get().packages.exists()  # not paid yet: no package, no sale in the books
    assert trial_balance(clinic.tenant) == {Role.CASH: cash, Role.RECEIVABLE: -cash}
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="card",
        amount=card,
        reference="POS 4471",
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    package = order.lines.get().packages.get()
    assert trial_balance(clinic.tenant) == {
        Role.CASH: cash,
        Role.CARD_CLEARING: card,
        Role.TAX_PAYABLE: -tax,
        Role.DEFERRED_REVENUE: -net,
    }

    # 5 March, Koramangala: a physio session at the other centre is that centre's revenue.
    wrong = clinic.redeem(package, "physio", centre=koramangala, now=local(2026, 3, 5, 11))
    assert wrong.value == first_physio
    entry = JournalEntry.objects.get(kind="redemption", event_id=wrong.id)
    assert (entry.centre_id, entry.date) == (koramangala.id, dt.date(2026, 3, 5))
    # 6 March: it was the wrong patient's appointment; the manager voids it and the revenue reverses.
    packages.void_redemption(
        tenant=clinic.tenant,
        actor=clinic.manager,
        redemption_id=wrong.id,
        reason="booked against the wrong package",
        now=local(2026, 3, 6, 9),
    )
    assert Role.PACKAGE_REVENUE not in trial_balance(clinic.tenant)
    # 7 March: the real visits, one at each centre; the restored session carries the same value again.
    assert clinic.redeem(package, "physio", centre=koramangala, now=local(2026, 3, 7, 11)).value == first_physio
    assert clinic.redeem(package, "doctor", centre=bandra, now=local(2026, 3, 7, 15)).value == first_doctor

    # The nightly sweep after the last valid day (start + 89 = 29 May) turns the rest into breakage.
    package.refresh_from_db()
    assert package.expires_on == dt.date(2026, 5, 29)
    assert packages.expire_due_packages(as_of=dt.date(2026, 5, 29), now=local(2026, 5, 29, 23, 55)) == 0
    assert packages.expire_due_packages(as_of=dt.date(2026, 5, 30), now=local(2026, 5, 30, 0, 5)) == 1
    assert selectors.summarize(package, now=local(2026, 5, 30, 9)).status.status == "expired"

    recognised = first_physio + first_doctor
    breakage = net - recognised
    assert breakage == (physio_line - first_physio) + (doctor_line - first_doctor) == 646153
    assert trial_balance(clinic.tenant) == {
        Role.CASH: cash,  # 4,000.00
        Role.CARD_CLEARING: card,  # 5,440.00
        Role.TAX_PAYABLE: -tax,  # 1,440.00 owed to the tax office
        Role.PACKAGE_REVENUE: -recognised,  # 1,538.47 earned by two sessions
        Role.BREAKAGE_REVENUE: -breakage,  # 6,461.53 never used
    }  # receivable and deferred revenue are back to zero, and are left out
    # Debits equal credits, and revenue sits with the centre that delivered the session.
    assert sum(trial_balance(clinic.tenant).values()) == 0
    assert _by_centre(clinic.tenant, Role.PACKAGE_REVENUE) == {"koramangala": -first_physio, "bandra": -first_doctor}
    assert _by_centre(clinic.tenant, Role.BREAKAGE_REVENUE) == {"bandra": -breakage}
    assert money.package_money(package) == money.PackageMoney(sold=net, recognised=recognised, breakage=breakage)
    assert list(JournalEntry.objects.filter(tenant=clinic.tenant).values_list("kind", flat=True)) == [
        "payment",
        "payment",
        "sale",
        "redemption",
        "void",
        "redemption",
        "redemption",
        "breakage",
    ]
    assert_reconciled()
