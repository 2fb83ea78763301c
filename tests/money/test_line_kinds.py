"""An order line's kind chooses what activates it when the order is paid (billing.hooks): billing
registers its own kinds, another app may register one of its own, and a kind nobody registered is a
clear error that leaves the payment undone."""

import pytest

from punchcard.billing import hooks
from punchcard.billing import services as billing
from punchcard.billing.models import Order, OrderLine, OrderLineKind, OrderStatus, Payment
from punchcard.packages.models import Package

from ..clinic import Clinic

pytestmark = pytest.mark.django_db


def _order(clinic):
    plan = clinic.plan("physio-5", price=400000, lines=[clinic.line("physio", sessions=5)])
    return billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
    )


def _pay_in_full(clinic, order):
    return billing.record_payment(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="cash", amount=order.due
    )


def test_billing_registers_an_activator_for_each_of_its_kinds():
    for kind in OrderLineKind:
        assert callable(hooks.activator_for(kind))


def test_a_kind_has_one_activator():
    mine = hooks.activator_for(OrderLineKind.PACKAGE)
    hooks.register_line_kind(OrderLineKind.PACKAGE, mine)  # registering the same one again is harmless
    with pytest.raises(RuntimeError, match="has an activator already"):
        hooks.register_line_kind(OrderLineKind.PACKAGE, lambda **kw: None)
    assert hooks.activator_for(OrderLineKind.PACKAGE) is mine


def test_another_app_activates_a_kind_of_its_own(monkeypatch):
    clinic = Clinic.open()
    order = _order(clinic)
    OrderLine.objects.filter(order=order).update(kind="membership")
    seen = []
    monkeypatch.setitem(hooks._activators, "membership", lambda **kw: seen.append((kw["order"].id, kw["line"].kind)))

    _pay_in_full(clinic, order)

    order.refresh_from_db()
    assert seen == [(order.id, "membership")]
    assert order.status == OrderStatus.PAID
    assert not Package.objects.filter(order_line__order=order).exists()


def test_an_unregistered_kind_is_a_clear_error_and_the_payment_is_undone():
    clinic = Clinic.open()
    order = _order(clinic)
    OrderLine.objects.filter(order=order).update(kind="membership")

    with pytest.raises(hooks.UnknownLineKind, match="'membership'"):
        _pay_in_full(clinic, order)

    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.paid) == (OrderStatus.OPEN, 0)
    assert not Payment.objects.filter(order=order).exists()
    assert not Package.objects.filter(order_line__order=order).exists()
