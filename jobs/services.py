"""Running a job and recording the run.

A run is planned into batches: the job's due items (jobs.registry) are walked by id and every
`batch_size` of them make one JobBatch, the id range (low, high]. The batches then run in this
process (`runjob`, `job_run`) or as Celery tasks that any number of workers share (beat's
`jobs.run_job`, `job_run_start`). Each batch records its counts; the run finishes when its last
batch does, with the sum, and fails when any batch failed (the next run finishes the work, as
every job selects what is still due).

Faults, and why nothing happens twice:
- a worker killed mid-batch leaves the batch "running" with a heartbeat that stops; once the
  heartbeat is older than JOB_BATCH_LEASE, the task's redelivery by the broker (acks_late) or
  the sweep claims it again, and the job's own per-item claims skip what the dead worker did;
- a redelivered task whose batch is still alive elsewhere (fresh heartbeat) or finished does
  nothing;
- two beat processes send the same scheduled minute twice: the run's `slot` is unique per job,
  so the second finds it taken;
- the broker lost the queued tasks (Redis restarted): the sweep sends again the batches that
  were dispatched long ago (JOB_REDISPATCH_AFTER) and never started, and starts runs of jobs
  whose schedule came and went with no run (`jobs.selectors.jobs_late`);
- a worker died between finishing a run's last batch and closing the run: the sweep closes
  it (`jobs.selectors.runs_left_open`).
"""

from __future__ import annotations

import logging
import os
import socket
import time as clock
import traceback
from collections import Counter
from datetime import UTC, datetime, time

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from jobs.models import JobBatch, JobRun
from jobs.registry import (
    BatchContext,
    Job,
    ProgressCallback,
    current_batch,
    current_run,
    get_job,
    run_function,
)
from jobs.selectors import abandoned_batches, batches_to_resend, jobs_late, runs_left_open
from jobs.signals import job_run_finished, job_run_started

logger = logging.getLogger(__name__)

# Seconds between attempts to record a batch's failure while the database is away.
FAILURE_RECORD_WAITS = (0, 1, 2, 4, 8)
# Heartbeats are written at most this often: a batch's progress calls come per item or per
# sub-batch, and one UPDATE each would cost more than the work.
HEARTBEAT_EVERY = 5.0


class InvalidAsOf(ValueError):
    """An --as-of value that is neither an ISO date nor an ISO date-time."""


def parse_as_of(value: str) -> datetime:
    """The moment a job runs "as of": an ISO date-time (UTC when it names no zone) or a plain
    date (its midnight, UTC). One reading for the command and the Celery task."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise InvalidAsOf(
                f"--as-of {value!r} is not an ISO date or date-time "
                "(e.g. 2026-11-25 or 2026-11-25T06:00:00+00:00)"
            )
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _ranges(job: Job, as_of: datetime):
    """(low, high, items) of each batch: `job.size` due ids each, walked by id."""
    ids = job.due(as_of=as_of).order_by("pk").values_list("pk", flat=True)
    low = 0
    while chunk := list(ids.filter(pk__gt=low)[: job.size]):
        yield low, chunk[-1], len(chunk)
        low = chunk[-1]


def job_run_plan(
    *,
    name: str,
    as_of: datetime,
    dry_run: bool,
    trigger: str,
    slot: datetime | None = None,
    queue: str = "",
) -> JobRun | None:
    """Record a run of `name` and its batches, in one transaction; None when a run of this
    job for this `slot` exists already (a second beat, a catch-up of a minute already run).

    A dry run, and a job that names no due items, is one batch over everything."""
    job = get_job(name)
    if slot is not None:
        slot = slot.replace(second=0, microsecond=0)
    try:
        with transaction.atomic():
            run = JobRun.objects.create(
                job=name,
                as_of=as_of,
                dry_run=dry_run,
                trigger=trigger,
                slot=slot,
                queue=queue,
                started_at=timezone.now(),
                worker=this_worker(),
            )
            if job.due is None or dry_run:
                ranges = [(None, None, 0)]
            else:
                ranges = _ranges(job, as_of)
            batches = [
                JobBatch(run=run, number=number, low=low, high=high, items=items)
                for number, (low, high, items) in enumerate(ranges, start=1)
            ]
            JobBatch.objects.bulk_create(batches, batch_size=1000)
            run.batches = len(batches)
            run.save(update_fields=["batches"])
    except IntegrityError:
        if slot is not None and JobRun.objects.filter(job=name, slot=slot).exists():
            logger.info("job %s: the run for %s exists already; nothing started", name, slot)
            return None
        raise
    marker = current_run.set(run.pk)
    try:
        logger.info(
            "job %s started (as of %s%s): %s batch(es)",
            name,
            as_of.isoformat(),
            ", dry run" * dry_run,
            run.batches,
        )
        job_run_started.send_robust(sender=JobRun, run=run)
        if not batches:
            job_run_finish(run_id=run.pk)
            run.refresh_from_db()
    finally:
        current_run.reset(marker)
    return run


class _Heartbeat:
    """The batch's progress callback: passes the count on, and tells the database the batch is
    alive (at most every HEARTBEAT_EVERY seconds)."""

    def __init__(self, batch_id: int, progress: ProgressCallback | None):
        self.batch_id = batch_id
        self.progress = progress
        self.last = clock.monotonic()

    def __call__(self, done: int) -> None:
        if self.progress:
            self.progress(done)
        # Several beats per lease, so one slow item does not make a live batch look abandoned.
        every = min(HEARTBEAT_EVERY, settings.JOB_BATCH_LEASE / 4)
        if clock.monotonic() - self.last >= every:
            JobBatch.objects.filter(pk=self.batch_id, state=JobBatch.State.RUNNING).update(
                heartbeat_at=timezone.now()
            )
            self.last = clock.monotonic()


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[:4000]


def job_batch_claim(*, batch_id: int, now: datetime) -> bool:
    """Take a batch to run: a pending one, or a running one whose worker stopped beating."""
    return bool(
        JobBatch.objects.filter(pk=batch_id)
        .filter(Q(state=JobBatch.State.PENDING) | abandoned_batches(now=now))
        .update(
            state=JobBatch.State.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            worker=this_worker(),
        )
    )


def job_batch_run(*, batch_id: int, progress: ProgressCallback | None = None) -> str:
    """Run one batch if it is free to run; returns "done", "failed" or "skipped" (finished,
    or alive on another worker). A failing batch is recorded, then its error propagates."""
    if not job_batch_claim(batch_id=batch_id, now=timezone.now()):
        logger.info("batch %s is finished or running elsewhere; skipped", batch_id)
        return "skipped"
    batch = JobBatch.objects.select_related("run").get(pk=batch_id)
    run = batch.run
    # Every log line of the batch names its run and batch (ops.logs).
    run_marker = current_run.set(run.pk)
    batch_marker = current_batch.set(
        BatchContext(batch_id=batch_id, run_id=run.pk, job=run.job, as_of=run.as_of)
    )
    try:
        return _batch_run(batch=batch, run=run, progress=progress)
    finally:
        current_batch.reset(batch_marker)
        current_run.reset(run_marker)


def _batch_run(*, batch: JobBatch, run: JobRun, progress: ProgressCallback | None) -> str:
    if batch.attempts > settings.JOB_BATCH_MAX_ATTEMPTS:
        JobBatch.objects.filter(pk=batch.pk).update(
            state=JobBatch.State.FAILED,
            finished_at=timezone.now(),
            error=f"Gave up after {batch.attempts - 1} attempts that did not finish "
            "(each worker died or lost its database); the next run takes these items up",
        )
        logger.warning("job %s, batch %s given up", run.job, batch.number)
        job_run_finish(run_id=run.pk)
        return "failed"
    try:
        counts = run_function(
            get_job(run.job),
            as_of=run.as_of,
            dry_run=run.dry_run,
            within=batch.within,
            progress=_Heartbeat(batch.pk, progress),
        )
    except Exception as exc:
        logger.exception("job %s, batch %s failed", run.job, batch.number)
        _record_failure(batch_id=batch.pk, run_id=run.pk, exc=exc)
        raise
    JobBatch.objects.filter(pk=batch.pk).update(
        state=JobBatch.State.DONE, finished_at=timezone.now(), counts=counts, error=""
    )
    job_run_finish(run_id=run.pk)
    return "done"


def _record_failure(*, batch_id: int, run_id: int, exc: BaseException) -> None:
    """Mark the batch failed with its error and close the run if it was the last. When the
    failure was the database going away (a restart takes seconds), wait for it to come back
    rather than leave the batch "running" until its lease lapses."""
    for wait in FAILURE_RECORD_WAITS:
        clock.sleep(wait)
        try:
            JobBatch.objects.filter(pk=batch_id).update(
                state=JobBatch.State.FAILED, finished_at=timezone.now(), error=_error_text(exc)
            )
            job_run_finish(run_id=run_id)
            return
        except DatabaseError:
            close_old_connections()  # the broken connection; the next query opens a new one
    logger.error(
        "could not record the failure of batch %s: the database stayed away; the batch stays "
        "running until JOB_BATCH_LEASE lapses and the sweep sends it again",
        batch_id,
    )


def job_run_finish(*, run_id: int) -> bool:
    """Close the run once none of its batches is pending or running: its counts are the sum of
    the batches', and it failed if any batch did. True for the one call that closed it."""
    batches = JobBatch.objects.filter(run_id=run_id)
    if batches.filter(state__in=(JobBatch.State.PENDING, JobBatch.State.RUNNING)).exists():
        return False
    totals: Counter = Counter()
    failed: list[tuple[int, str]] = []
    for number, state, counts, error in batches.values_list(
        "number", "state", "counts", "error"
    ).iterator(chunk_size=1000):
        totals.update({k: v for k, v in (counts or {}).items() if isinstance(v, int)})
        if state == JobBatch.State.FAILED:
            failed.append((number, error))
    error = ""
    if failed:
        number, first = failed[0]
        error = f"{len(failed)} of {batches.count()} batch(es) failed; batch {number}: {first}"
    closed = JobRun.objects.filter(pk=run_id, outcome=JobRun.Outcome.RUNNING).update(
        outcome=JobRun.Outcome.FAILED if failed else JobRun.Outcome.SUCCEEDED,
        finished_at=timezone.now(),
        counts=dict(totals),
        error=error[:4000],
    )
    if closed:
        run = JobRun.objects.get(pk=run_id)
        log = logger.warning if failed else logger.info
        log("job %s %s: %s", run.job, run.outcome, run.counts or "nothing to do")
        job_run_finished.send_robust(sender=JobRun, run=run)
    return bool(closed)


def job_run(
    *,
    name: str,
    as_of: datetime,
    dry_run: bool,
    trigger: str,
    progress: ProgressCallback | None = None,
) -> JobRun:
    """Run the job `name` as of `as_of` in this process, batch after batch, and return its
    run record. `progress`, if given, is handed to a job that reports progress.

    The record is written before the job starts, so a run that crashes half-way stays visible
    as "running". A batch that raises fails the run (the batches after it are not run), then
    the error propagates (the command reports it too)."""
    run = job_run_plan(name=name, as_of=as_of, dry_run=dry_run, trigger=trigger)
    for batch_id in run.batch_set.order_by("number").values_list("pk", flat=True):
        try:
            job_batch_run(batch_id=batch_id, progress=progress)
        except Exception:
            JobBatch.objects.filter(run=run, state=JobBatch.State.PENDING).update(
                state=JobBatch.State.FAILED,
                finished_at=timezone.now(),
                error="Not run: an earlier batch failed",
            )
            job_run_finish(run_id=run.pk)
            raise
    run.refresh_from_db()
    return run


def job_run_dispatch(*, run: JobRun, batch_ids: list[int] | None = None) -> int:
    """Send the run's unfinished batches (or these) to the workers as `jobs.run_batch` tasks,
    on the run's queue; returns how many were sent."""
    # Looked up by name: jobs.tasks wraps these services (jobs.apps registers it at start).
    run_batch = current_app.tasks["jobs.run_batch"]
    if batch_ids is None:
        batch_ids = list(
            run.batch_set.filter(state=JobBatch.State.PENDING).values_list("pk", flat=True)
        )
    options = {"queue": run.queue} if run.queue else {}
    JobBatch.objects.filter(pk__in=batch_ids).update(dispatched_at=timezone.now())
    for batch_id in batch_ids:
        run_batch.apply_async((batch_id,), **options)
    return len(batch_ids)


def job_run_start(
    *,
    name: str,
    as_of: datetime,
    dry_run: bool = False,
    trigger: str = JobRun.Trigger.SCHEDULE,
    slot: datetime | None = None,
    queue: str = "",
) -> JobRun | None:
    """Plan a run and hand its batches to the workers; None when its slot was taken."""
    run = job_run_plan(
        name=name, as_of=as_of, dry_run=dry_run, trigger=trigger, slot=slot, queue=queue
    )
    if run is not None:
        job_run_dispatch(run=run)
    return run


def jobs_sweep(*, now: datetime) -> dict[str, int]:
    """Beat's housekeeping, every minute: send again the batches nobody is working on, close
    the runs whose last batch finished without closing them (its worker died in between), and
    start the runs whose schedule passed with no run (all are no-ops when repeated)."""
    resent = 0
    for batch in batches_to_resend(now=now).select_related("run").order_by("pk")[:1000]:
        resent += job_run_dispatch(run=batch.run, batch_ids=[batch.pk])
    closed = sum(
        job_run_finish(run_id=run_id)
        for run_id in runs_left_open().order_by("pk").values_list("pk", flat=True)[:1000]
    )
    started = 0
    for late in jobs_late(now=now):
        if job_run_start(name=late.job, as_of=now, slot=late.due_at, queue=late.queue):
            logger.warning("job %s missed its run due %s; started it now", late.job, late.due_at)
            started += 1
    return {"batches_resent": resent, "runs_closed": closed, "late_runs_started": started}
