"""Questions about the jobs: which schedules passed with no run (late), which batches nobody is
working on (abandoned), which runs were left open after their last batch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q, QuerySet

from jobs.models import JobBatch, JobRun


@dataclass(frozen=True)
class LateJob:
    job: str
    # The scheduled moment that passed with no run started since.
    due_at: datetime
    queue: str


def late_after() -> timedelta:
    """How long past its due moment a job may go unstarted before it counts as late."""
    return timedelta(seconds=settings.JOB_LATE_AFTER)


def next_due(task, *, after: datetime, now: datetime) -> datetime:
    """The first moment of beat's schedule `task` after `after`."""
    # remaining_estimate(x) is "the first due moment after x" minus the schedule's own now
    # (a few microseconds from ours), for crontab and interval schedules alike.
    moment = now + task.schedule.remaining_estimate(after) + timedelta(milliseconds=500)
    return moment.replace(microsecond=0)


def jobs_late(*, now: datetime) -> list[LateJob]:
    """Enabled schedules whose due moment passed more than JOB_LATE_AFTER ago with no run of
    the job started since (workers down, the broker lost the message, beat stopped)."""
    from django_celery_beat.models import PeriodicTask

    tasks = list(PeriodicTask.objects.filter(task="jobs.run_job", enabled=True))
    names = {t.pk: json.loads(t.kwargs or "{}").get("name", t.name) for t in tasks}
    last_started = dict(
        JobRun.objects.filter(job__in=set(names.values()), dry_run=False)
        .values("job")
        .annotate(last=Max("started_at"))
        .values_list("job", "last")
    )
    late = []
    for task in tasks:
        name = names[task.pk]
        # Never ran: count from when the schedule was set up (or last edited).
        since = last_started.get(name) or task.date_changed
        if since is None:
            continue
        due_at = next_due(task, after=since, now=now)
        if due_at + late_after() < now:
            late.append(LateJob(job=name, due_at=due_at, queue=task.queue or ""))
    return late


def batches_abandoned(*, now: datetime) -> QuerySet[JobBatch]:
    """Unfinished batches nobody is working on: sent long enough ago (JOB_REDISPATCH_AFTER)
    that the broker should have handed them out, or never sent, and either never started or
    silent past their lease (JOB_BATCH_LEASE, their worker died). The sweep sends these again;
    one still here after a sweep means the sweep is not running."""
    redispatch = timedelta(seconds=settings.JOB_REDISPATCH_AFTER)
    lease = timedelta(seconds=settings.JOB_BATCH_LEASE)
    quiet = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - redispatch)
    return JobBatch.objects.filter(quiet).filter(
        Q(state=JobBatch.State.PENDING, run__started_at__lt=now - redispatch)
        | Q(state=JobBatch.State.RUNNING, heartbeat_at__lt=now - lease)
    )


def runs_left_open() -> QuerySet[JobRun]:
    """Runs still "running" although none of their batches is: the process that finished the
    last batch died before closing the run (the sweep closes them)."""
    unfinished = (JobBatch.State.PENDING, JobBatch.State.RUNNING)
    return JobRun.objects.filter(outcome=JobRun.Outcome.RUNNING).exclude(
        batch_set__state__in=unfinished
    )
