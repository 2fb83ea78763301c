"""The front desk as a provider: a charge is the desk recording money it took (cash, the card terminal,
a bank transfer). It never reaches a card, cannot charge with nobody present, and always succeeds:
the person recording it has the money in hand."""

from __future__ import annotations

import hashlib

from punchcard.domain.errors import RuleViolation

from .base import Authorisation, ChargeResult, PaymentProvider, RefundResult, StoredMethod

# token → what the desk records it as (billing.models.Tender values)
TENDERS = {"cash": "Cash", "card": "Card terminal", "bank_transfer": "Bank transfer"}


def _reference(*parts) -> str:
    # Derived from the call, so the same idempotency key gives the same reference without any memory.
    return "man_" + hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:24]


class ManualProvider(PaymentProvider):
    name = "manual"
    label = "front desk"
    unattended = False

    def store_method(self, *, tenant, token: str) -> StoredMethod:
        if token not in TENDERS:
            raise RuleViolation(
                f"the front desk records {', '.join(TENDERS)}; {token!r} is none of them",
                code="payment_method_refused",
                field="token",
            )
        return StoredMethod(reference=token, brand=TENDERS[token], tender=token)

    def authorise(self, *, method, amount: int, currency: str, idempotency_key: str) -> Authorisation:
        reference = _reference(method.tenant_id, "authorise", idempotency_key)
        return Authorisation(ok=True, reference=reference, amount=amount, currency=currency)

    def capture(self, *, authorisation: Authorisation, amount: int, idempotency_key: str) -> ChargeResult:
        return ChargeResult(ok=True, reference=_reference(authorisation.reference, idempotency_key), amount=amount)

    def refund(self, *, tenant, reference: str, amount: int, idempotency_key: str) -> RefundResult:
        return RefundResult(ok=True, reference=_reference(tenant.id, "refund", idempotency_key), amount=amount)
