"""Orders, payments, refunds and patient credit (SPEC §3, §8.2)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from punchcard.tenancy.models import Centre, Patient, StaffMember, Tenant


class OrderStatus(models.TextChoices):
    OPEN = "open", "Open (awaiting payment)"
    PAID = "paid", "Paid"
    PAY_LATER = "pay_later", "Activated, payment due later"
    CANCELLED = "cancelled", "Cancelled"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    EXTERNAL = "external", "External processor"
    CREDIT = "credit", "Patient credit"


class Order(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    # Gap-free per tenant; null only inside the transaction that places the order (numbered last).
    number = models.PositiveIntegerField(null=True)
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
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    amount = models.BigIntegerField()
    reference = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)

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
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
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
    number = models.PositiveIntegerField(null=True)  # null only inside the issuing transaction (numbered last)
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
