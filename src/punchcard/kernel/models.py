"""Stored API responses, so a repeated POST with the same Idempotency-Key gets the first answer."""

from django.db import models


class IdempotencyRecord(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    # Who used the key ("apikey:12", "staff:3"): keys are the caller's own, so one caller never sees
    # another's stored response (rows from before this column have "" and match nobody).
    caller = models.CharField(max_length=64, default="")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "caller", "key"], name="idempotency_caller_key_unique")
        ]
        # The purge deletes by age across tenants.
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]
