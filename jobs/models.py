from django.db import models


class JobRun(models.Model):
    """One run of a scheduled job, by beat, a worker or by hand, with what it did."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule (beat)"
        COMMAND = "command", "By hand (runjob)"
        ADMIN = "admin", "From the admin"

    job = models.CharField(max_length=60, db_index=True)
    as_of = models.DateTimeField()
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="Host and process")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_job_started_idx")]

    def __str__(self) -> str:
        return f"{self.job} as of {self.as_of:%Y-%m-%d %H:%M} ({self.outcome})"

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at
