"""Running a job and recording the run."""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import UTC, datetime, time

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from jobs.models import JobRun
from jobs.registry import ProgressCallback, get_job, run_function

logger = logging.getLogger(__name__)


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


def job_run(
    *,
    name: str,
    as_of: datetime,
    dry_run: bool,
    trigger: str,
    progress: ProgressCallback | None = None,
) -> JobRun:
    """Run the job `name` as of `as_of` and return its run record. `progress`, if given, is
    handed to a job that reports progress (see jobs.registry).

    The record is written before the job starts, so a run that crashes half-way stays visible
    as "running" with no finish time. A job that raises is recorded as failed with its error,
    then the error propagates (the worker or command reports it too).
    """
    job = get_job(name)
    run = JobRun.objects.create(
        job=name,
        as_of=as_of,
        dry_run=dry_run,
        trigger=trigger,
        started_at=timezone.now(),
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )
    logger.info("job %s started (as of %s%s)", name, as_of.isoformat(), ", dry run" * dry_run)
    try:
        counts = run_function(job, as_of=as_of, dry_run=dry_run, progress=progress)
    except Exception as exc:
        JobRun.objects.filter(pk=run.pk).update(
            outcome=JobRun.Outcome.FAILED,
            finished_at=timezone.now(),
            error="".join(traceback.format_exception_only(exc)).strip()[:4000],
        )
        logger.exception("job %s failed", name)
        raise
    JobRun.objects.filter(pk=run.pk).update(
        outcome=JobRun.Outcome.SUCCEEDED, finished_at=timezone.now(), counts=counts
    )
    run.refresh_from_db()
    logger.info("job %s finished: %s", name, counts)
    return run
