"""A patient's stored payment methods (SPEC §10.2): add one through its provider, detach it.

Adding is not one transaction: the provider is asked first (never inside a transaction, see
billing.providers.base), then the method is recorded in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import RuleViolation
from punchcard.domain.idempotency import fingerprint, replay
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from .. import providers
from ..models import PaymentMethod, PaymentMethodStatus


def add_payment_method(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    provider: str,
    token: str,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> PaymentMethod:
    """Store the method `token` names with `provider` for the patient; the same key returns the same method."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    key = validation.idempotency_key(idempotency_key)
    digest = fingerprint(patient_id=patient_id, provider=provider, token=token)
    if key and (existing := PaymentMethod.objects.filter(tenant=tenant, idempotency_key=key).first()):
        return replay(existing, what="payment method", request_hash=digest)
    gateway = providers.get(provider)
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    token = validation.text(token, "token", max_length=200)
    providers.outside_transaction("add_payment_method")
    stored = gateway.store_method(tenant=tenant, token=token)
    if stored.expired_on(tenant.today(now)):
        raise RuleViolation(
            f"the card expired at the end of {stored.expiry_month:02d}/{stored.expiry_year}",
            code="payment_method_refused",
            field="token",
        )
    try:
        return _record(tenant, actor, patient, gateway.name, stored, key, digest, now)
    except IntegrityError:  # the same key at the same moment: the first one stands
        return replay(PaymentMethod.objects.get(tenant=tenant, idempotency_key=key), request_hash=digest)


@transaction.atomic
def _record(tenant, actor, patient, provider, stored, key, digest, now) -> PaymentMethod:
    method = PaymentMethod.objects.create(
        tenant=tenant,
        patient=patient,
        provider=provider,
        reference=stored.reference,
        tender=stored.tender,
        brand=stored.brand,
        last4=stored.last4,
        expiry_month=stored.expiry_month,
        expiry_year=stored.expiry_year,
        created_at=now,
        created_by=actor.label,
        idempotency_key=key,
        request_hash=digest,
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="payment_method.add",
        subject=method,
        now=now,
        data={"patient_id": patient.id, "provider": provider, "brand": stored.brand, "last4": stored.last4},
    )
    return method


@transaction.atomic
def detach_payment_method(
    *, tenant: Tenant, actor: Actor, method_id: int, now: dt.datetime | None = None
) -> PaymentMethod:
    """The method is no longer charged; its past attempts stay. Detaching it again changes nothing."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    method = scoped_get(PaymentMethod, tenant=tenant, pk=method_id, field="method_id")
    # A conditional update, not a lock: of two detaches at once, one changes it and is audited.
    detached = PaymentMethod.objects.filter(pk=method.pk, status=PaymentMethodStatus.ACTIVE).update(
        status=PaymentMethodStatus.DETACHED, detached_at=now, detached_by=actor.label
    )
    if detached:
        audit(tenant=tenant, actor=actor, action="payment_method.detach", subject=method, now=now)
    method.refresh_from_db()
    return method
