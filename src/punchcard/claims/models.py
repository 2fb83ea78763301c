"""Claim codes for bulk orders, gifts and transfers (SPEC §7, §9).

Claim codes and money (the design choice): a bulk or gift order has one order line per code. When
the order is paid, each line's price is a contract liability like any sale, but no package exists
yet: the net value is *held on the claim code* (ClaimCode.deferred_value), posted to deferred
revenue without a package line, in journal entries whose event is ("claim_code", id). Claiming
creates the package in the claimant's name and moves the held value onto its lines (a "claim"
entry: deferred revenue debited on the code, credited on the package lines), so the package's
own ledger starts exactly like a sold one. An unclaimed code that expires turns its held value
into breakage; a revoked one is refunded to the buyer's credit or forfeited (breakage).
billing.selectors.money_problems checks, per code, that the held value equals its journal postings.

The codes themselves are never stored: only their SHA-256 digest and last four symbols. They are
shown once, when made; a lost code is reissued: the same record (and held value) gets a new code.

The tables keep the names they had when claim codes were part of promotions (`db_table`), so moving
the models here changed no schema; index names derive from the table name and stay the same too.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from punchcard.tenancy.models import Patient, Tenant


class ClaimKind(models.TextChoices):
    BULK = "bulk", "Bulk order (a company buys packages for others)"
    GIFT = "gift", "Gift (a package bought for someone else)"
    TRANSFER = "transfer", "Transfer of an existing package"


class ClaimStatus(models.TextChoices):
    UNPAID = "unpaid", "Waiting for the order to be paid"
    OPEN = "open", "Can be claimed"
    CLAIMED = "claimed", "Claimed"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired unclaimed"


class ClaimCode(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=ClaimKind.choices)
    status = models.CharField(max_length=16, choices=ClaimStatus.choices)
    digest = models.CharField(max_length=64)  # SHA-256 of the canonical code
    hint = models.CharField(max_length=8)  # its last four symbols
    buyer = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")  # payer / giver / holder
    order_line = models.OneToOneField(
        "billing.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="claim_code"
    )
    # TRANSFER: the package that moves. BULK/GIFT: the package made when the code is claimed.
    package = models.ForeignKey("packages.Package", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deferred_value = models.BigIntegerField(default=0)  # net value held until claimed (BULK/GIFT, paid)
    gross = models.BigIntegerField(default=0)  # what the buyer pays for this code
    recipient = models.CharField(max_length=200, blank=True)  # a gift's "for", free text
    message = models.CharField(max_length=500, blank=True)
    expires_on = models.DateField(null=True, blank=True)  # last local day it can be claimed
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    opened_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimant = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)  # revoked or expired
    closed_by = models.CharField(max_length=200, blank=True)
    closed_reason = models.TextField(blank=True)
    reissued = models.PositiveIntegerField(default=0)  # times the code was replaced (lost), same value

    class Meta:
        db_table = "promotions_claimcode"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "digest"], name="claim_code_digest_unique"),
            models.CheckConstraint(
                condition=Q(deferred_value__gte=0) & Q(gross__gte=0), name="claim_code_amounts_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "expires_on"])]

    def __str__(self):
        return f"claim code …{self.hint} ({self.kind}, {self.status})"


class ClaimGuessCounter(models.Model):
    """Claim attempts counted in one bucket (a caller, or a code prefix) in its current window (claims.throttle)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    bucket = models.CharField(max_length=200)  # "caller:apikey:pc_ab12cd34", "caller:staff:12", "prefix:7K3M"
    window_start = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "bucket"], name="claim_guess_bucket_unique")]
