"""Orders, payments, refunds and patient credit (SPEC §3, §8.2); stored payment methods, their charges and
what the payment providers send us (accounts, webhooks, checkouts; SPEC §10.2)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from punchcard.tenancy.models import Centre, Patient, StaffMember, Tenant


class OrderStatus(models.TextChoices):
    OPEN = "open", "Open (awaiting payment)"
    PAID = "paid", "Paid"
    PAY_LATER = "pay_later", "Activated, payment due later"
    CANCELLED = "cancelled", "Cancelled"


class Tender(models.TextChoices):
    """How money came in or went out: the journal account a payment posts to (domain.posting)."""

    CASH = "cash", "Cash"
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    EXTERNAL = "external", "External processor"
    CREDIT = "credit", "Patient credit"


class Order(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()  # gap-free per tenant
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="orders")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    net = models.BigIntegerField()
    tax = models.BigIntegerField()
    gross = models.BigIntegerField()  # amount due in total
    discount = models.BigIntegerField(default=0)
    credit_applied = models.BigIntegerField(default=0)  # e.g. an upgrade's prorated credit
    paid = models.BigIntegerField(default=0)
    credited_staff = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="order_number_unique"),
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="order_idempotency_unique"),
            models.CheckConstraint(
                condition=Q(paid__gte=0) & Q(paid__lte=models.F("gross") - models.F("credit_applied")),
                name="order_paid_within_due",
            ),
        ]

    @property
    def due(self) -> int:
        return self.gross - self.credit_applied - self.paid


class OrderLineKind(models.TextChoices):
    PACKAGE = "package", "New package"
    TOP_UP = "top_up", "Top-up"
    UPGRADE = "upgrade", "Upgrade"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=16, choices=OrderLineKind.choices, default=OrderLineKind.PACKAGE)
    plan_version = models.ForeignKey("catalogue.PlanVersion", on_delete=models.PROTECT, related_name="order_lines")
    start_date = models.DateField()
    list_total = models.BigIntegerField()
    discount = models.BigIntegerField(default=0)
    net = models.BigIntegerField()
    tax = models.BigIntegerField()
    gross = models.BigIntegerField()
    promotion = models.JSONField(default=dict, blank=True)  # which promotion applied and why
    # top-ups: which package line gets how many sessions
    target_package = models.ForeignKey(
        "packages.Package", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_line = models.ForeignKey(
        "packages.PackageLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sessions = models.PositiveIntegerField(default=0)


class Payment(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=Tender.choices)
    amount = models.BigIntegerField()
    reference = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    # Taken by a payment provider from a stored method (billing.services.charges), not handed to the desk.
    attempt = models.OneToOneField(
        "PaymentAttempt", null=True, blank=True, on_delete=models.PROTECT, related_name="payment"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="payment_idempotency_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]


class Refund(models.Model):
    """A package refund: first patient credit, then (optionally) paid out as a second step."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    package = models.OneToOneField("packages.Package", on_delete=models.PROTECT, related_name="refund")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    suggested = models.BigIntegerField()
    amount = models.BigIntegerField()
    deferred_cleared = models.BigIntegerField()
    tax_credited = models.BigIntegerField(default=0)  # the credit note's tax: no longer owed on the refunded part
    advances_returned = models.BigIntegerField(default=0)  # paid on open top-up orders, cancelled by the refund
    reason = models.TextField()
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="refund_non_negative")]


class CreditPayout(models.Model):
    """Patient credit paid back to a payment method (the refund's second step)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=16, choices=Tender.choices)
    amount = models.BigIntegerField()
    reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_positive"),
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="payout_idempotency_unique"),
        ]


class Counter(models.Model):
    """Gap-free per-tenant sequences (order numbers, receipt numbers), taken under a row lock."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=32)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="counter_unique")]


class ReceiptKind(models.TextChoices):
    SALE = "sale", "Sale (invoice for an order)"
    REDEMPTION = "redemption", "Redemption (visit receipt)"
    REFUND = "refund", "Refund"


class Receipt(models.Model):
    """A numbered receipt or invoice (SPEC §8.7). Its facts are frozen when issued, so every later
    rendering (HTML or PDF) shows exactly the same thing; numbers are gap-free per tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=ReceiptKind.choices)
    subject_id = models.BigIntegerField()  # the order, redemption or refund
    issued_at = models.DateTimeField()
    issued_by = models.CharField(max_length=200)
    facts = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="receipt_number_unique"),
            models.UniqueConstraint(fields=["tenant", "kind", "subject_id"], name="receipt_once_per_subject"),
        ]


# ---------------------------------------------------------------- payment methods and providers (SPEC §10.2)


class PaymentMethodStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DETACHED = "detached", "Detached"


class PaymentMethod(models.Model):
    """A patient's way to pay, kept by a provider (billing.providers): a card on file, or the front desk."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payment_methods")
    provider = models.CharField(max_length=32)
    reference = models.CharField(max_length=200)  # the provider's id for charging it; never a card number
    tender = models.CharField(max_length=16, choices=Tender.choices)  # where its payments post
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4, blank=True)
    expiry_month = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_year = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=PaymentMethodStatus.choices, default=PaymentMethodStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    detached_at = models.DateTimeField(null=True, blank=True)
    detached_by = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="payment_method_idempotency_unique"),
            models.CheckConstraint(
                condition=Q(expiry_month__isnull=True) | Q(expiry_month__gte=1, expiry_month__lte=12),
                name="payment_method_expiry_month",
            ),
        ]


class AttemptKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"


class AttemptOutcome(models.TextChoices):
    PENDING = "pending", "Asked, no answer recorded yet"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class PaymentAttempt(models.Model):
    """One charge (or refund) asked of a provider, by idempotency key: a repeated key is the same attempt,
    so it never moves money twice. Recorded `pending` before the provider is called, settled after."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="attempts")
    kind = models.CharField(max_length=8, choices=AttemptKind.choices, default=AttemptKind.CHARGE)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=250)  # the caller's, or one derived from it (":returned")
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices, default=AttemptOutcome.PENDING)
    reference = models.CharField(max_length=200, blank=True)  # the provider's
    refunds = models.ForeignKey(  # a refund: the charge it gives back
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunded_by"
    )
    failure_code = models.CharField(max_length=32, blank=True)
    message = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="payment_attempt_key_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_attempt_positive"),
        ]


class ProviderAccount(models.Model):
    """A tenant's account with a provider: the public id its webhooks name and the secret they are signed with."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=32)
    account = models.CharField(max_length=64, unique=True)
    webhook_secret = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "provider"], name="provider_account_unique")]


class ProviderEvent(models.Model):
    """A provider webhook, stored once: a repeat of its id is acknowledged and does nothing."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    attempt = models.ForeignKey(PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_once")]


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Waiting for the patient"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"


class Checkout(models.Model):
    """A hosted payment page for an order (SPEC §10a): started here, paid on the provider's page."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=32)
    session = models.CharField(max_length=200, unique=True)  # the provider's id
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="checkouts")
    amount = models.BigIntegerField()
    return_url = models.CharField(max_length=500)
    redirect_url = models.CharField(max_length=500)  # the provider's page the patient is sent to
    status = models.CharField(max_length=16, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    attempt = models.ForeignKey(PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_by = models.CharField(max_length=200)
    started_role = models.CharField(max_length=16)  # the role the payment is recorded with when it completes
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)


class SandboxOperation(models.Model):
    """The test provider's side of things, as a processor keeps it: each answer by idempotency key
    (authorise, capture, refund, checkout), so a repeated key gets the same answer in any process."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16)
    idempotency_key = models.CharField(max_length=250)
    reference = models.CharField(max_length=64, unique=True)
    about = models.CharField(max_length=200, blank=True)  # the method, authorisation or charge it concerns
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, blank=True)
    ok = models.BooleanField()
    failure_code = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "idempotency_key"], name="sandbox_operation_once")
        ]
