"""Questions about the jobs: which schedules passed with no run (late), when each last
succeeded, which batches failed, were abandoned by their worker or wait for nobody, which runs
were left open after their last batch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, Max, Q, QuerySet

from jobs.conf import batch_lease, late_after, redispatch_after
from jobs.models import JobBatch, JobRun
from jobs.registry import JOBS

if TYPE_CHECKING:
    from django_celery_beat.models import PeriodicTask


@dataclass(frozen=True)
class LateJob:
    job: str
    # The scheduled moment that passed with no run started since.
    due_at: datetime
    queue: str


def abandoned_batches(*, now: datetime) -> Q:
    """Running batches whose worker stopped beating for longer than JOB_BATCH_LEASE: the
    sweep and the broker's redelivery hand them out again, the metrics count them."""
    return Q(state=JobBatch.State.RUNNING, heartbeat_at__lt=now - batch_lease())


def next_due(task, *, after: datetime, now: datetime) -> datetime:
    """The first moment of beat's schedule `task` after `after`."""
    # remaining_estimate(x) is "the first due moment after x" minus the schedule's own now
    # (a few microseconds from ours), for crontab and interval schedules alike.
    moment = now + task.schedule.remaining_estimate(after) + timedelta(milliseconds=500)
    return moment.replace(microsecond=0)


def job_schedules() -> list[PeriodicTask]:
    """Beat's schedules of the jobs (enabled or not), each read with its schedule row: one
    query, where reading a task's schedule on its own costs one per task."""
    from django_celery_beat.models import PeriodicTask

    return list(
        PeriodicTask.objects.filter(task="jobs.run_job").select_related(
            "crontab", "interval", "solar", "clocked"
        )
    )


def jobs_late(*, now: datetime, schedules: list[PeriodicTask] | None = None) -> list[LateJob]:
    """Enabled schedules whose due moment passed more than JOB_LATE_AFTER ago with no run of
    the job started since (workers down, the broker lost the message, beat stopped).
    `schedules`: those of ``job_schedules`` when the caller has read them already."""
    tasks = [t for t in (job_schedules() if schedules is None else schedules) if t.enabled]
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


def jobs_last_succeeded() -> dict[str, datetime]:
    """When the last successful run of each registered job finished (dry runs aside); a job
    that never succeeded is absent. One short index walk per job (newest runs first)."""
    last = {}
    for name in JOBS:
        finished = (
            JobRun.objects.filter(job=name, outcome=JobRun.Outcome.SUCCEEDED, dry_run=False)
            .order_by("-started_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if finished is not None:
            last[name] = finished
    return last


def batches_failed_by_job() -> dict[str, int]:
    """Failed batches of every run kept, by job: a count that only grows as runs are kept
    (served by the failed-batches index)."""
    return dict(
        JobBatch.objects.filter(state=JobBatch.State.FAILED)
        .order_by()
        .values_list("run__job")
        .annotate(n=Count("*"))
    )


def batches_unfinished_by_job(*, now: datetime) -> dict[tuple[str, str], int]:
    """Unfinished batches by (job, "pending" | "running" | "abandoned"): a running batch
    whose heartbeat is older than JOB_BATCH_LEASE was abandoned by its worker (the sweep or
    the broker's redelivery hands it out again)."""
    stale = abandoned_batches(now=now)
    rows = (
        JobBatch.objects.filter(state__in=(JobBatch.State.PENDING, JobBatch.State.RUNNING))
        .order_by()
        .values_list("run__job")
        .annotate(
            pending=Count("id", filter=Q(state=JobBatch.State.PENDING)),
            running=Count("id", filter=Q(state=JobBatch.State.RUNNING) & ~stale),
            abandoned=Count("id", filter=stale),
        )
    )
    counts = {}
    for job, pending, running, abandoned in rows:
        counts[(job, "pending")] = pending
        counts[(job, "running")] = running
        counts[(job, "abandoned")] = abandoned
    return counts


def batches_to_resend(*, now: datetime) -> QuerySet[JobBatch]:
    """Unfinished batches nobody is working on: sent long enough ago (JOB_REDISPATCH_AFTER)
    that the broker should have handed them out, or never sent, and either never started or
    silent past their lease (JOB_BATCH_LEASE, their worker died). The sweep sends these again;
    one still here after a sweep means the sweep is not running."""
    redispatch = redispatch_after()
    quiet = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - redispatch)
    return JobBatch.objects.filter(quiet).filter(
        Q(state=JobBatch.State.PENDING, run__started_at__lt=now - redispatch)
        | abandoned_batches(now=now)
    )


def runs_left_open() -> QuerySet[JobRun]:
    """Runs still "running" although none of their batches is: the process that finished the
    last batch died before closing the run (the sweep closes them)."""
    unfinished = (JobBatch.State.PENDING, JobBatch.State.RUNNING)
    return JobRun.objects.filter(outcome=JobRun.Outcome.RUNNING).exclude(
        batch_set__state__in=unfinished
    )
