"""The catalogue (SPEC §2): plans and their versions. A sold version is never edited."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

from punchcard.domain.eligibility import Scope, UsageCaps
from punchcard.domain.expiry import ExpiryKind, ExpiryMode, ExpiryRule
from punchcard.tenancy.models import Centre, Service, Tenant


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ON_SALE = "on_sale", "On sale"
    RETIRED = "retired", "Retired"


class PlanKind(models.TextChoices):
    PACKAGE = "package", "Package plan (sold on its own)"
    # A membership plan version's benefits per period: entitlement lines of a package's shape, never sold on
    # their own; each paid period of a membership opens them as a package (SPEC §10.1).
    MEMBERSHIP_BENEFITS = "membership_benefits", "Membership benefits (never sold on their own)"


class CommissionPolicy(models.TextChoices):
    ON_SALE = "on_sale", "On sale"
    ON_REDEMPTION = "on_redemption", "On redemption"


class PackageType(models.Model):
    """Tenant-configurable category: Therapy, Preventive, Premium, …"""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="package_types")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="package_type_unique")]

    def __str__(self):
        return self.name


class Plan(models.Model):
    """A SKU. Its terms live in versions; the newest version is the one sold."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="plans")
    code = models.SlugField(max_length=64)
    kind = models.CharField(max_length=24, choices=PlanKind.choices, default=PlanKind.PACKAGE)
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    # Patients may buy it themselves in the portal while it is on sale (a selling choice, not a sold term:
    # it belongs to the plan, not to a version).
    sold_online = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="plan_code_unique"),
            # Benefits are never on sale: nothing can sell them as a package.
            models.CheckConstraint(
                condition=~Q(kind="membership_benefits") | Q(status="draft"), name="plan_benefits_never_on_sale"
            ),
        ]

    def __str__(self):
        return self.code

    @property
    def current(self) -> PlanVersion:
        return self.versions.order_by("-number").first()


class PlanVersion(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    package_type = models.ForeignKey(PackageType, null=True, blank=True, on_delete=models.PROTECT)
    price = models.BigIntegerField()  # minor units, as charged (tax included or not per tax_inclusive)
    currency = models.CharField(max_length=3)
    tax_rate_bp = models.PositiveIntegerField(default=0)  # basis points: 1800 = 18 %
    tax_inclusive = models.BooleanField(default=True)
    expiry = models.JSONField(default=dict)  # domain.expiry.ExpiryRule.to_dict()
    expiry_mode = models.CharField(max_length=8, default=ExpiryMode.HARD)
    grace_days = models.PositiveIntegerField(default=0)
    scope = models.CharField(max_length=8, default=Scope.SINGLE)
    centres = models.ManyToManyField(Centre, blank=True, related_name="+")  # for the 'listed' scope
    shareable = models.BooleanField(default=False)
    max_beneficiaries = models.PositiveIntegerField(default=1)  # counts the holder
    transferable = models.BooleanField(default=False)
    blackout_dates = models.JSONField(default=list, blank=True)  # ISO dates
    cap_per_day = models.PositiveIntegerField(null=True, blank=True)
    cap_per_week = models.PositiveIntegerField(null=True, blank=True)
    cap_per_month = models.PositiveIntegerField(null=True, blank=True)
    min_gap_days = models.PositiveIntegerField(null=True, blank=True)
    sale_from = models.DateField(null=True, blank=True)
    sale_to = models.DateField(null=True, blank=True)
    commission_policy = models.CharField(
        max_length=16, choices=CommissionPolicy.choices, default=CommissionPolicy.ON_REDEMPTION
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="plan_price_non_negative"),
            models.CheckConstraint(condition=Q(max_beneficiaries__gte=1), name="plan_beneficiaries_min"),
        ]

    def __str__(self):
        return f"{self.name} v{self.number}"

    @property
    def expiry_rule(self) -> ExpiryRule:
        return ExpiryRule.from_dict(self.expiry)

    @property
    def total_sessions(self) -> int:
        return sum(line.sessions + line.bonus_sessions for line in self.lines.all())

    def caps(self) -> UsageCaps:
        return UsageCaps(self.cap_per_day, self.cap_per_week, self.cap_per_month, self.min_gap_days)

    def blackout_set(self) -> frozenset[dt.date]:
        return frozenset(dt.date.fromisoformat(d) for d in self.blackout_dates)

    @property
    def fixed_expiry(self) -> dt.date | None:
        """The fixed expiry date every package of this version shares, if its rule is a fixed date."""
        rule = self.expiry_rule
        return rule.fixed_date if rule.kind is ExpiryKind.FIXED_DATE else None

    def expired_on(self, day: dt.date) -> bool:
        """True when a package sold on `day` would be expired at once (its fixed expiry has passed)."""
        fixed = self.fixed_expiry
        return fixed is not None and day > fixed

    def sale_warnings(self, today: dt.date) -> list[str]:
        """What is wrong with the sale window against a fixed expiry (shown with the plan, never silent)."""
        fixed = self.fixed_expiry
        if fixed is None:
            return []
        if today > fixed:
            return [f"the fixed expiry {fixed.isoformat()} has passed: the plan cannot be sold"]
        if self.sale_to is None:
            return [f"the plan has no last sale date and expires on {fixed.isoformat()}: it cannot be sold after that"]
        if self.sale_to > fixed:
            return [
                f"the last sale date {self.sale_to.isoformat()} is after the fixed expiry {fixed.isoformat()}: "
                "sales after the expiry are refused"
            ]
        return []

    def on_sale(self, day: dt.date) -> bool:
        return (
            self.plan.status == PlanStatus.ON_SALE
            and (self.sale_from is None or day >= self.sale_from)
            and (self.sale_to is None or day <= self.sale_to)
        )


class PlanLine(models.Model):
    """An entitlement line: one service, or a pool of services, and how many sessions."""

    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=200)
    services = models.ManyToManyField(Service, related_name="+")
    sessions = models.PositiveIntegerField()
    bonus_sessions = models.PositiveIntegerField(default=0)
    patient_pays = models.BigIntegerField(default=0)  # co-pay per redeemed session, minor units
    top_up_price = models.BigIntegerField(null=True, blank=True)  # per session; None: no top-ups

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(sessions__gte=1), name="plan_line_sessions_min"),
            models.CheckConstraint(condition=Q(patient_pays__gte=0), name="plan_line_copay_non_negative"),
        ]

    def __str__(self):
        return self.label
