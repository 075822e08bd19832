"""Sentry cron monitors, one per scheduled job: each run beat starts (or the sweep starts
for a missed schedule) checks in as "in progress" and, when its last batch ends, as "ok" or
"error". Sentry then reports a run that failed, ran longer than MAX_RUNTIME, or never came:
the monitor carries the job's schedule from django-celery-beat, and its margin is
JOB_LATE_AFTER, the same grace the dashboard gives before it shows a job as late.

Runs by hand (runjob, the admin) and dry runs check in nothing. Without SENTRY_DSN nothing
happens at all.
"""

from __future__ import annotations

import math
import uuid

import sentry_sdk
from django.conf import settings
from django.dispatch import receiver
from sentry_sdk.crons import MonitorStatus, capture_checkin

from jobs.models import JobRun
from jobs.signals import job_run_finished, job_run_started

# Minutes a run may take before Sentry reports it as failed (a billing run at a million
# accounts takes a few minutes over the workers; see bench/README.md).
MAX_RUNTIME = 120
# Check-in ids are derived from the run, so the start and the end need no storage.
CHECK_IN_NAMESPACE = uuid.UUID("5b0ce2f1-8d0c-4bd4-9b70-7d8b3f6a7c11")


def _active() -> bool:
    return bool(settings.SENTRY_DSN) and sentry_sdk.get_client().is_active()


def _check_in_id(run: JobRun) -> str:
    return uuid.uuid5(CHECK_IN_NAMESPACE, f"jobrun:{run.pk}").hex


def monitor_config(job: str) -> dict | None:
    """The job's beat schedule as a Sentry monitor schedule; None when beat has none."""
    from django_celery_beat.models import PeriodicTask

    task = (
        PeriodicTask.objects.filter(name=job, task="jobs.run_job")
        .select_related("crontab", "interval")
        .first()
    )
    if task is None:
        return None
    if task.crontab is not None:
        cron = task.crontab
        schedule = {
            "type": "crontab",
            "value": " ".join(
                [cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week]
            ),
        }
        zone = str(cron.timezone)
    elif task.interval is not None:
        seconds = task.interval.schedule.run_every.total_seconds()
        schedule = {"type": "interval", "value": max(1, math.ceil(seconds / 60)), "unit": "minute"}
        zone = "UTC"
    else:
        return None
    return {
        "schedule": schedule,
        "timezone": zone,
        "checkin_margin": max(1, math.ceil(settings.JOB_LATE_AFTER / 60)),
        "max_runtime": MAX_RUNTIME,
    }


def _scheduled(run: JobRun) -> bool:
    return run.trigger == JobRun.Trigger.SCHEDULE and not run.dry_run


@receiver(job_run_started, dispatch_uid="ops.sentry.check_in_started")
def check_in_started(sender, run: JobRun, **kwargs) -> None:
    if not _active() or not _scheduled(run):
        return
    capture_checkin(
        monitor_slug=run.job,
        check_in_id=_check_in_id(run),
        status=MonitorStatus.IN_PROGRESS,
        monitor_config=monitor_config(run.job),
    )


@receiver(job_run_finished, dispatch_uid="ops.sentry.check_in_finished")
def check_in_finished(sender, run: JobRun, **kwargs) -> None:
    if not _active() or not _scheduled(run):
        return
    capture_checkin(
        monitor_slug=run.job,
        check_in_id=_check_in_id(run),
        status=MonitorStatus.OK if run.outcome == JobRun.Outcome.SUCCEEDED else MonitorStatus.ERROR,
        duration=run.duration.total_seconds() if run.duration else None,
    )
