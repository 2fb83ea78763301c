"""Stored payment methods and their charges: every test token, idempotent charges, tok_fail_then_ok across
calls, providers and processes, and an order paid by card through record_payment."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pytest
from django.db import transaction

from punchcard import clock
from punchcard.billing import providers
from punchcard.billing import services as billing
from punchcard.billing.models import (
    AttemptOutcome,
    OrderStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    SandboxOperation,
)
from punchcard.billing.providers.test import TestProvider
from punchcard.domain.errors import Conflict, DomainError, Forbidden, InvalidInput
from punchcard.domain.roles import Actor
from punchcard.ledger.models import Posting
from punchcard.tenancy.models import AuditEvent

from ..clinic import Clinic
from ..notifications.test_workers import worker_env
from ..scenario import assert_reconciled
from .conftest import card, order_for

pytestmark = pytest.mark.django_db


def charge(method, key, amount=150000):
    return billing.charge_method(method=method, amount=amount, currency="INR", idempotency_key=key)


@pytest.mark.parametrize(
    "token, brand, last4, ok, failure",
    [
        ("tok_ok", "Visa", "4242", True, ""),
        ("tok_declined", "Visa", "0002", False, "card_declined"),
        ("tok_insufficient_funds", "Visa", "9995", False, "insufficient_funds"),
        ("tok_expired", "Visa", "0069", False, "expired_card"),
        ("tok_fail_then_ok", "Mastercard", "4444", False, "processing_error"),  # the first attempt
    ],
)
def test_each_test_token_stores_a_card_and_charges_as_its_name_says(clinic, token, brand, last4, ok, failure):
    method = card(clinic, token)
    assert (method.provider, method.brand, method.last4, method.tender) == ("test", brand, last4, "external")
    assert (method.expiry_month, method.expiry_year) == (12, 2029)  # stored on 1 March 2026: three years on
    assert token not in (method.last4,) and method.reference.startswith(token + ".")

    result = charge(method, "visit-1")

    assert (result.ok, result.failure_code) == (ok, failure)
    assert result.amount == 150000 and result.reference  # the processor names declined attempts too
    assert (result.message == "") is ok  # a failure says why in plain words
    attempt = PaymentAttempt.objects.get(idempotency_key="visit-1")
    assert attempt.outcome == (AttemptOutcome.SUCCEEDED if ok else AttemptOutcome.FAILED)
    assert attempt.failure_code == failure and attempt.settled_at == clock.now()


def test_an_unknown_token_is_refused_and_nothing_is_stored(clinic):
    with pytest.raises(DomainError) as refused:
        card(clinic, "tok_nonsense")
    assert (refused.value.code, refused.value.field) == ("payment_method_refused", "token")
    with pytest.raises(DomainError) as unknown:
        card(clinic, "tok_ok", provider="stripe")
    assert unknown.value.code == "unknown_provider"
    assert not PaymentMethod.objects.exists()


def test_a_card_expired_when_stored_is_refused(clinic, monkeypatch):
    # A processor may report a card whose expiry has passed; the service refuses to keep it.
    test = providers.get("test")
    real = test.store_method
    monkeypatch.setattr(
        test,
        "store_method",
        lambda **kw: providers.StoredMethod(**{**real(**kw).__dict__, "expiry_year": 2026, "expiry_month": 2}),
    )
    with pytest.raises(DomainError) as refused:
        card(clinic)
    assert refused.value.code == "payment_method_refused" and "02/2026" in refused.value.message
    assert not PaymentMethod.objects.exists()


def test_a_card_past_its_expiry_month_is_declined_as_expired(clinic):
    method = card(clinic)  # good through December 2029
    clock.set_now(dt.datetime(2029, 12, 31, 12, tzinfo=dt.UTC))
    assert charge(method, "last-day").ok
    clock.set_now(dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC))
    assert charge(method, "next-month").failure_code == "expired_card"


def test_the_same_key_twice_is_one_attempt_and_one_charge(clinic):
    method = card(clinic)
    first, again = charge(method, "renewal-2026-04"), charge(method, "renewal-2026-04")
    assert first == again and first.ok
    assert PaymentAttempt.objects.filter(idempotency_key="renewal-2026-04").count() == 1
    assert SandboxOperation.objects.filter(kind="capture").count() == 1  # the processor charged once

    with pytest.raises(Conflict) as conflict:
        charge(method, "renewal-2026-04", amount=100)  # the key asked for something else
    assert conflict.value.code == "idempotency_conflict"


def test_a_charge_needs_a_key_an_amount_and_the_clinics_currency(clinic):
    method = card(clinic)
    for kwargs, field in [
        ({"idempotency_key": None}, "idempotency_key"),
        ({"amount": 0}, "amount"),
        ({"currency": "USD"}, "currency"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            billing.charge_method(
                **{"method": method, "amount": 100, "currency": "INR", "idempotency_key": "k", **kwargs}
            )
        assert refused.value.field == field
    assert not PaymentAttempt.objects.exists()


def test_tok_fail_then_ok_fails_once_then_succeeds_and_a_retry_of_the_first_key_stays_failed(clinic):
    method = card(clinic, "tok_fail_then_ok")
    assert charge(method, "attempt-1").failure_code == "processing_error"
    assert charge(method, "attempt-1").failure_code == "processing_error"  # the same key: the same answer
    assert charge(method, "attempt-2").ok
    assert charge(method, "attempt-3").ok
    # Another method with the same token has its own first failure.
    other = card(clinic, "tok_fail_then_ok")
    assert charge(other, "other-1").failure_code == "processing_error"


def test_tok_fail_then_ok_remembers_across_provider_instances(clinic):
    method = card(clinic, "tok_fail_then_ok")
    first = TestProvider().charge(method=method, amount=1000, currency="INR", idempotency_key="a")
    second = TestProvider().charge(method=method, amount=1000, currency="INR", idempotency_key="b")
    assert (first.failure_code, second.ok) == ("processing_error", True)


@pytest.mark.django_db(transaction=True)
def test_tok_fail_then_ok_remembers_across_processes():
    clinic = Clinic.open()
    method = card(clinic, "tok_fail_then_ok")
    assert charge(method, "here").failure_code == "processing_error"
    script = textwrap.dedent(
        f"""
        import os, django
        os.environ["DJANGO_SETTINGS_MODULE"] = "punchcard.settings"
        django.setup()
        from punchcard.billing.models import PaymentMethod
        from punchcard.billing.services import charge_method
        result = charge_method(method=PaymentMethod.objects.get(pk={method.pk}), amount=150000, currency="INR",
                               idempotency_key="elsewhere")
        print(result.ok, result.failure_code or "-")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=worker_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.split() == ["True", "-"], done.stderr
    assert PaymentAttempt.objects.get(idempotency_key="elsewhere").outcome == AttemptOutcome.SUCCEEDED


def test_a_detached_method_is_not_charged_but_its_past_answers_stand(clinic):
    method = card(clinic)
    assert charge(method, "before").ok
    billing.detach_payment_method(tenant=clinic.tenant, actor=clinic.front_desk, method_id=method.id)
    method.refresh_from_db()
    assert method.status == "detached" and method.detached_by == clinic.front_desk.label
    assert charge(method, "before").ok  # the answer already given
    with pytest.raises(Conflict) as refused:
        charge(method, "after")
    assert refused.value.code == "payment_method_detached"
    assert not PaymentAttempt.objects.filter(idempotency_key="after").exists()
    # Detaching again changes nothing and is not audited twice.
    billing.detach_payment_method(tenant=clinic.tenant, actor=clinic.front_desk, method_id=method.id)
    assert AuditEvent.objects.filter(action="payment_method.detach").count() == 1


def test_adding_a_method_is_idempotent_by_key_and_for_sellers_only(clinic):
    first = card(clinic, key="desk-7")
    assert card(clinic, key="desk-7") == first
    with pytest.raises(Conflict):
        card(clinic, "tok_declined", key="desk-7")
    accountant = Actor(label="acc", role="accountant")
    with pytest.raises(Forbidden):
        billing.add_payment_method(
            tenant=clinic.tenant, actor=accountant, patient_id=clinic.asha.id, provider="test", token="tok_ok"
        )
    assert PaymentMethod.objects.count() == 1


def test_no_provider_is_called_inside_a_transaction(clinic):
    method = card(clinic)
    with pytest.raises(RuntimeError, match="never called inside a transaction"), transaction.atomic():
        charge(method, "inside")
    with pytest.raises(RuntimeError), transaction.atomic():
        card(clinic)


def test_an_order_paid_by_card_goes_through_record_payment_and_the_books_balance(clinic, physio):
    order = order_for(clinic, physio)
    method = card(clinic)

    payment = billing.charge_order(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method_id=method.id, idempotency_key="o1"
    )

    # ₹5,000.00 due, taken in full by the test processor and posted like any card payment.
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.paid == 500000
    assert (payment.method, payment.amount, payment.attempt.method_id) == ("external", 500000, method.id)
    assert payment.reference == payment.attempt.reference != ""
    assert order.lines.get().packages.count() == 1
    card_clearing = Posting.objects.filter(tenant=clinic.tenant, account__role="card_clearing")
    assert sum(card_clearing.values_list("amount", flat=True)) == 500000
    # The same key again: the same payment, nothing charged or posted twice.
    again = billing.charge_order(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method_id=method.id, idempotency_key="o1"
    )
    assert again == payment and Payment.objects.count() == 1 and PaymentAttempt.objects.count() == 1
    assert_reconciled(clinic.tenant)


def test_a_declined_card_pays_nothing_and_says_why(clinic, physio):
    order = order_for(clinic, physio)
    method = card(clinic, "tok_insufficient_funds")
    with pytest.raises(Conflict) as refused:
        billing.charge_order(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method_id=method.id, idempotency_key="o2"
        )
    assert refused.value.code == "payment_failed"
    assert refused.value.context["failure_code"] == "insufficient_funds"
    assert "insufficient funds" in refused.value.message
    order.refresh_from_db()
    assert (order.status, order.paid, Payment.objects.count()) == (OrderStatus.OPEN, 0, 0)
    assert_reconciled(clinic.tenant)


def test_a_charge_the_order_cannot_take_is_given_back(clinic, physio, monkeypatch):
    order = order_for(clinic, physio)
    method = card(clinic)
    # The desk records cash for the whole order while the card is being charged.
    real_charge = providers.get("test").charge

    def charge_while_the_desk_takes_cash(**kwargs):
        result = real_charge(**kwargs)
        billing.record_payment(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method="cash", amount=500000
        )
        return result

    monkeypatch.setattr(providers.get("test"), "charge", charge_while_the_desk_takes_cash)
    with pytest.raises(Conflict) as refused:
        billing.charge_order(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method_id=method.id, idempotency_key="o3"
        )
    assert refused.value.code == "order_not_open"
    returned = PaymentAttempt.objects.get(idempotency_key="o3:returned")
    assert (returned.kind, returned.outcome, returned.amount) == ("refund", "succeeded", 500000)
    assert returned.refunds.idempotency_key == "o3"
    assert Payment.objects.get().method == "cash"
    assert_reconciled(clinic.tenant)


def test_another_patients_card_cannot_pay_the_order(clinic, physio):
    order = order_for(clinic, physio)
    ravis = card(clinic, patient=clinic.ravi)
    with pytest.raises(InvalidInput) as refused:
        billing.charge_order(
            tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method_id=ravis.id, idempotency_key="o4"
        )
    assert refused.value.field == "method_id" and not PaymentAttempt.objects.exists()


def test_the_front_desk_provider_records_what_it_took(clinic, physio):
    cash = card(clinic, "cash", provider="manual")
    assert (cash.brand, cash.tender, cash.last4, cash.expiry_year) == ("Cash", "cash", "", None)
    assert providers.get("manual").unattended is False and providers.get("test").unattended is True
    order = order_for(clinic, physio)
    payment = billing.charge_order(
        tenant=clinic.tenant, actor=clinic.front_desk, order_id=order.id, method_id=cash.id, idempotency_key="desk"
    )
    assert (payment.method, payment.amount) == ("cash", 500000)
    with pytest.raises(DomainError) as refused:
        card(clinic, "tok_ok", provider="manual")
    assert refused.value.code == "payment_method_refused"
    assert_reconciled(clinic.tenant)


def test_a_refund_gives_back_at_most_what_was_charged(clinic):
    method = card(clinic)
    charge(method, "c1", amount=10000)
    charged = PaymentAttempt.objects.get(idempotency_key="c1")
    assert billing.refund_charge(charge=charged, amount=4000, idempotency_key="r1").ok
    assert billing.refund_charge(charge=charged, amount=4000, idempotency_key="r1").ok  # the same refund
    with pytest.raises(InvalidInput) as refused:
        billing.refund_charge(charge=charged, amount=6001, idempotency_key="r2")
    assert refused.value.context["left"] == 6000
    assert billing.refund_charge(charge=charged, amount=6000, idempotency_key="r2").ok
    assert SandboxOperation.objects.filter(kind="refund").count() == 2
