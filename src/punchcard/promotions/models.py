"""Promotions (SPEC §9): Buy N Free M, percent or fixed off, loyalty tiers; by code and/or automatic.

Claim codes (bulk orders, gifts, transfers) are the claims app's.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from punchcard.tenancy.models import Tenant

from .rules import Kind


class Promotion(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    # What a patient types (upper case); blank for a promotion that only applies automatically.
    code = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in Kind])
    automatic = models.BooleanField(default=False)  # applies without a code
    stackable = models.BooleanField(default=False)  # may combine with other stackable promotions
    priority = models.PositiveIntegerField(default=100)  # lower first (ties, and stacking order)
    plans = models.ManyToManyField("catalogue.Plan", blank=True, related_name="+")  # none: every plan
    valid_from = models.DateField(null=True, blank=True)  # sale window, local dates, inclusive
    valid_to = models.DateField(null=True, blank=True)
    percent_bp = models.PositiveIntegerField(default=0)  # PERCENT: 1000 = 10 %
    amount = models.BigIntegerField(default=0)  # FIXED: minor units off each line
    buy = models.PositiveIntegerField(default=0)  # BONUS_SESSIONS: buy N ...
    free = models.PositiveIntegerField(default=0)  # ... free M
    tiers = models.JSONField(default=list, blank=True)  # LOYALTY: [{"min": 1, "max": 2, "percent_bp": 500}, …]
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], condition=~Q(code=""), name="promotion_code_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(percent_bp__lte=10_000), name="promotion_amounts"),
        ]

    def __str__(self):
        return self.name
