"""Moving in from another system (SPEC §10a): each run of an import file, and each row it brought in.

An ImportedRecord is keyed by (tenant, source system, kind, source id), so a file can be run again: a row
imported before is counted as unchanged (the same digest) or reported as changed (another digest), never
imported twice. A dry run keeps its ImportRun (what it would have done), never a record.
"""

from __future__ import annotations

from django.db import models

from punchcard.tenancy.models import Tenant


class ImportKind(models.TextChoices):
    PACKAGES = "packages", "Packages"


class ImportRun(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    source_system = models.CharField(max_length=64)
    file_name = models.CharField(max_length=200, blank=True)
    file_digest = models.CharField(max_length=64)  # SHA-256 of the file's bytes
    dry_run = models.BooleanField()
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    patients_created = models.PositiveIntegerField(default=0)
    plans_created = models.PositiveIntegerField(default=0)
    # The refused and changed rows (line, source id, column, code, message), as the report lists them.
    problems = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=200)
    at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "at"])]


class ImportedRecord(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    source_system = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    source_id = models.CharField(max_length=100)
    row_digest = models.CharField(max_length=64)  # SHA-256 of the row's values, to tell a changed row
    run = models.ForeignKey(ImportRun, on_delete=models.PROTECT, related_name="records")
    package = models.ForeignKey("packages.Package", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    line = models.PositiveIntegerField()  # the row's line in the file it came from

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source_system", "kind", "source_id"], name="imported_record_unique"
            )
        ]
