"""The package (SPEC §4): an append-only session ledger per line, with balances cached on the line.

Cached columns (granted, redeemed, held, forfeited, deferred_value) change only together with a
SessionEntry carrying the same deltas, in the same transaction; `punchcard reconcile` proves the
sums agree. CHECK constraints make an overdraft impossible whatever the code does.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from punchcard.domain.expiry import ExpiryMode, ExpiryRule
from punchcard.domain.status import Closure
from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant


class Package(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="packages")
    plan_version = models.ForeignKey("catalogue.PlanVersion", on_delete=models.PROTECT, related_name="packages")
    order_line = models.ForeignKey(
        "billing.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="packages"
    )
    sold_at = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    price_gross = models.BigIntegerField()
    price_net = models.BigIntegerField()
    purchased_on = models.DateField()  # local date at the selling centre
    start_date = models.DateField()
    # The package's own copy of its expiry terms (SPEC §4.3); a manager may change expires_on.
    expiry = models.JSONField(default=dict)
    expiry_mode = models.CharField(max_length=8, default=ExpiryMode.HARD)
    grace_days = models.PositiveIntegerField(default=0)
    expires_on = models.DateField(null=True, blank=True)  # last valid local day; None = no expiry (yet)
    expiry_overridden = models.BooleanField(default=False)
    first_used_on = models.DateField(null=True, blank=True)
    closure = models.CharField(max_length=16, choices=[(c.value, c.value) for c in Closure], null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    closed_reason = models.TextField(blank=True)
    credited_staff = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    upgraded_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    activated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "holder"]),
            models.Index(fields=["tenant", "expires_on"]),
        ]

    def __str__(self):
        return f"Package {self.pk} ({self.plan_version.name})"

    @property
    def expiry_rule(self) -> ExpiryRule:
        return ExpiryRule.from_dict(self.expiry)


class PackageLine(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="lines")
    plan_line = models.ForeignKey("catalogue.PlanLine", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=200)
    service_ids = models.JSONField(default=list)  # copied from the plan line: the services it covers
    list_price = models.BigIntegerField()
    patient_pays = models.BigIntegerField(default=0)
    granted = models.IntegerField(default=0)
    redeemed = models.IntegerField(default=0)
    held = models.IntegerField(default=0)
    forfeited = models.IntegerField(default=0)  # expired, cancelled, completed or refunded sessions
    deferred_value = models.BigIntegerField(default=0)  # minor units not yet recognised

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(redeemed__gte=0)
                & Q(held__gte=0)
                & Q(forfeited__gte=0)
                & Q(deferred_value__gte=0)
                & Q(granted__gte=F("redeemed") + F("forfeited") + F("held")),
                name="package_line_no_overdraft",
            ),
        ]

    @property
    def remaining(self) -> int:
        return self.granted - self.redeemed - self.forfeited

    @property
    def available(self) -> int:
        return self.remaining - self.held


class Beneficiary(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="beneficiaries")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()
    added_by = models.CharField(max_length=200)
    removed_at = models.DateTimeField(null=True, blank=True)  # kept, never deleted: usage history needs it
    removed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["package", "patient"], condition=Q(removed_at__isnull=True), name="beneficiary_unique"
            )
        ]


class HoldState(models.TextChoices):
    PENDING = "pending", "Pending"
    POSTED = "posted", "Posted"
    RELEASED = "released", "Released"


class Hold(models.Model):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # a composite index leads with it
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="holds")
    line = models.ForeignKey(PackageLine, on_delete=models.PROTECT, related_name="holds")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "appointments.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="holds"
    )
    day = models.DateField()
    sessions = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=HoldState.choices, default=HoldState.PENDING)
    placed_at = models.DateTimeField()
    placed_by = models.CharField(max_length=200)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="hold_idempotency_unique"),
            models.CheckConstraint(condition=Q(sessions__gte=1), name="hold_sessions_min"),
        ]


class Redemption(models.Model):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # a composite index leads with it
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="redemptions", db_index=False)
    line = models.ForeignKey(PackageLine, on_delete=models.PROTECT, related_name="redemptions")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "appointments.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions"
    )
    hold = models.OneToOneField(Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="redemption")
    day = models.DateField()  # local date at the redeeming centre
    at = models.DateTimeField()
    sessions = models.PositiveIntegerField()
    value = models.BigIntegerField()  # allocated value recognised, minor units
    in_grace = models.BooleanField(default=False)
    redeemed_by = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.CharField(max_length=200, blank=True)
    void_reason = models.TextField(blank=True)
    void_approver = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="redemption_idempotency_unique"),
            # One live redemption per appointment and line (DESIGN rule 3); a voided one frees the slot.
            models.UniqueConstraint(
                fields=["appointment", "line"],
                condition=Q(voided_at__isnull=True),
                name="redemption_once_per_appointment_line",
            ),
            models.CheckConstraint(condition=Q(sessions__gte=1) & Q(value__gte=0), name="redemption_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "day"]), models.Index(fields=["package", "day"])]


class EntryKind(models.TextChoices):
    GRANT = "grant"
    HOLD = "hold"
    RELEASE = "release"
    REDEEM = "redeem"
    VOID = "void"
    EXPIRE = "expire"
    CANCEL = "cancel"
    TRANSFER = "transfer"
    TOP_UP = "top_up"
    ADJUST = "adjust"
    # A package brought from another system: its grant (granted, the allocated value) and the sessions it
    # had used there (redeemed, their value), recorded as history: that revenue was earned in the old books.
    IMPORT = "import"


class SessionEntry(models.Model):
    """One append-only entry of a line's session ledger. Never updated, never deleted."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="entries")
    line = models.ForeignKey(PackageLine, on_delete=models.PROTECT, related_name="entries", db_index=False)
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    granted = models.IntegerField(default=0)
    redeemed = models.IntegerField(default=0)
    held = models.IntegerField(default=0)
    forfeited = models.IntegerField(default=0)
    value = models.BigIntegerField(default=0)  # change in deferred value
    hold = models.ForeignKey(Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    redemption = models.ForeignKey(Redemption, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["line", "id"])]


class ExpiryChange(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="expiry_changes")
    old_expires_on = models.DateField(null=True, blank=True)
    new_expires_on = models.DateField(null=True, blank=True)
    reason = models.TextField()
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)


class Transfer(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="transfers")
    from_patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    to_patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)


class ReminderSettings(models.Model):
    """A tenant's reminder rules: `package.expiring_soon` so many days before the last day (e.g. 14 and 3)
    and `package.low_balance` when the sessions left fall to the threshold. Absent: the defaults."""

    DEFAULT_DAYS = (14, 3)
    DEFAULT_LOW_BALANCE = 2

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="+")
    days_before_expiry = models.JSONField(default=list)
    low_balance_sessions = models.PositiveIntegerField(default=DEFAULT_LOW_BALANCE)
    updated_at = models.DateTimeField()


class PackageNotice(models.Model):
    """An event told once per package: `activated`, or `expiring_soon` for a number of days (key)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=32, blank=True)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "kind", "key"], name="package_notice_once")]
