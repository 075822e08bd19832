"""Celery tasks. Beat's schedule entries call `jobs.run_job` with the job's name; it plans the
run and sends its batches as `jobs.run_batch` tasks, which the workers share. `jobs.sweep`
(every minute) resends abandoned batches and starts runs a missed schedule left out."""

from __future__ import annotations

from celery import shared_task
from celery.signals import before_task_publish
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from jobs.services import job_batch_run, job_run_start, jobs_sweep, parse_as_of


@before_task_publish.connect
def stamp_scheduled_moment(sender=None, headers=None, **kwargs):
    """Beat's messages carry the moment beat sent them: the run's slot. Two beat processes
    sending the same minute's run are then recognisably the same run."""
    if sender == "jobs.run_job" and headers is not None and headers.get("celery_beat_task"):
        headers.setdefault("scheduled_for", timezone.now().isoformat())


@shared_task(name="jobs.run_job", bind=True)
def run_job(
    self, name: str, as_of: str | None = None, dry_run: bool = False, slot: str | None = None
) -> int | None:
    when = parse_as_of(as_of) if as_of else timezone.now()
    scheduled = slot or getattr(self.request, "scheduled_for", None)
    queue = (self.request.delivery_info or {}).get("routing_key") or ""
    run = job_run_start(
        name=name,
        as_of=when,
        dry_run=dry_run,
        slot=parse_as_of(scheduled) if scheduled else None,
        queue=queue,
    )
    return run.pk if run else None


# The database unreachable (restarting, failing over) when the batch is claimed: try again
# later instead of dropping the message, which would leave the batch to the sweep.
@shared_task(
    name="jobs.run_batch",
    autoretry_for=(InterfaceError, OperationalError),
    retry_backoff=2,
    max_retries=5,
)
def run_batch(batch_id: int) -> str:
    return job_batch_run(batch_id=batch_id)


@shared_task(name="jobs.sweep")
def sweep() -> dict[str, int]:
    return jobs_sweep(now=timezone.now())
