"""Running a job and recording the run."""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import datetime

from django.utils import timezone

from jobs.models import JobRun
from jobs.registry import ProgressCallback, get_job, run_function

logger = logging.getLogger(__name__)


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
