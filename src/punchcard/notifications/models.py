"""The outbox (one row per domain event), webhook endpoints and their deliveries, and email sends."""

from django.db import models

from punchcard.tenancy.models import Patient, Tenant


class OutboxEvent(models.Model):
    """A domain event, written in the transaction of the change it reports. `id` is the API's cursor."""

    event_id = models.CharField(max_length=40, unique=True)  # "evt_…": stable, the webhook-id
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # a composite index leads with it
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    version = models.PositiveSmallIntegerField(default=1)
    payload = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["tenant", "type", "id"])]


class WebhookEndpoint(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    event_types = models.JSONField(default=list)  # ["redemption.created", …] or ["*"]
    secret = models.CharField(max_length=100)  # whsec_…: needed in clear to sign
    previous_secret = models.CharField(max_length=100, blank=True)  # still signed with, until previous_until
    previous_until = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # retries exhausted, or the endpoint answered 410


class Delivery(models.Model):
    """One event for one endpoint: attempted until delivered or given up, in event order per endpoint."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)  # a worker is sending it until then
    lease_token = models.CharField(max_length=40, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")]
        indexes = [models.Index(fields=["state", "endpoint", "event"])]


class Attempt(models.Model):
    """Every attempt to send a delivery, whatever its outcome."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16)  # delivered | retry | failed | disabled
    error = models.CharField(max_length=500, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)


class EmailState(models.TextChoices):
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"  # opted out, or no address
    FAILED = "failed"


class EmailSend(models.Model):
    """One email for one event and recipient: recorded before it is sent, so it is sent at most once."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="+")
    recipient = models.CharField(max_length=254)
    patient = models.ForeignKey(Patient, null=True, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=EmailState.choices, default=EmailState.SENDING)
    subject = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "recipient"], name="email_once_per_recipient")]


class NotificationPreference(models.Model):
    """A patient's choice for one category of email ("reminders", "receipts"): absent means opted in."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=32)
    opted_out = models.BooleanField(default=False)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "category"], name="preference_once_per_category")]


class EmailSettings(models.Model):
    """Which events email patients, per tenant (the reminder days and threshold live with packages)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="+")
    email_events = models.JSONField(default=list)
    updated_at = models.DateTimeField()
