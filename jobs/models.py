from django.db import models
from django.db.models import Q


class JobRun(models.Model):
    """One run of a scheduled job, by beat, a worker or by hand, with what it did.

    A run is split into batches (JobBatch) that the workers share; the run finishes when its
    last batch does, and its counts are the sum of its batches' counts."""

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
    # The schedule's minute this run answers (beat's runs only): a second beat process, or a
    # catch-up, sending the same minute again finds it taken and starts nothing.
    slot = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="Host and process")
    batches = models.PositiveIntegerField(default=0, help_text="Batches the run was split into")
    queue = models.CharField(max_length=200, blank=True, help_text="Celery queue of its batches")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_job_started_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "slot"],
                condition=Q(slot__isnull=False),
                name="jobrun_one_run_per_slot",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} as of {self.as_of:%Y-%m-%d %H:%M} ({self.outcome})"

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class JobBatch(models.Model):
    """A bounded share of a run: the job's due items with ids in (low, high], run as one
    Celery task. A batch whose worker died (no heartbeat for JOB_BATCH_LEASE) is claimed again
    by the task's redelivery or by the sweep; the job's own claims make a second pass over
    done items a no-op."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="batch_set")
    number = models.PositiveIntegerField()
    # None for a job that is not split (or a dry run): the whole job in one batch.
    low = models.BigIntegerField(null=True, blank=True)
    high = models.BigIntegerField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0, help_text="Due items when planned")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="jobbatch_unique_number")
        ]
        indexes = [
            models.Index(
                fields=["state", "heartbeat_at"],
                condition=Q(state__in=["pending", "running"]),
                name="jobbatch_unfinished_idx",
            ),
            # Failed batches are few among many: the metrics count them at every scrape.
            models.Index(fields=["run"], condition=Q(state="failed"), name="jobbatch_failed_idx"),
        ]

    def __str__(self) -> str:
        return f"batch {self.number} of run #{self.run_id} ({self.state})"

    @property
    def within(self) -> tuple[int, int] | None:
        return None if self.low is None else (self.low, self.high)
