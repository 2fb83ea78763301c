"""Stored API responses, so a repeated POST with the same Idempotency-Key gets the first answer."""

from django.db import models


class IdempotencyRecord(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_key_unique")]
        # The purge deletes by age across tenants.
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]
