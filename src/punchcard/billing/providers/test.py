"""The test provider: a card processor in miniature whose tokens behave the same way every time, so every
path (a decline, a dunning retry, a webhook) can be tested (README "Payment providers", the tokens table).

It keeps what a processor keeps on its side in the database (`SandboxOperation`): every answer by
idempotency key, so a repeated key gets the same answer across processes and test-clock runs, and whether
a `tok_fail_then_ok` method was tried before. Its webhooks are signed with the tenant's secret by the
Standard Webhooks scheme, as Punchcard's own are.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from django.db import IntegrityError, transaction

from punchcard import clock
from punchcard.domain.errors import Conflict, RuleViolation
from punchcard.kernel.signing import sign, signed_by

from ..models import SandboxOperation
from .base import (
    Authorisation,
    ChargeResult,
    CheckoutResult,
    CheckoutSession,
    PaymentProvider,
    RefundResult,
    StoredMethod,
    WebhookEvent,
    webhook_malformed,
    webhook_signature_invalid,
    webhook_timestamp_out_of_range,
)

# token → (brand, last4, what every charge does). tok_fail_then_ok's first charge fails, later ones succeed.
TOKENS: dict[str, tuple[str, str, str]] = {
    "tok_ok": ("Visa", "4242", ""),
    "tok_declined": ("Visa", "0002", "card_declined"),
    "tok_insufficient_funds": ("Visa", "9995", "insufficient_funds"),
    "tok_expired": ("Visa", "0069", "expired_card"),
    "tok_fail_then_ok": ("Mastercard", "4444", "processing_error"),
}
FAIL_ONCE = "tok_fail_then_ok"
CARD_YEARS = 3  # a stored test card expires at the end of this many years from today
TOLERANCE = dt.timedelta(minutes=5)  # how far a webhook's timestamp may be from our clock
CHECKOUT_PATH = "/api/v1/providers/test/checkout/{id}"


def _token_of(reference: str) -> str:
    return reference.rsplit(".", 1)[0]


class TestProvider(PaymentProvider):
    __test__ = False  # not a pytest test class
    name = "test"
    label = "test processor"
    unattended = True

    # ------------------------------------------------------------------ methods

    def store_method(self, *, tenant, token: str) -> StoredMethod:
        return self._stored(token, secrets.token_hex(6))

    def _stored(self, token: str, suffix: str) -> StoredMethod:
        if token not in TOKENS:
            raise RuleViolation(
                f"{token!r} is not a test token (use one of {', '.join(TOKENS)})",
                code="payment_method_refused",
                field="token",
            )
        brand, last4, _ = TOKENS[token]
        return StoredMethod(
            reference=f"{token}.{suffix}",
            brand=brand,
            tender="external",
            last4=last4,
            expiry_month=12,
            expiry_year=clock.now().year + CARD_YEARS,
        )

    # ------------------------------------------------------------------ money

    def authorise(self, *, method, amount: int, currency: str, idempotency_key: str) -> Authorisation:
        stored = StoredMethod(
            reference=method.reference,
            brand=method.brand,
            tender=method.tender,
            expiry_month=method.expiry_month,
            expiry_year=method.expiry_year,
        )
        return self._authorise(method.tenant_id, stored, amount, currency, idempotency_key)

    def _authorise(self, tenant_id, stored: StoredMethod, amount, currency, key) -> Authorisation:
        def outcome():
            token = _token_of(stored.reference)
            if stored.expired_on(clock.now().date()):
                return "expired_card"
            failure = TOKENS.get(token, ("", "", "card_declined"))[2]
            if token == FAIL_ONCE and _tried_before(tenant_id, stored.reference):
                return ""
            return failure

        row = _answer(
            tenant_id, "authorise", key, amount=amount, currency=currency, about=stored.reference, decide=outcome
        )
        return _result(Authorisation, row, currency=row.currency)

    def capture(self, *, authorisation: Authorisation, amount: int, idempotency_key: str) -> ChargeResult:
        held = SandboxOperation.objects.filter(kind="authorise", reference=authorisation.reference, ok=True).first()
        if held is None:
            return ChargeResult.failed("processing_error", amount=amount, message="no such authorisation")

        def outcome():
            taken = _sum(held.tenant_id, "capture", held.reference)
            return "processing_error" if taken + amount > held.amount else ""

        row = _answer(
            held.tenant_id,
            "capture",
            idempotency_key,
            amount=amount,
            currency=held.currency,
            about=held.reference,
            decide=outcome,
        )
        return _result(ChargeResult, row)

    def refund(self, *, tenant, reference: str, amount: int, idempotency_key: str) -> RefundResult:
        charge = SandboxOperation.objects.filter(tenant=tenant, kind="capture", reference=reference, ok=True).first()
        if charge is None:
            return RefundResult.failed("processing_error", amount=amount, message=f"no charge {reference}")

        def outcome():
            returned = _sum(tenant.id, "refund", reference)
            return "processing_error" if returned + amount > charge.amount else ""

        row = _answer(
            tenant.id,
            "refund",
            idempotency_key,
            amount=amount,
            currency=charge.currency,
            about=reference,
            decide=outcome,
        )
        return _result(RefundResult, row)

    # ------------------------------------------------------------------ hosted checkout

    def start_checkout(self, *, tenant, amount: int, currency: str, description: str, idempotency_key: str):
        row = _answer(
            tenant.id,
            "checkout",
            idempotency_key,
            amount=amount,
            currency=currency,
            about=description[:200],
            decide=lambda: "",
            prefix="cs_test_",
        )
        return CheckoutSession(id=row.reference, redirect_url=CHECKOUT_PATH.format(id=row.reference))

    def complete_checkout(self, *, tenant, session_id: str, token: str | None) -> CheckoutResult:
        """Punchcard's own page stands in for the hosted one: it completes at once with the chosen token."""
        session = SandboxOperation.objects.filter(tenant=tenant, kind="checkout", reference=session_id).first()
        if session is None:
            return CheckoutResult(
                charge=ChargeResult.failed("processing_error", message=f"no checkout {session_id}"), method=None
            )
        # The method's reference derives from the session, so completing it again asks the same thing.
        stored = self._stored(token or "tok_ok", session_id.removeprefix("cs_test_"))
        held = self._authorise(tenant.id, stored, session.amount, session.currency, f"{session_id}:authorise")
        if not held.ok:
            charge = ChargeResult.failed(held.failure_code, reference=held.reference, amount=held.amount)
        else:
            charge = self.capture(authorisation=held, amount=session.amount, idempotency_key=f"{session_id}:capture")
        return CheckoutResult(charge=charge, method=stored)

    # ------------------------------------------------------------------ webhooks

    def verify_webhook(self, *, body: bytes, headers, secret_of) -> WebhookEvent:
        msg_id, stamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
        if not (msg_id and stamp and signatures):
            raise webhook_malformed("a webhook needs webhook-id, webhook-timestamp and webhook-signature headers")
        try:
            at = dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC)
            text = body.decode()
            event = json.loads(text)
        except (ValueError, OverflowError, OSError, UnicodeDecodeError):
            raise webhook_malformed("the webhook's timestamp is not whole seconds or its body is not JSON") from None
        if not isinstance(event, dict) or not all(isinstance(event.get(k), str) for k in ("type", "account")):
            raise webhook_malformed("the webhook's body is an object with a type and an account")
        if not isinstance(event.get("data"), dict):
            raise webhook_malformed("the webhook's data is an object")
        secret = secret_of(event["account"])
        if secret is None or not signed_by(secret, msg_id=msg_id, at=at, body=text, header=signatures):
            raise webhook_signature_invalid()
        if abs(clock.wall() - at) > TOLERANCE:
            raise webhook_timestamp_out_of_range(at)
        return WebhookEvent(id=msg_id, type=event["type"], account=event["account"], data=event["data"])


def sign_event(
    *, secret: str, account: str, type: str, data: dict, event_id: str | None = None, at: dt.datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook as the test provider sends it: the body and its three Standard Webhooks headers."""
    event_id = event_id or f"evt_test_{secrets.token_hex(12)}"
    at = at or clock.wall()
    body = json.dumps({"type": type, "account": account, "data": data}, separators=(",", ":"), sort_keys=True)
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(secret, msg_id=event_id, at=at, body=body),
    }
    return body.encode(), headers


def _tried_before(tenant_id: int, method_reference: str) -> bool:
    return SandboxOperation.objects.filter(tenant_id=tenant_id, kind="authorise", about=method_reference).exists()


def _sum(tenant_id: int, kind: str, about: str) -> int:
    return sum(
        SandboxOperation.objects.filter(tenant_id=tenant_id, kind=kind, about=about, ok=True).values_list(
            "amount", flat=True
        )
    )


def _answer(tenant_id, kind, key, *, amount, currency, about, decide, prefix="") -> SandboxOperation:
    """The answer stored for (kind, key), or a new one `decide()` makes (a failure code, or "")."""
    existing = SandboxOperation.objects.filter(tenant_id=tenant_id, kind=kind, idempotency_key=key).first()
    if existing is None:
        failure = decide()
        try:
            with transaction.atomic():
                return SandboxOperation.objects.create(
                    tenant_id=tenant_id,
                    kind=kind,
                    idempotency_key=key,
                    reference=(prefix or f"{kind[:2]}_test_") + secrets.token_hex(10),
                    about=about,
                    amount=amount,
                    currency=currency,
                    ok=not failure,
                    failure_code=failure,
                    created_at=clock.now(),
                )
        except IntegrityError:  # the same key at the same moment: the other call's answer stands
            existing = SandboxOperation.objects.get(tenant_id=tenant_id, kind=kind, idempotency_key=key)
    if (existing.amount, existing.about) != (amount, about):
        raise Conflict(f"the test provider saw this idempotency key for another {kind}", code="idempotency_conflict")
    return existing


def _result(cls, row: SandboxOperation, **extra):
    if row.ok:
        return cls(ok=True, reference=row.reference, amount=row.amount, **extra)
    return cls.failed(row.failure_code, reference=row.reference, amount=row.amount, **extra)
