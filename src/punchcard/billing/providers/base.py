"""The payment-provider interface (SPEC §10.2): what billing asks of whoever moves the money.

A provider stores a patient's way to pay (`store_method`), authorises and captures a charge (or does
both, `charge`), refunds it, may offer a hosted checkout page, and verifies its own webhooks. Results
are frozen values: `ok`, the provider's `reference`, and on a failure a `failure_code` from
`FAILURE_CODES` with a message in plain words. A refusal to *store* a method is a DomainError
(`payment_method_refused`); a declined *charge* is a result, not an exception, so the caller records it.

Two rules every adapter keeps, and every caller relies on:

- **Idempotency keys.** Each money call takes one; the same key returns the first call's result and
  never moves money twice, so a caller that lost the answer (a timeout, a crash) simply asks again.
- **No call inside a transaction that holds row locks.** A provider talks to the outside world and may
  take seconds; holding an order's or a package's lock meanwhile would stall the desk. Billing's
  callers (`billing.payments`) record an attempt, commit, call the provider, then record the outcome
  in a transaction of their own; `outside_transaction` enforces it.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from punchcard.domain.errors import BadRequest, RuleViolation, Unverified

# Why a charge did not go through, in the words the desk and the patient see.
FAILURE_CODES: dict[str, str] = {
    "card_declined": "The card was declined by its bank.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "processing_error": "The payment could not be processed just now; trying again may work.",
}


@dataclass(frozen=True)
class StoredMethod:
    """What a provider keeps for a patient, and what we may show of it."""

    reference: str  # the provider's id for charging it again (never a card number)
    brand: str  # "Visa", "Cash"
    tender: str  # billing.models.Tender: where a payment made with it is posted in the journal
    last4: str = ""
    expiry_month: int | None = None
    expiry_year: int | None = None

    def expired_on(self, day: dt.date) -> bool:
        """A card is good through the last day of its expiry month."""
        if self.expiry_year is None or self.expiry_month is None:
            return False
        return (day.year, day.month) > (self.expiry_year, self.expiry_month)


@dataclass(frozen=True)
class Result:
    ok: bool
    reference: str  # the provider's id of this authorisation, charge or refund ("" when refused outright)
    amount: int
    failure_code: str = ""
    message: str = ""

    def __post_init__(self):
        if self.ok == bool(self.failure_code):
            raise ValueError("a result is ok with no failure code, or failed with one")
        if self.failure_code and self.failure_code not in FAILURE_CODES:
            raise ValueError(f"unknown failure code {self.failure_code!r}")

    @classmethod
    def failed(cls, failure_code: str, *, reference: str = "", amount: int = 0, message: str = "", **extra):
        return cls(
            ok=False,
            reference=reference,
            amount=amount,
            failure_code=failure_code,
            message=message or FAILURE_CODES[failure_code],
            **extra,
        )


@dataclass(frozen=True)
class Authorisation(Result):
    """Money held on the card, to be captured (all or part) later."""

    currency: str = ""


@dataclass(frozen=True)
class ChargeResult(Result):
    """Money taken."""


@dataclass(frozen=True)
class RefundResult(Result):
    """Money given back on an earlier charge."""


@dataclass(frozen=True)
class CheckoutSession:
    """A hosted payment page: send the patient to `redirect_url`; the provider sends them back."""

    id: str
    redirect_url: str


@dataclass(frozen=True)
class CheckoutResult:
    """How a checkout ended: the charge, and the method the patient paid with (stored for next time)."""

    charge: ChargeResult
    method: StoredMethod | None


@dataclass(frozen=True)
class WebhookEvent:
    """A provider's event, verified: its id (stored once), type, the account it is for, and its data."""

    id: str
    type: str
    account: str
    data: dict[str, Any]


WEBHOOK_TYPES = ("charge.succeeded", "charge.failed", "refund.succeeded")


def unsupported(provider: PaymentProvider, what: str) -> RuleViolation:
    return RuleViolation(f"the {provider.label} payment provider does not offer {what}", code="provider_unsupported")


def webhook_malformed(detail: str) -> BadRequest:
    return BadRequest(detail, code="webhook_malformed")


def webhook_signature_invalid() -> Unverified:
    return Unverified(
        "the webhook's signature is not the account's (check the account's webhook secret)",
        code="webhook_signature_invalid",
    )


def webhook_timestamp_out_of_range(at: dt.datetime) -> BadRequest:
    return BadRequest(
        f"the webhook was signed at {at.isoformat()}, more than 5 minutes from now",
        code="webhook_timestamp_out_of_range",
    )


def outside_transaction(what: str) -> None:
    """Refuse a provider call made inside a transaction (a test's own wrapping transaction aside)."""
    blocks = transaction.get_connection().atomic_blocks
    if any(not getattr(block, "_from_testcase", False) for block in blocks):
        raise RuntimeError(f"{what}: a payment provider is never called inside a transaction")


class PaymentProvider(ABC):
    """One way money moves. Subclasses set `name`, `label`, `unattended` and implement the calls."""

    name: str  # stored on each PaymentMethod; the URL of its webhooks
    label: str  # in the clinic's words
    # True when it can charge a stored method with nobody present (a renewal at night); the manual
    # provider cannot: its charges are the front desk saying it took the money.
    unattended: bool

    @abstractmethod
    def store_method(self, *, tenant, token: str) -> StoredMethod:
        """Keep the patient's method named by `token`; refuse (`payment_method_refused`) an unknown or
        expired one."""

    @abstractmethod
    def authorise(self, *, method, amount: int, currency: str, idempotency_key: str) -> Authorisation:
        """Hold `amount` on a stored method (`method` is a billing PaymentMethod)."""

    @abstractmethod
    def capture(self, *, authorisation: Authorisation, amount: int, idempotency_key: str) -> ChargeResult:
        """Take up to the authorised amount."""

    def charge(self, *, method, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        """Authorise and capture at once. Each step's key derives from the charge's, so a retried
        charge retries the same steps."""
        held = self.authorise(
            method=method, amount=amount, currency=currency, idempotency_key=f"{idempotency_key}:authorise"
        )
        if not held.ok:
            return ChargeResult.failed(held.failure_code, reference=held.reference, amount=amount, message=held.message)
        return self.capture(authorisation=held, amount=amount, idempotency_key=f"{idempotency_key}:capture")

    @abstractmethod
    def refund(self, *, tenant, reference: str, amount: int, idempotency_key: str) -> RefundResult:
        """Give back `amount` of the charge `reference`."""

    def start_checkout(
        self, *, tenant, amount: int, currency: str, description: str, idempotency_key: str
    ) -> CheckoutSession:
        """A hosted payment page for `amount`."""
        raise unsupported(self, "hosted checkout")

    def complete_checkout(self, *, tenant, session_id: str, token: str | None) -> CheckoutResult:
        """How the checkout `session_id` ended (`token`: the method the patient chose, where the provider
        lets Punchcard's own page choose it)."""
        raise unsupported(self, "hosted checkout")

    def verify_webhook(self, *, body: bytes, headers, secret_of) -> WebhookEvent:
        """The event in `body`, once its signature is proved; `secret_of(account)` gives the tenant's
        webhook secret (None for an unknown account)."""
        raise unsupported(self, "webhooks")
