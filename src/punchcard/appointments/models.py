"""Appointments as Punchcard sees them: the scheduling system's booking, linked to holds and redemptions.

An appointment is created and changed only through appointments.services (staff flows, the API and
the event intake). Which package covers it is read from its live hold or redemption (packages app);
`package` records the package currently applied, for quick reads.

Money that an appointment causes besides the package (SPEC §5):
- AppointmentCharge: a co-pay (the line's patient-pays amount, on redemption) or a no-show fee. Each is a
  journal entry (Dr receivable / Cr fee revenue) tagged with the patient; a reversal is a reversing entry.
- CommissionCredit: what a staff member earned for a sale or a redeemed session (never both for one
  package). Each is a journal entry (Dr commission expense / Cr commission payable).

AppointmentEvent keeps every status event received from the scheduling system (our JSON or FHIR),
accepted, rejected (with the error, for review) or recognised as a duplicate.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    NO_SHOW = "noshow", "No-show"
    CANCELLED = "cancelled", "Cancelled"


class NoShowChoice(models.TextChoices):
    REDEEM = "redeem", "Redeem a session (billed like an arrival)"
    FEE = "fee", "Release the hold and charge a no-show fee"


class Appointment(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=200)
    # The patient whose appointment it is (charges go to their account) and, when someone else attends
    # (a family member using the family head's booking), the beneficiary who uses the session.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    beneficiary = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    package = models.ForeignKey(
        "packages.Package", null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    no_show_choice = models.CharField(max_length=8, choices=NoShowChoice.choices, blank=True)
    # The scheduling system's own last-modified time of the last event applied (FHIR meta.lastUpdated):
    # an older event arriving late is recorded and ignored.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], name="appointment_external_unique"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="appointment_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "patient", "start"]), models.Index(fields=["tenant", "start"])]

    def __str__(self):
        return f"Appointment {self.external_id} ({self.status})"

    @property
    def person_id(self) -> int:
        """Who uses the session: the beneficiary when one is named, else the patient."""
        return self.beneficiary_id or self.patient_id


class ChargeKind(models.TextChoices):
    COPAY = "copay", "Patient pays (co-pay)"
    NO_SHOW_FEE = "no_show_fee", "No-show fee"


class AppointmentCharge(models.Model):
    """An amount to collect for an appointment; visible on the appointment and in the patient's account."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="charges")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointment_charges")
    kind = models.CharField(max_length=16, choices=ChargeKind.choices)
    code = models.CharField(max_length=64, blank=True)  # the no-show fee's code
    description = models.CharField(max_length=200)
    amount = models.BigIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    redemption = models.ForeignKey(
        "packages.Redemption", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.CharField(max_length=200, blank=True)
    reversal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="appointment_charge_positive"),
            models.UniqueConstraint(
                fields=["redemption"],
                condition=Q(reversed_at__isnull=True, kind="copay"),
                name="appointment_copay_once_per_redemption",
            ),
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(reversed_at__isnull=True, kind="no_show_fee"),
                name="appointment_one_live_no_show_fee",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "patient"])]


class CommissionEvent(models.TextChoices):
    SALE = "sale", "Package sale"
    REDEMPTION = "redemption", "Redeemed session"


class CommissionCredit(models.Model):
    """A staff member's commission for one event: amount = base × rate_bp / 10000 (rounded half up)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="commission_credits")
    event_type = models.CharField(max_length=16, choices=CommissionEvent.choices)
    event_id = models.BigIntegerField()  # the package (sale) or the redemption
    package = models.ForeignKey("packages.Package", on_delete=models.PROTECT, related_name="commission_credits")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="commission_credits"
    )
    base_amount = models.BigIntegerField()
    rate_bp = models.PositiveIntegerField()
    amount = models.BigIntegerField()
    day = models.DateField()  # local accounting date
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.CharField(max_length=200, blank=True)
    reversal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(base_amount__gte=0) & Q(amount__gte=0), name="commission_non_negative"),
            models.UniqueConstraint(
                fields=["tenant", "event_type", "event_id"],
                condition=Q(reversed_at__isnull=True),
                name="commission_once_per_event",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "staff", "day"])]


class EventStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected (kept for review)"
    DUPLICATE = "duplicate", "Duplicate (already applied)"


class AppointmentEvent(models.Model):
    """One status event from the scheduling system, as received, and what became of it. Never deleted."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16)  # "json", "fhir-r4", "fhir-r5"
    external_id = models.CharField(max_length=200, blank=True)
    event_status = models.CharField(max_length=32, blank=True)  # the status the event carried
    dedupe_key = models.CharField(max_length=300)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=EventStatus.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    error_field = models.CharField(max_length=100, blank=True)
    outcome = models.TextField(blank=True)  # what the event did (or why it changed nothing)
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries")
    received_at = models.DateTimeField()
    actor = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]
        constraints = [
            # An event is applied at most once; duplicates and rejected deliveries are kept beside it.
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"], condition=Q(status="accepted"), name="appointment_event_applied_once"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "id"]), models.Index(fields=["tenant", "external_id"])]


class AppointmentSettings(models.Model):
    """A tenant's appointment settings, in a row of their own: a settings write locks this row, never the
    tenant's (DESIGN rule 10). No row yet means the defaults."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="+")
    no_show_fees = models.JSONField(default=list)  # [{code, name, amount}], amounts in minor units
    no_show_default = models.CharField(max_length=16, choices=NoShowChoice.choices, default=NoShowChoice.REDEEM)
    no_show_default_fee = models.CharField(max_length=64, null=True, blank=True)
    commission_rate_bp = models.PositiveIntegerField(null=True, blank=True)  # None: the default rate
