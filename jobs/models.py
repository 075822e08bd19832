from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    """One run of a scheduled job, by beat, a worker or by hand, with what it did.

    A run is split into batches (JobBatch) that the workers share; the run finishes when its
    last batch does, and its counts are the sum of its batches' counts."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule (beat)")
        COMMAND = "command", _("By hand (runjob)")
        ADMIN = "admin", _("From the admin")

    job = models.CharField(max_length=60, db_index=True, verbose_name=_("job"))
    as_of = models.DateTimeField(verbose_name=_("as of"))
    dry_run = models.BooleanField(default=False, verbose_name=_("dry run"))
    trigger = models.CharField(max_length=16, choices=Trigger.choices, verbose_name=_("trigger"))
    # The schedule's minute this run answers (beat's runs only): a second beat process, or a
    # catch-up, sending the same minute again finds it taken and starts nothing.
    slot = models.DateTimeField(null=True, blank=True, verbose_name=_("slot"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.RUNNING, verbose_name=_("outcome")
    )
    counts = models.JSONField(default=dict, blank=True, verbose_name=_("counts"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    worker = models.CharField(
        max_length=200, blank=True, help_text=_("Host and process"), verbose_name=_("worker")
    )
    batches = models.PositiveIntegerField(
        default=0, help_text=_("Batches the run was split into"), verbose_name=_("batches")
    )
    queue = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Celery queue of its batches"),
        verbose_name=_("queue"),
    )

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
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
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(
        JobRun, on_delete=models.CASCADE, related_name="batch_set", verbose_name=_("run")
    )
    number = models.PositiveIntegerField(verbose_name=_("number"))
    # None for a job that is not split (or a dry run): the whole job in one batch.
    low = models.BigIntegerField(null=True, blank=True, verbose_name=_("low"))
    high = models.BigIntegerField(null=True, blank=True, verbose_name=_("high"))
    items = models.PositiveIntegerField(
        default=0, help_text=_("Due items when planned"), verbose_name=_("items")
    )
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, verbose_name=_("state")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    dispatched_at = models.DateTimeField(null=True, blank=True, verbose_name=_("dispatched at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    counts = models.JSONField(default=dict, blank=True, verbose_name=_("counts"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    worker = models.CharField(max_length=200, blank=True, verbose_name=_("worker"))

    class Meta:
        verbose_name = _("job batch")
        verbose_name_plural = _("job batches")
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
