"""The double-entry journal (SPEC §8.5): the source of every money figure.

Entries are append-only; a correction is a new entry that `reverses` the original. Each entry's
postings sum to zero: the code builds them balanced (domain.posting), the entry stores its debit
and credit totals under a CHECK that they are equal, and on PostgreSQL a deferred constraint
trigger re-adds the postings at commit.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from punchcard.tenancy.models import Centre, Patient, Tenant


class Account(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="accounts")
    role = models.CharField(max_length=32)  # domain.posting.Role
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16)  # Assets, Liabilities, Equity, Income, Expenses

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "role"], name="account_role_unique"),
            models.UniqueConstraint(fields=["tenant", "code"], name="account_code_unique"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class JournalEntry(models.Model):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # a composite index leads with it
    at = models.DateTimeField()
    date = models.DateField()  # local accounting date at the centre where it happened
    kind = models.CharField(max_length=32)  # sale, payment, redemption, void, breakage, refund, ...
    memo = models.CharField(max_length=300)
    currency = models.CharField(max_length=3)
    # The business event that caused it, e.g. ("redemption", 42).
    event_type = models.CharField(max_length=32)
    event_id = models.BigIntegerField()
    centre = models.ForeignKey(Centre, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    total_debit = models.BigIntegerField()
    total_credit = models.BigIntegerField()
    # A late entry: the day it belongs to, which fell in a closed period (`date` is then the first open day).
    original_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_debit=F("total_credit")) & Q(total_debit__gt=0), name="journal_entry_balanced"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "date"]), models.Index(fields=["event_type", "event_id"])]


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_index=False
    )  # a composite index leads with it
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount = models.BigIntegerField()  # + debit, − credit, minor units
    package = models.ForeignKey(
        "packages.Package", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    package_line = models.ForeignKey(
        "packages.PackageLine", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    centre = models.ForeignKey(Centre, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="posting_non_zero")]
        indexes = [models.Index(fields=["account", "package"]), models.Index(fields=["tenant", "patient"])]


class AccountingPeriod(models.Model):
    """A closed accounting period (a calendar month in the tenant's zone): nothing posts into it any more.

    Only closed months have a row; the closed ones always run without a gap up to the latest."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    month = models.DateField()  # its first day
    closed_at = models.DateTimeField()
    closed_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["month"]
        constraints = [models.UniqueConstraint(fields=["tenant", "month"], name="accounting_period_unique")]

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")
