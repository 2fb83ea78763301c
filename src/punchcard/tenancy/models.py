"""Tenants, their centres, staff, patients, services, API keys, and the audit trail."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from punchcard.domain.roles import Role

ROLE_CHOICES = [(role.value, role.label) for role in Role]


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    currency = models.CharField(max_length=3, default="INR")
    locale = models.CharField(max_length=16, default="en_IN")
    # Tenant settings: no-show fees, default no-show choice, loyalty tiers... (validated by services)
    settings = models.JSONField(default=dict, blank=True)
    # The zone the books are kept in (accounting periods end at its midnight); blank: the first centre's.
    time_zone = models.CharField(max_length=64, blank=True, default="")
    # A sandbox tenant (for trying things out, e.g. with the memberships test clock); never a real clinic.
    sandbox = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    def __str__(self):
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        if self.time_zone:
            return zoneinfo.ZoneInfo(self.time_zone)
        cached = self.__dict__.get("_first_centre_zone")
        if cached is None:
            centre = self.centres.order_by("id").first() if self.pk else None
            cached = centre.zone if centre else zoneinfo.ZoneInfo("UTC")
            if centre is not None:
                self.__dict__["_first_centre_zone"] = cached
        return cached

    def today(self, now) -> dt.date:
        """The tenant's local date at an instant."""
        return now.astimezone(self.zone).date()


def validate_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone") from None


class Centre(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="centres")
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=64)
    timezone = models.CharField(max_length=64, validators=[validate_zone])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="centre_code_unique")]

    def __str__(self):
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class StaffMember(models.Model):
    """A person who works for a tenant: a login user, a practitioner credited with sessions, or both."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="staff")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="staff_member"
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.FRONT_DESK)
    is_practitioner = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    def __str__(self):
        return self.name


class Patient(models.Model):
    """Minimal patient data (SPEC §13): a reference into the clinic's own system, a name, a contact."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="patients")
    external_ref = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "external_ref"], name="patient_ref_unique")]

    def __str__(self):
        return f"{self.name} ({self.external_ref})"


class Service(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="services")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    list_price = models.BigIntegerField()  # minor units
    delivery_cost = models.BigIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="service_code_unique"),
            models.CheckConstraint(
                condition=models.Q(list_price__gte=0, delivery_cost__gte=0), name="service_amounts_non_negative"
            ),
        ]

    def __str__(self):
        return self.name


class ApiKey(models.Model):
    """An integration's key: shown once at creation, stored as an HMAC-SHA256 digest under the server's pepper
    (settings.API_KEY_PEPPER); `keyed` false marks a key stored before that (plain SHA-256), re-hashed at its
    first use."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)  # public part, to find the row and show in lists
    digest = models.CharField(max_length=64)
    keyed = models.BooleanField(default=True)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.prefix}…, {self.role})"


class AuditEvent(models.Model):
    """Who did what, when, from where and why. Written by services in the same transaction; never edited."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    action = models.CharField(max_length=64)
    actor = models.CharField(max_length=200)  # "staff:12 Asha", "apikey:pk_ab12 (scheduler)", "cli"
    source = models.CharField(max_length=200, blank=True)  # centre, API key, "cli", "sweep"
    reason = models.TextField(blank=True)
    subject_type = models.CharField(max_length=64)
    subject_id = models.BigIntegerField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "subject_type", "subject_id"])]


class TestClock(models.Model):
    """A sandbox tenant's own clock (SPEC §10.4): its `now` is the tenant's time while anything works for it,
    moved only by `tenancy.testclock.advance_test_clock`. A live tenant never has one. The row is also what
    advances serialise on (a lease taken under FOR NO KEY UPDATE): nothing locks the tenant row."""

    __test__ = False  # not a pytest test class, whatever its name

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="test_clock")
    now = models.DateTimeField()
    # Who is advancing it (an advance's random token) and until when, in real time (clock.wall()): a lease,
    # renewed at every step, so a crashed advance frees the clock by itself.
    lease_token = models.CharField(max_length=32, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self):
        return f"{self.tenant} at {self.now.isoformat()}"
