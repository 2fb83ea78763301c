"""A clinic with a plan on sale, and the helpers the payment tests share."""

from __future__ import annotations

import pytest

from punchcard.billing import services as billing

from ..clinic import Clinic


@pytest.fixture
def clinic(db) -> Clinic:
    return Clinic.open()


@pytest.fixture
def physio(clinic):
    return clinic.plan("physio-5", price=500000, lines=[clinic.line("physio", sessions=5)])


def card(clinic, token="tok_ok", patient=None, provider="test", key=None):
    return billing.add_payment_method(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=(patient or clinic.asha).id,
        provider=provider,
        token=token,
        idempotency_key=key,
    )


def order_for(clinic, plan, patient=None):
    return billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=(patient or clinic.asha).id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
    )
