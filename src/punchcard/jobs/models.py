"""One row per (job, due slot) that has been enqueued: the unique key that makes `tick` enqueue once."""

from django.db import models


class Due(models.Model):
    job = models.CharField(max_length=64)
    slot = models.CharField(max_length=100)  # "2026-12-01T10:05Z", "Asia/Kolkata/2026-12-02", …
    enqueued_at = models.DateTimeField()
    task_id = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="job_due_slot_unique")]
        indexes = [models.Index(fields=["enqueued_at"])]
