"""What providers tell us (SPEC §10.2): a tenant's account with a provider, and its verified webhooks.

A webhook is verified by its provider (the signature with the account's secret, the timestamp), stored
once (a repeat of its id is acknowledged and does nothing), settles the attempt it reports on if that is
still pending (a process that died between charging and recording), and is recorded as the domain event
`payment.webhook_received`, which apps above billing (memberships) listen to.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Q

from punchcard import clock, events
from punchcard.domain.errors import NotFound
from punchcard.domain.roles import Actor, Perm
from punchcard.kernel.signing import new_secret
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from .. import providers
from ..models import AttemptOutcome, PaymentAttempt, ProviderAccount, ProviderEvent
from ..providers import WEBHOOK_TYPES

SETTLES = {
    "charge.succeeded": AttemptOutcome.SUCCEEDED,
    "charge.failed": AttemptOutcome.FAILED,
    "refund.succeeded": AttemptOutcome.SUCCEEDED,
}


@transaction.atomic
def connect_provider(*, tenant: Tenant, actor: Actor, provider: str, now: dt.datetime | None = None) -> ProviderAccount:
    """The tenant's account with the provider (made on first use): the id its webhooks name, their secret."""
    actor.require(Perm.ADMIN)
    gateway = providers.get(provider)
    existing = ProviderAccount.objects.filter(tenant=tenant, provider=gateway.name).first()
    if existing:
        return existing
    now = now or clock.now()
    account = ProviderAccount.objects.create(
        tenant=tenant,
        provider=gateway.name,
        account=f"acct_{secrets.token_hex(8)}",
        webhook_secret=new_secret(),
        created_at=now,
    )
    audit(tenant=tenant, actor=actor, action="provider.connect", subject=account, now=now, data={"provider": provider})
    return account


def _secret_of(provider: str):
    def secret_of(account: str) -> str | None:
        row = ProviderAccount.objects.filter(provider=provider, account=account).only("webhook_secret").first()
        return row.webhook_secret if row else None

    return secret_of


@transaction.atomic
def receive_webhook(
    *, provider: str, body: bytes, headers, now: dt.datetime | None = None
) -> tuple[ProviderEvent, bool]:
    """Verify and store a provider's webhook; (the stored event, whether it is new)."""
    if provider not in providers.names():
        raise NotFound(f"no payment provider {provider!r}", code="unknown_provider", field="name")
    now = now or clock.now()
    verified = providers.get(provider).verify_webhook(body=body, headers=headers, secret_of=_secret_of(provider))
    if stored := ProviderEvent.objects.filter(provider=provider, event_id=verified.id).first():
        return stored, False
    account = ProviderAccount.objects.select_related("tenant").get(provider=provider, account=verified.account)
    tenant = account.tenant
    try:
        with transaction.atomic():
            stored = ProviderEvent.objects.create(
                tenant=tenant,
                provider=provider,
                event_id=verified.id,
                type=verified.type,
                data=verified.data,
                received_at=now,
            )
    except IntegrityError:  # the same event at the same moment: the other one is it
        return ProviderEvent.objects.get(provider=provider, event_id=verified.id), False
    attempt = _settle_from(tenant, verified) if verified.type in WEBHOOK_TYPES else None
    if attempt is not None:
        stored.attempt = attempt
        stored.save(update_fields=["attempt"])
    data = verified.data
    events.record(
        "payment.webhook_received",
        tenant=tenant,
        subject=stored,
        at=now,
        provider=provider,
        provider_event_id=verified.id,
        type=verified.type,
        reference=str(data.get("reference", ""))[:200],
        amount=data.get("amount") if isinstance(data.get("amount"), int) else None,
        failure_code=str(data.get("failure_code", ""))[:32],
        attempt_id=attempt.id if attempt else None,
    )
    return stored, True


def _settle_from(tenant: Tenant, event) -> PaymentAttempt | None:
    """The attempt the event reports on (by our idempotency key or the provider's reference), settled if it
    was still pending: the first answer stands, whether it came back from the call or by webhook."""
    key, reference = event.data.get("idempotency_key"), event.data.get("reference")
    match = Q()
    if isinstance(key, str) and key:
        match |= Q(idempotency_key=key)
    if isinstance(reference, str) and reference:
        match |= Q(reference=reference)
    if not match:
        return None
    attempt = PaymentAttempt.objects.filter(Q(tenant=tenant) & match).order_by("id").first()
    if attempt is None:
        return None
    outcome = SETTLES[event.type]
    failure = ""
    if outcome == AttemptOutcome.FAILED:
        given = event.data.get("failure_code")
        failure = given if given in providers.FAILURE_CODES else "processing_error"
    PaymentAttempt.objects.filter(pk=attempt.pk, outcome=AttemptOutcome.PENDING).update(
        outcome=outcome,
        reference=reference if isinstance(reference, str) and reference else attempt.reference,
        failure_code=failure,
        message=providers.FAILURE_CODES.get(failure, ""),
        settled_at=clock.now(),
    )
    attempt.refresh_from_db()
    return attempt
