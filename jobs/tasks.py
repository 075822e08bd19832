"""Celery tasks: beat's schedule entries call `jobs.run_job` with the job's name."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from jobs.models import JobRun
from jobs.services import job_run, parse_as_of


@shared_task(name="jobs.run_job")
def run_job(name: str, as_of: str | None = None, dry_run: bool = False) -> int:
    when = parse_as_of(as_of) if as_of else timezone.now()
    return job_run(name=name, as_of=when, dry_run=dry_run, trigger=JobRun.Trigger.SCHEDULE).pk
