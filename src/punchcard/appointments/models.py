"""Appointments as Punchcard sees them: the scheduling system's booking, linked to holds and redemptions."""
from __future__ import annotations

from django.db import models

from punchcard.tenancy.models import Centre, Patient, Service, StaffMember, Tenant


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    NO_SHOW = "noshow", "No-show"
    CANCELLED = "cancelled", "Cancelled"


class Appointment(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=200)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    beneficiary = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    package = models.ForeignKey("packages.Package", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="appointments")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "external_id"], name="appointment_external_unique")]
